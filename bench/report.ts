/**
 * Throughput report: every parser over the three corpora (20 MB each by
 * default, 16 KiB chunks), warm-up passes then timed rounds, median MB/s,
 * printed as a Markdown table with the ratio of our parser to each peer and
 * the verdict on the target (at least 3x the fastest peer on the XMPP
 * corpus). Runners are interleaved, in a rotating order, within each round,
 * and each ratio is the median of per-round ratios, which resists the slow
 * swings in load of a shared machine. Every pass checks the stanza count.
 *
 * Run: `deno task bench:report [--size=MB] [--rounds=N] [--warmup=N]`.
 *
 * @module
 */

import {
  type Corpus,
  deepDocument,
  largeStanzas,
  toChunks,
  xmppStream,
} from "./corpus.ts";
import { OURS, oursFrames, oursParser, oursPiped } from "./_ours.ts";
import { PEERS, type Runner } from "./_peers.ts";
import { floor } from "./_floor.ts";
import { Expat } from "./_expat.ts";
import { option } from "./_options.ts";
import { median } from "./_stats.ts";

const TARGET = 3;
const CHUNK = 16 * 1024;

const size = option("size", 20) * 1e6;
const rounds = option("rounds", 5);
const warmup = option("warmup", 2);
// No forced GC between passes: a full GC shrinks V8's young generation, which
// then penalises the next pass of an allocating parser (ours fell from about
// 105 to 60-80 MB/s on xmpp with gc() before each pass, ltx did not move), a
// state no long-running stream is in. Warm-up passes let the heap settle.
// The floor is a reference row: timed like the others, never a "peer".
const runners: readonly Runner[] = [...OURS, ...PEERS, floor];

function pass(runner: Runner, corpus: Corpus, chunks: Uint8Array[]): number {
  const start = performance.now();
  const stanzas = runner.run(chunks);
  const ms = performance.now() - start;
  if (stanzas !== corpus.stanzas) {
    throw new Error(
      `${runner.name} saw ${stanzas} of ${corpus.stanzas} stanzas in ${corpus.name}`,
    );
  }
  return corpus.bytes.length / 1e3 / ms;
}

/** Where a corpus's expat speeds go in the result map. */
const EXPAT: Runner = {
  name: Expat.ROW,
  output:
    "nothing: C expat through python3, namespaces on, no handlers, timed in python (a reference row, skipped without python3)",
  run() {
    throw new Error("timed by python3");
  },
};

/** Median MB/s and spread of each runner (and expat) on one corpus. */
async function measure(corpus: Corpus): Promise<Map<Runner, number[]>> {
  const chunks = toChunks(corpus.bytes, CHUNK);
  const expat = await Expat.start(corpus.bytes, CHUNK, corpus.stanzas);
  const all = expat === undefined ? runners : [...runners, EXPAT];
  const timed = (r: Runner) =>
    r === EXPAT ? expat!.pass() : pass(r, corpus, chunks);
  const speeds = new Map<Runner, number[]>(all.map((r) => [r, []]));
  try {
    for (let i = 0; i < warmup; i++) {
      for (const r of all) await timed(r);
    }
    for (let round = 0; round < rounds; round++) {
      // Rotate the order each round so that noise spreads over all runners.
      for (let k = 0; k < all.length; k++) {
        const runner = all[(k + round) % all.length]!;
        speeds.get(runner)!.push(await timed(runner));
      }
    }
  } finally {
    await expat?.close();
  }
  return speeds;
}

const corpora: Corpus[] = [
  xmppStream(size, { close: true }),
  largeStanzas(size, { close: true }),
  deepDocument(size, { close: true }),
];

console.log(`# Parser throughput\n`);
console.log(
  `Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${Deno.build.os}/${Deno.build.arch}, ` +
    `${navigator.hardwareConcurrency} CPUs; 16 KiB chunks; ${warmup} warm-up + ${rounds} ` +
    `timed rounds, median; MB = 10^6 bytes.\n`,
);
for (const c of corpora) {
  console.log(
    `- ${c.name}: ${
      (c.bytes.length / 1e6).toFixed(1)
    } MB, ${c.stanzas} stanzas`,
  );
}

const results: Map<Runner, number[]>[] = [];
for (const c of corpora) {
  console.error(`measuring ${c.name} ...`);
  results.push(await measure(c));
}
const rows = results[0]!.has(EXPAT) ? [...runners, EXPAT] : runners;
const med = (i: number, r: Runner) => median(results[i]!.get(r)!);
/** Median over rounds of ours / this runner, both timed in the same round. */
const pairedRatio = (i: number, r: Runner) => {
  const ours = results[i]!.get(oursParser)!;
  return median(
    results[i]!.get(r)!.map((speed, round) => ours[round]! / speed),
  );
};

const header = [
  "parser",
  ...corpora.flatMap((c) => [`${c.name} MB/s`, "ours/this"]),
];
console.log(
  `\n| ${header.join(" | ")} |\n|${header.map(() => " --- |").join("")}`,
);
for (const runner of rows) {
  const cells = corpora.flatMap((_, i) => {
    const speed = med(i, runner);
    const ratio = runner === oursParser
      ? "1.00"
      : pairedRatio(i, runner).toFixed(2);
    return [speed.toFixed(1), ratio];
  });
  console.log(`| ${runner.name} | ${cells.join(" | ")} |`);
}

console.log(
  `\nours/this: median over rounds of the ratio of the two speeds in one round.`,
);
console.log(`\nSpread (min-max MB/s over the timed rounds):\n`);
console.log(`| parser | ${corpora.map((c) => c.name).join(" | ")} |`);
console.log(`| --- |${corpora.map(() => " --- |").join("")}`);
for (const runner of rows) {
  const cells = corpora.map((_, i) => {
    const s = results[i]!.get(runner)!;
    return `${Math.min(...s).toFixed(1)}-${Math.max(...s).toFixed(1)}`;
  });
  console.log(`| ${runner.name} | ${cells.join(" | ")} |`);
}

const fastest = PEERS.reduce((a, b) => (med(0, a) >= med(0, b) ? a : b));
const ratio = pairedRatio(0, fastest);
console.log(
  `\nTarget (ours >= ${TARGET}x the fastest peer on ${corpora[0]!.name}): ` +
    `${ratio >= TARGET ? "MET" : "NOT MET"}: ${
      ratio.toFixed(2)
    }x ${fastest.name}.`,
);
/** Median over rounds of a / b, both timed in the same round. */
const sameRound = (i: number, a: Runner, b: Runner) => {
  const bs = results[i]!.get(b)!;
  return median(results[i]!.get(a)!.map((speed, k) => speed / bs[k]!));
};
const piped = corpora.map((_, i) => sameRound(i, oursPiped, oursFrames));
console.log(
  `Target (parseXml() + frames() within 5% of parseFrames() on every corpus): ${
    piped.every((r) => r >= 0.95) ? "MET" : "NOT MET"
  }: ${
    corpora.map((c, i) => `${c.name} ${piped[i]!.toFixed(2)}x`).join(", ")
  }.`,
);
if (rows.includes(EXPAT)) {
  // parseFrames() against C expat, each round's ratio from the same round.
  const vsExpat = corpora.map((_, i) => sameRound(i, oursFrames, EXPAT));
  const met = vsExpat.every((r) => r >= 1);
  console.log(
    `Target (parseFrames() >= C expat on every corpus): ${
      met ? "MET" : "NOT MET"
    }: ${
      corpora.map((c, i) => `${c.name} ${vsExpat[i]!.toFixed(2)}x`).join(", ")
    }.`,
  );
} else {
  console.log("C expat reference: skipped (python3 with pyexpat not found).");
}
for (const runner of rows) console.log(`- ${runner.name}: ${runner.output}`);
