/**
 * Throughput of an end-to-end stream inside an In-Band Bytestream: ~16 KiB
 * message stanzas one way through an inner stream over IBB, itself carried
 * by two outer streams over memory, for a few block sizes and windows;
 * beside it, the same stanzas over the memory pair directly, measured in
 * the same round, and the ratio (median over rounds); inner streams in
 * plaintext and with STARTTLS inside the bytestream (`withTls`).
 *
 *     deno task bench:ibb [--count=N] [--rounds=N]
 *
 * @module
 */

import { firstValueFrom, take, toArray } from "rxjs";
import { E2EStream, initiate } from "../src/e2e.ts";
import { Session } from "../src/stream/session.ts";
import { message } from "../src/stanza/stanza.ts";
import { memoryPair } from "../src/transport/memory.ts";
import type { Transport } from "../src/transport/transport.ts";
import { generateCertificate } from "../src/transport/certificate.ts";
import {
  type IbbOptions,
  InBandBytestreams,
  withTls,
} from "../src/jingle/mod.ts";
import { option } from "./_options.ts";

const COUNT = option("count", 500);
const ROUNDS = option("rounds", 5);
const SIZE = 16 * 1024;

const unit = "Wherefore art thou Romeo? ";
const BODY = unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

const cert = await generateCertificate({ names: ["juliet@pronto"] });

async function streamsOver(a: Transport, b: Transport, encrypted = false) {
  const tls = encrypted ? "required" : "off";
  const session = new Session({
    role: "recipient",
    transport: b,
    from: "juliet@pronto",
    tls,
  });
  const [romeo] = await Promise.all([
    initiate({
      transport: a,
      from: "romeo@forza",
      to: "juliet@pronto",
      tls,
    }),
    session.negotiate(),
  ]);
  return { romeo, juliet: new E2EStream(session) };
}

/** Seconds to send COUNT large stanzas from romeo to juliet. */
async function timeStanzas(romeo: E2EStream, juliet: E2EStream) {
  const heard = firstValueFrom(juliet.stanzas$.pipe(take(COUNT), toArray()));
  const start = performance.now();
  for (let i = 0; i < COUNT; i++) await romeo.send(message({ body: BODY }));
  await heard;
  const seconds = (performance.now() - start) / 1000;
  await Promise.all([romeo.close(), juliet.closed]);
  return seconds;
}

async function direct(): Promise<number> {
  const [a, b] = memoryPair();
  const { romeo, juliet } = await streamsOver(a, b);
  return timeStanzas(romeo, juliet);
}

async function overIbb(
  options: IbbOptions,
  encrypted: boolean,
): Promise<number> {
  const [a, b] = memoryPair();
  const outer = await streamsOver(a, b);
  const hers = new InBandBytestreams(outer.juliet, options).expect("bench");
  const mine = await new InBandBytestreams(outer.romeo, options).open("bench");
  const inner = encrypted
    ? await streamsOver(
      withTls(mine, {
        role: "client",
        serverName: "juliet@pronto",
        tls: { pinnedFingerprint256: cert.fingerprint256 },
      }),
      withTls(await hers, {
        role: "server",
        tls: { key: cert.keyPem, cert: cert.certPem },
      }),
      true,
    )
    : await streamsOver(mine, await hers);
  const seconds = await timeStanzas(inner.romeo, inner.juliet);
  await mine.closed;
  await Promise.all([outer.romeo.close(), outer.juliet.closed]);
  return seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const MAX = { blockSize: 65535, maxBlockSize: 65535, window: 4 };
const CASES: [string, IbbOptions, boolean][] = [
  ["block 4096, window 1", { blockSize: 4096, window: 1 }, false],
  ["block 4096, window 4", { blockSize: 4096, window: 4 }, false],
  ["block 16384, window 4", { blockSize: 16384, window: 4 }, false],
  ["block 65535, window 4", MAX, false],
  ["block 4096, window 4, TLS", { blockSize: 4096, window: 4 }, true],
  ["block 65535, window 4, TLS", MAX, true],
];

const mb = (seconds: number) => (COUNT * SIZE) / seconds / 1e6;
console.log(
  `${COUNT} message stanzas of ${SIZE} B one way, median of ${ROUNDS} rounds`,
);
for (const [name, options, encrypted] of CASES) {
  const ibb: number[] = [];
  const raw: number[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r = await direct();
    const i = await overIbb(options, encrypted);
    raw.push(r);
    ibb.push(i);
    ratios.push(r / i);
  }
  console.log(
    `${name.padEnd(28)} IBB ${mb(median(ibb)).toFixed(1)} MB/s ` +
      `(${(COUNT / median(ibb)).toFixed(0)} stanzas/s), ` +
      `direct ${mb(median(raw)).toFixed(1)} MB/s, ratio ${
        median(ratios).toFixed(2)
      }`,
  );
}
