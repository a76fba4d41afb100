/**
 * Run with `--v8-flags=--expose-gc` by retention_test.ts: a recipient takes
 * stanzas (one by one, then a burst in one chunk), its subscriber lets go
 * of each, and the stream idles. Prints, as JSON, how many of the stanzas
 * were still alive after a full GC.
 *
 * @module
 */

import type { Element } from "../../src/xml/element.ts";
import { openRecipient, utf8 } from "../hardening/_live.ts";
import { pause } from "../transport/_helpers.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("Run with --v8-flags=--expose-gc");

function message(i: number): string {
  return `<message xmlns='jabber:client' id='m${i}'><body>${
    `${i} `.repeat(2000)
  }</body><x xmlns='urn:example'><y><z/></y></x></message>`;
}

const { session, a } = await openRecipient();
const taken: WeakRef<Element>[] = [];
session.stanzas$.subscribe((stanza) => void taken.push(new WeakRef(stanza)));
for (let i = 0; i < 4; i++) {
  await a.write(utf8(message(i)));
  await pause(10);
}
await a.write(utf8(
  Array.from({ length: 8 }, (_, i) => message(4 + i)).join(""),
));
await pause(50);
// WeakRefs hold their targets until the job that made them ends.
gc();
await pause(10);
gc();
console.log(JSON.stringify({
  taken: taken.length,
  alive: taken.filter((ref) => ref.deref() !== undefined).length,
}));
await a.write(utf8("</stream:stream>"));
await session.closed;
