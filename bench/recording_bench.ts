/**
 * `deno bench` for the recording operators against `parseFrames()` (the
 * baseline) on the same 4 MB XMPP corpus in 16 KiB chunks: what following
 * stream restarts costs (`parseRecording()`), and what typed views cost on
 * top (`stanzas()`). Each iteration checks the stanza count.
 *
 * Run: `deno bench --allow-read --allow-env bench/recording_bench.ts`.
 *
 * @module
 */

import { from } from "rxjs";
import { type Corpus, toChunks, xmppStream } from "./corpus.ts";
import { parseFrames } from "../src/xml/frames.ts";
import type { Operator } from "../src/xml/operator.ts";
import type { StreamFrame } from "../src/xml/events.ts";
import { parseRecording } from "../src/stream/recording.ts";
import { stanzas } from "../src/stanza/stanzas.ts";

const corpus: Corpus = xmppStream(4e6, { close: true });
const chunks = toChunks(corpus.bytes);
const group = `xmpp (${
  (corpus.bytes.length / 1e6).toFixed(1)
} MB, ${corpus.stanzas} stanzas)`;

function count<T>(
  operator: Operator<Uint8Array, T>,
  isStanza: (value: T) => boolean,
): number {
  let seen = 0;
  let failure: unknown;
  from(chunks).pipe(operator).subscribe({
    next: (value) => {
      if (isStanza(value)) seen++;
    },
    error: (error: unknown) => failure = error,
  });
  if (failure !== undefined) throw failure;
  return seen;
}

function check(name: string, seen: number): void {
  if (seen !== corpus.stanzas) {
    throw new Error(`${name} saw ${seen} of ${corpus.stanzas} stanzas`);
  }
}

const isElement = (frame: StreamFrame) => frame.type === "element";

Deno.bench({
  name: "parseFrames()",
  group,
  baseline: true,
  fn: () => check("parseFrames()", count(parseFrames(), isElement)),
});

Deno.bench({
  name: "parseRecording()",
  group,
  fn: () => check("parseRecording()", count(parseRecording(), isElement)),
});

Deno.bench({
  name: "parseFrames() + stanzas()",
  group,
  fn: () =>
    check(
      "stanzas()",
      count((source) => source.pipe(parseFrames(), stanzas()), () => true),
    ),
});
