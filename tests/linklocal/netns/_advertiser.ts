// A helper run in the other namespace: advertises NAME on INTERFACE and
// PORT, then obeys lines on stdin: `update <status> [msg]`, `close`.
// Tells `advertised <name> <ms since start>`, `updated`, `closed`.

import { advertise } from "../../../src/linklocal/advertise.ts";
import { TextLineStream } from "./_netns.ts";

const [name, iface, port] = Deno.args as [string, string, string];
const start = performance.now();
const ad = await advertise({
  name,
  port: Number(port),
  interfaces: [iface],
  presence: { status: "avail", msg: "Wherefore art thou" },
});
console.log(`advertised ${ad.name} ${Math.round(performance.now() - start)}`);
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  .pipeThrough(new TextLineStream());
for await (const line of lines) {
  const [command, status, ...msg] = line.split(" ");
  if (command === "update") {
    ad.update({
      status: status as "away",
      ...(msg.length ? { msg: msg.join(" ") } : {}),
    });
    console.log("updated");
  } else if (command === "close") break;
}
await ad.close();
console.log("closed");
