/**
 * Run with `--v8-flags=--expose-gc` by retention_test.ts: prints, as JSON,
 * the live heap per parser (after a full GC) of parsers that read only a
 * stream header, of parsers that then read a 32 KiB chunk of stanzas, of
 * parsers that read the header and the stanzas in one chunk, and of parsers
 * that read deeply nested stanzas; each input different, all parsers kept.
 *
 * @module
 */

import { XmlParser } from "../../src/xml/parser.ts";
import type { XmlSink } from "../../src/xml/sink.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");
const encoder = new TextEncoder();
const COUNT = 200;
const HEADER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

/** Stanzas with long names, namespaces and values, unique to `i`. */
function traffic(i: number, nested = 0): Uint8Array {
  const open = Array.from({ length: nested }, (_, d) => `<n${d}>`).join("");
  const close = Array.from(
    { length: nested },
    (_, d) => `</n${nested - 1 - d}>`,
  )
    .join("");
  let text = "";
  for (let k = 0; text.length < 32 * 1024; k++) {
    text += `<message to='juliet-${i}-${k}@capulet.example/balcony' ` +
      `id='id-${i}-${k}' type='chat'><body>Deny thy father ${i} ${k}</body>` +
      `<request xmlns='urn:xmpp:receipts:${i}'/>` +
      `<longelementname${i % 13} xmlns='urn:example:${i}' ` +
      `xmlns:p='urn:example:prefixed:${i}' p:attributename${i % 7}='${k}'/>` +
      `${open}${close}</message>`;
  }
  return encoder.encode(text);
}

const sink: XmlSink = {
  open() {},
  start() {},
  text() {},
  end() {},
  close() {},
};

/**
 * How the input comes: the header alone, then stanzas apart or with it, or
 * apart and nested 16 deep.
 */
type Feed = "header" | "apart" | "together" | "deep";

/** A stream header unique to `i` (the root keeps its attributes). */
function header(i: number): string {
  return HEADER.replace(">", ` from='romeo-${i}@montague.example'>`);
}

function perParser(feed: Feed): number {
  gc!();
  const before = Deno.memoryUsage().heapUsed;
  const parsers: XmlParser[] = [];
  for (let i = 0; i < COUNT; i++) {
    const parser = new XmlParser(sink, { tree: true });
    if (feed === "together") {
      const head = encoder.encode(header(i));
      const rest = traffic(i);
      const both = new Uint8Array(head.length + rest.length);
      both.set(head);
      both.set(rest, head.length);
      parser.write(both);
    } else {
      parser.write(encoder.encode(header(i)));
      if (feed === "apart") parser.write(traffic(i));
      if (feed === "deep") parser.write(traffic(i, 16));
    }
    parsers.push(parser);
  }
  gc!();
  const after = Deno.memoryUsage().heapUsed;
  if (parsers.length !== COUNT) throw new Error("unreachable");
  return (after - before) / COUNT;
}

perParser("apart"); // warm up: code, the shared name cache
const idle: number[] = [];
const busy: number[] = [];
const together: number[] = [];
const deep: number[] = [];
for (let round = 0; round < 3; round++) {
  idle.push(perParser("header"));
  busy.push(perParser("apart"));
  together.push(perParser("together"));
  deep.push(perParser("deep"));
}
const median = (values: number[]) => values.sort((a, b) => a - b)[1]!;
console.log(JSON.stringify({
  idle: median(idle),
  busy: median(busy),
  together: median(together),
  deep: median(deep),
}));
