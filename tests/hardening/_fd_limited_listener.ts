// A listener for hostile_load_test.ts, run in its own process under a low
// open-file limit (prlimit): prints its port, accepts and echoes streams,
// prints its stats as JSON for each line it reads, exits at end of input.

import { listen } from "../../src/e2e.ts";
import { message } from "../../src/stanza/stanza.ts";

const listener = await listen({
  from: "juliet@pronto",
  tls: "off",
  ...(Deno.args[0] ? { maxConnections: Number(Deno.args[0]) } : {}),
});
console.log(JSON.stringify({ port: listener.addr.port }));
const serving = (async () => {
  for await (const stream of listener) {
    stream.stanzas$.subscribe({
      next: (stanza) =>
        void stream.send(message({ body: stanza.getChildText("body") ?? "" }))
          .catch(() => {}),
      error() {},
    });
  }
})();
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
for await (const chunk of lines) {
  for (const _ of chunk.split("\n").slice(1)) {
    console.log(JSON.stringify(listener.stats));
  }
}
await listener.close();
await serving;
