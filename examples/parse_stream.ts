/**
 * Pipes a file, or standard input, through the XML stream operators and
 * prints one line per frame.
 *
 *     deno run --allow-read examples/parse_stream.ts stream.xml
 *     printf "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><body>hi</body></message></stream:stream>" \
 *       | deno run examples/parse_stream.ts
 *
 * With `--connect host:port` it reads a TCP socket instead, the way an
 * endpoint reads its peer.
 *
 * @module
 */

import { from, type Observable } from "rxjs";
import { parseFrames, serialize, XmlError } from "@xmpp-e2e/streams/xml";

/** Lifts a byte stream into an Observable of chunks, cancelling it on unsubscribe. */
function bytes$(stream: ReadableStream<Uint8Array>): Observable<Uint8Array> {
  return from(stream as AsyncIterable<Uint8Array>);
}

async function source(): Promise<ReadableStream<Uint8Array>> {
  const [flag, target] = Deno.args;
  if (flag === "--connect" && target) {
    const [hostname, port] = target.split(":");
    const conn = await Deno.connect({
      hostname: hostname!,
      port: Number(port),
    });
    return conn.readable;
  }
  if (flag) return (await Deno.open(flag)).readable;
  return Deno.stdin.readable;
}

bytes$(await source()).pipe(parseFrames()).subscribe({
  next(frame) {
    switch (frame.type) {
      case "header":
        console.log(
          `header  <${frame.element.name} xmlns='${frame.element.ns}'> from=${
            frame.element.attrs.from ?? "-"
          }`,
        );
        break;
      case "element":
        console.log(`element ${serialize(frame.element)}`);
        break;
      case "close":
        console.log("close");
        break;
    }
  },
  error(error) {
    if (error instanceof XmlError) {
      console.error(`stream error <${error.condition}/>: ${error.message}`);
    } else console.error(error);
    Deno.exitCode = 1;
  },
});
