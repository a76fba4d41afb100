/**
 * A one-process demo over loopback TCP: a listener on 127.0.0.1 writes an
 * XMPP stream (header, the two messages of XEP-0246's example, close) in
 * small, awkwardly split writes; the client pipes its socket through
 * `parseFrames()` and prints each frame as it arrives.
 *
 *     deno task demo
 *
 * (The full end-to-end demo with STARTTLS arrives with the stream layer.)
 *
 * @module
 */

import { from } from "rxjs";
import { parseFrames, serialize } from "../src/xml/mod.ts";

const STREAM = [
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client' ",
  "xmlns:stream='http://etherx.jabber.org/streams' from='romeo@forza' ",
  "to='juliet@pronto' version='1.0'>",
  "<message from='romeo@forza' to='juliet@pronto'><body>M&apos;lady, I would be pleased to make your acquaintance.</body></message>",
  "<message from='juliet@pronto' to='romeo@forza'><body>Art thou not Romeo, and a Montague?</body></message>",
  "</stream:stream>",
].join("");

const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const { port } = listener.addr as Deno.NetAddr;

const served = (async () => {
  const conn = await listener.accept();
  const bytes = new TextEncoder().encode(STREAM);
  // Split at odd places, as TCP may: inside names, entities, tags.
  for (let i = 0; i < bytes.length; i += 37) {
    await conn.write(bytes.subarray(i, i + 37));
  }
  conn.close();
  listener.close();
})();

const conn = await Deno.connect({ hostname: "127.0.0.1", port });
console.log(`connected to 127.0.0.1:${port}`);
await new Promise<void>((resolve, reject) => {
  from(conn.readable as AsyncIterable<Uint8Array>).pipe(parseFrames())
    .subscribe({
      next(frame) {
        if (frame.type === "header") {
          const { from, to, version } = frame.element.attrs;
          console.log(`RECV header from=${from} to=${to} version=${version}`);
        } else if (frame.type === "element") {
          console.log(`RECV ${serialize(frame.element, "jabber:client")}`);
        } else console.log("RECV </stream:stream>");
      },
      error: reject,
      complete: resolve,
    });
});
await served;
