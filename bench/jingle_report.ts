/**
 * Jingle XML Streams in one process: how long `open()` takes (the Jingle
 * session, the bytestream, the inner STARTTLS) and the throughput of
 * message stanzas one way through the encrypted stream inside, over IBB and
 * over SOCKS5 (a direct loopback candidate of the tests' backend), the two
 * clients' streams routed by the tests' in-process server; medians over
 * rounds, and the SOCKS5 / IBB ratio of each round.
 *
 *     deno task bench:jingle [--count=N] [--size=B] [--rounds=N]
 *
 * @module
 */

import { firstValueFrom, take, toArray } from "rxjs";
import { message } from "../src/stanza/stanza.ts";
import type { JingleStream } from "../src/jingle/mod.ts";
import { JULIET, lovers } from "../tests/jingle/_jingle_pair.ts";
import { loopbackSocks5 } from "../tests/jingle/_loopback_socks5.ts";
import { option } from "./_options.ts";
import { median } from "./_stats.ts";

const COUNT = option("count", 2000);
const SIZE = option("size", 1024);
const ROUNDS = option("rounds", 5);

const unit = "Wherefore art thou Romeo? ";
const BODY = unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

/** One session: [ms to open, ms to carry COUNT stanzas]. */
async function round(kind: "ibb" | "s5b"): Promise<[number, number]> {
  const socks5 = {
    backend: loopbackSocks5(),
    directAddresses: ["127.0.0.1"],
  };
  const options = kind === "s5b" ? { socks5 } : {};
  const { romeo, juliet, close } = await lovers(options, options);
  const accepted = Promise.withResolvers<JingleStream>();
  juliet.jingle.accept(async (offer) => {
    accepted.resolve(await offer.accept());
  });
  const opening = performance.now();
  const mine = await romeo.jingle.open(JULIET);
  const hers = await accepted.promise;
  const opened = performance.now() - opening;
  if (mine.jingle.transport !== kind) throw new Error("Wrong transport");
  const heard = firstValueFrom(hers.stanzas$.pipe(take(COUNT), toArray()));
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) await mine.send(message({ body: BODY }));
  await heard;
  const carried = performance.now() - start;
  await mine.close();
  await hers.closed;
  await close();
  return [opened, carried];
}

console.log(
  `${COUNT} message stanzas of ${SIZE} B one way, median of ${ROUNDS} rounds`,
);
const results = { ibb: [[], []], s5b: [[], []] } as Record<
  "ibb" | "s5b",
  [number[], number[]]
>;
const ratios: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  for (const kind of ["ibb", "s5b"] as const) {
    const [opened, carried] = await round(kind);
    results[kind][0].push(opened);
    results[kind][1].push(carried);
  }
  ratios.push(results.ibb[1][r]! / results.s5b[1][r]!);
}
for (const kind of ["ibb", "s5b"] as const) {
  const carried = median(results[kind][1]);
  console.log(
    `${kind.padEnd(4)} open ${median(results[kind][0]).toFixed(0)} ms, ` +
      `${(COUNT * SIZE / 1e6 / (carried / 1000)).toFixed(1)} MB/s ` +
      `(${(COUNT / (carried / 1000)).toFixed(0)} stanzas/s)`,
  );
}
console.log(`SOCKS5 / IBB throughput ratio ${median(ratios).toFixed(2)}`);
