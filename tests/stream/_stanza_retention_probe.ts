/**
 * Run with `--v8-flags=--expose-gc` by retention_test.ts: a recipient takes
 * stanzas (one by one, then a burst in one chunk), its subscriber lets go
 * of each, and the stream idles. Prints, as JSON, how many of the stanzas
 * were still alive after a full GC.
 *
 * @module
 */

import { Session } from "../../src/stream/session.ts";
import type { Element } from "../../src/xml/element.ts";
import { pair } from "./_pair.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");

const HEADER = "<stream:stream xmlns='jabber:client'" +
  " xmlns:stream='http://etherx.jabber.org/streams' from='romeo@forza'" +
  " to='juliet@pronto' version='1.0'>";
const encoder = new TextEncoder();

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function message(i: number): string {
  return `<message xmlns='jabber:client' id='m${i}'><body>${
    `${i} `.repeat(2000)
  }</body><x xmlns='urn:example'><y><z/></y></x></message>`;
}

const [a, b] = pair();
const session = new Session({
  role: "recipient",
  transport: b,
  from: "juliet@pronto",
  tls: "off",
});
const negotiated = session.negotiate();
await a.write(encoder.encode(HEADER));
await negotiated;

const taken: WeakRef<Element>[] = [];
session.stanzas$.subscribe((stanza) => void taken.push(new WeakRef(stanza)));
for (let i = 0; i < 4; i++) {
  await a.write(encoder.encode(message(i)));
  await wait(10);
}
await a.write(encoder.encode(
  Array.from({ length: 8 }, (_, i) => message(4 + i)).join(""),
));
await wait(50);
// WeakRefs hold their targets until the job that made them ends.
gc();
await wait(10);
gc();
console.log(JSON.stringify({
  taken: taken.length,
  alive: taken.filter((ref) => ref.deref() !== undefined).length,
}));
await a.write(encoder.encode("</stream:stream>"));
await session.closed;
