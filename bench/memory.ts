/**
 * Memory check: streams 100 MB of XMPP stanzas, generated chunk by chunk
 * (never held whole), through `XmlParser` in tree mode, dropping each
 * stanza. Samples `Deno.memoryUsage()` every few MB and prints the samples
 * at 10 / 50 / 100 MB and the peaks, to show that memory does not grow with
 * the input.
 *
 * Run: `deno task bench:memory [--total=MB] [--every=MB] [--all]`
 * (the task passes `--v8-flags=--expose-gc`, so live heap is measured after
 * a full GC).
 *
 * @module
 */

import { xmppChunks } from "./corpus.ts";
import { CountingSink } from "./_ours.ts";
import { STREAM_CLOSE } from "./_xmpp_stanzas.ts";
import { XmlParser } from "../src/xml/parser.ts";
import { option } from "./_options.ts";

const MB = 1e6;
const total = option("total", 100) * MB;
const every = option("every", 5) * MB;
const gc = (globalThis as { gc?: () => void }).gc;

interface Sample {
  mb: number;
  rss: number;
  heapUsed: number;
  external: number;
  liveHeap: number | undefined;
}

function sample(bytes: number): Sample {
  const { rss, heapUsed, external } = Deno.memoryUsage();
  let liveHeap: number | undefined;
  if (gc) {
    gc();
    liveHeap = Deno.memoryUsage().heapUsed;
  }
  return { mb: bytes / MB, rss, heapUsed, external, liveHeap };
}

const sink = new CountingSink();
const parser = new XmlParser(sink, { tree: true });
const source = xmppChunks(16 * 1024, 7);
const samples: Sample[] = [sample(0)];
let bytes = 0;
let next = every;
const start = performance.now();
for (const chunk of source.chunks) {
  parser.write(chunk);
  bytes += chunk.length;
  if (bytes >= next) {
    samples.push(sample(bytes));
    next += every;
  }
  if (bytes >= total) break;
}
parser.write(new TextEncoder().encode(STREAM_CLOSE));
parser.end();
const seconds = (performance.now() - start) / 1e3;
if (sink.stanzas !== source.stanzas() || !sink.closed) {
  throw new Error(`Parser saw ${sink.stanzas} of ${source.stanzas()} stanzas`);
}

const mib = (n: number | undefined) =>
  n === undefined ? "n/a" : (n / 2 ** 20).toFixed(1);
const row = (s: Sample) =>
  "| " + [s.mb.toFixed(1), mib(s.rss), mib(s.heapUsed), mib(s.external)]
    .concat(mib(s.liveHeap)).join(" | ") +
  " |";
const at = (mb: number) =>
  samples.find((s) => s.mb >= mb) ?? samples[samples.length - 1]!;
const first = at(10);
const last = samples[samples.length - 1]!;
const shown = Deno.args.includes("--all")
  ? samples
  : [samples[0]!, first, at(total / MB / 2), last];
const mode = gc ? "yes" : "no (add --v8-flags=--expose-gc)";

console.log(`# Memory while streaming ${(bytes / MB).toFixed(1)} MB\n`);
console.log(
  `${sink.stanzas} stanzas in ${seconds.toFixed(1)} s (generation included); ` +
    `sampled every ${every / MB} MB; live heap after a full GC: ${mode}.\n`,
);
console.log(
  "| input MB | rss MiB | heapUsed MiB | external MiB | live heap MiB |",
);
console.log("| --- | --- | --- | --- | --- |");
for (const s of shown) console.log(row(s));

const peak = (key: "rss" | "heapUsed" | "external" | "liveHeap") =>
  mib(Math.max(...samples.map((s) => s[key] ?? 0)));
console.log(
  `\nPeaks over ${samples.length} samples: rss ${peak("rss")} MiB, heapUsed ` +
    `${peak("heapUsed")} MiB, external ${peak("external")} MiB, live heap ` +
    `${peak("liveHeap")} MiB.`,
);
const growth = (last.liveHeap ?? last.heapUsed) -
  (first.liveHeap ?? first.heapUsed);
const verdict = Math.abs(growth) < 4 * 2 ** 20 ? "bounded" : "GROWING";
console.log(
  `Heap growth from ${first.mb.toFixed(0)} MB to ${last.mb.toFixed(0)} MB ` +
    `of input: ${mib(growth)} MiB (${verdict}).`,
);
