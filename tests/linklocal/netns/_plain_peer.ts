// A helper run in the other namespace: a peer that cannot do TLS, as
// deployed link-local clients are: advertises NAME on INTERFACE, listens
// without TLS and answers `echo: <body>`, and on `connect <peer> <host>
// <port>` opens a plaintext stream and says "Good morrow" on it; on
// `purple <peer> <host> <port> [from]` does the same as libpurple's Bonjour (no
// version, close tag and hang-up at once). Tells
// `started`, `stream <peer>`, `got <peer> <body>`, `connected`, `ended
// <peer> <clean or error>`, `failed <error name>`, `closed`.

import { advertise } from "../../../src/linklocal/advertise.ts";
import { initiate } from "../../../src/endpoint/initiate.ts";
import { listen } from "../../../src/endpoint/listen.ts";
import type { E2EStream } from "../../../src/endpoint/e2e_stream.ts";
import { message } from "../../../src/stanza/stanza.ts";
import { TextLineStream } from "./_netns.ts";

const [name, iface] = Deno.args as [string, string];
const listener = await listen({ from: name, hostname: "::", tls: "off" });
const ad = await advertise({
  name,
  port: listener.addr.port,
  interfaces: [iface],
});
console.log("started");

function serve(peer: string, stream: E2EStream): void {
  console.log(`stream ${peer}`);
  stream.stanzas$.subscribe({
    error: () => {},
    next: (stanza) => {
      const body = stanza.getChildText("body") ?? "";
      console.log(`got ${peer} ${body}`);
      if (body.startsWith("ping")) {
        void stream.send(message({ to: peer, body: `echo: ${body}` }));
      }
    },
  });
  stream.closed.then(
    (r) => console.log(`ended ${peer} ${r.clean}`),
    (e) => console.log(`ended ${peer} ${e.name} ${e.message}`),
  );
}

const accepting = (async () => {
  for await (const stream of listener) {
    serve(stream.info.peerAddress ?? "?", stream);
  }
})();
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  .pipeThrough(new TextLineStream());
const opened: E2EStream[] = [];
for await (const line of lines) {
  const [command, peer, host, port, claimed] = line.split(" ");
  if (command === "connect") {
    try {
      const stream = await initiate({
        from: name,
        to: peer!,
        hostname: host!,
        port: Number(port),
        tls: "off",
      });
      opened.push(stream);
      serve(peer!, stream);
      console.log("connected");
      await stream.send(message({ to: peer!, body: "Good morrow" }));
    } catch (error) {
      console.log(
        `failed ${(error as Error).name} ${(error as Error).message}`,
      );
    }
  } else if (command === "purple") {
    // libpurple's Bonjour: a header without version or id, a message,
    // then </stream:stream> and the socket closed at once.
    try {
      const conn = await Deno.connect({ hostname: host!, port: Number(port) });
      const say = (text: string) => conn.write(new TextEncoder().encode(text));
      await say(
        `<?xml version="1.0" encoding="UTF-8" ?><stream:stream xmlns="jabber:client"` +
          ` xmlns:stream="http://etherx.jabber.org/streams" from="${
            claimed ?? name
          }" to="${peer}">`,
      );
      const answer = new Uint8Array(4096);
      const n = await conn.read(answer);
      const heard = new TextDecoder().decode(answer.subarray(0, n ?? 0));
      console.log(
        `answered ${
          heard.includes("<invalid-from")
            ? "invalid-from"
            : heard.includes("<stream:stream")
            ? "header"
            : "other"
        }`,
      );
      if (heard.includes("<invalid-from")) {
        conn.close();
        continue;
      }
      await say(
        `<message to="${peer}" type="chat"><body>Good morrow</body></message></stream:stream>`,
      );
      conn.close();
      console.log("purpled");
    } catch (error) {
      console.log(
        `failed ${(error as Error).name} ${(error as Error).message}`,
      );
    }
  } else if (command === "close") break;
}
await Promise.allSettled(opened.map((s) => s.close()));
await listener.close();
await accepting;
await ad.close();
console.log("closed");
