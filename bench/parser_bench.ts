/**
 * `deno bench` for parser throughput: one group per corpus, our parser (the
 * baseline, directly and through `parseFrames()`) against the peers. Each
 * iteration parses a whole 4 MB corpus in 16 KiB chunks and checks the
 * stanza count, so no bench can measure a no-op.
 *
 * Run: `deno task bench`. For the 20 MB table, `deno task bench:report`.
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
import { OURS } from "./_ours.ts";
import { PEERS, type Runner } from "./_peers.ts";

const SIZE = 4e6;
const CORPORA: readonly Corpus[] = [
  xmppStream(SIZE, { close: true }),
  largeStanzas(SIZE, { close: true }),
  deepDocument(SIZE, { close: true }),
];

function register(corpus: Corpus, runner: Runner, baseline: boolean): void {
  const chunks = toChunks(corpus.bytes);
  const mb = (corpus.bytes.length / 1e6).toFixed(1);
  Deno.bench({
    name: runner.name,
    group: `${corpus.name} (${mb} MB, ${corpus.stanzas} stanzas)`,
    baseline,
    fn() {
      const stanzas = runner.run(chunks);
      if (stanzas !== corpus.stanzas) {
        throw new Error(
          `${runner.name} saw ${stanzas} of ${corpus.stanzas} stanzas`,
        );
      }
    },
  });
}

for (const corpus of CORPORA) {
  OURS.forEach((runner, i) => register(corpus, runner, i === 0));
  for (const runner of PEERS) register(corpus, runner, false);
}
