// Two of our E2EStreams over memory, in plaintext (by name), standing for
// the two clients' streams that carry In-Band Bytestreams; and an IBB
// session opened between them.

import assert from "node:assert/strict";
import { firstValueFrom, take, toArray } from "rxjs";
import { plainStreams } from "../endpoint/_streams.ts";
import { message } from "../../src/stanza/stanza.ts";
import type { Element } from "../../src/xml/element.ts";
import type { E2EStream } from "../../src/e2e.ts";
import { memoryPair } from "../../src/transport/memory.ts";
import type { Transport } from "../../src/transport/transport.ts";
import {
  type IbbOptions,
  type IbbTransport,
  InBandBytestreams,
} from "../../src/jingle/mod.ts";

export interface Outer {
  romeo: E2EStream;
  juliet: E2EStream;
  /** Juliet's end of the memory pair: closing it makes her vanish. */
  julietWire: Transport;
  romeoIbb: InBandBytestreams;
  julietIbb: InBandBytestreams;
  /** Closes both outer streams in order. */
  close(): Promise<void>;
}

export async function outer(
  romeoOptions: IbbOptions = {},
  julietOptions: IbbOptions = {},
): Promise<Outer> {
  const [a, b] = memoryPair();
  const { romeo, juliet } = await plainStreams({ ends: [a, b] });
  return {
    romeo,
    juliet,
    julietWire: b,
    romeoIbb: new InBandBytestreams(romeo, romeoOptions),
    julietIbb: new InBandBytestreams(juliet, julietOptions),
    async close() {
      await Promise.all([romeo.close(), juliet.closed]);
    },
  };
}

/** Romeo opens session `sid`, Juliet expects it. */
export async function openIbb(
  streams: Outer,
  sid = "s1",
  blockSize?: number,
): Promise<{ mine: IbbTransport; hers: IbbTransport }> {
  const hers = streams.julietIbb.expect(sid);
  const mine = await streams.romeoIbb.open(
    sid,
    blockSize === undefined ? {} : { blockSize },
  );
  return { mine, hers: await hers };
}

/** Reads until `size` bytes came (or the end). */
/** `size` bytes of a pattern `seed` varies. */
export function bytes(size: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);
}

/**
 * Writes `there` from `mine` and `back` from `hers` at once; each must
 * arrive whole and in order at the other end.
 */
export async function bothWays(
  mine: Transport,
  hers: Transport,
  there: Uint8Array,
  back: Uint8Array,
): Promise<void> {
  const [, , heard, answered] = await Promise.all([
    mine.write(there),
    hers.write(back),
    readBytes(hers, there.length),
    readBytes(mine, back.length),
  ]);
  assert.deepEqual(heard, there);
  assert.deepEqual(answered, back);
}

export async function readBytes(
  transport: Transport,
  size: number,
): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const chunk = await transport.read();
    if (chunk === null) break;
    out.set(chunk, filled);
    filled += chunk.length;
  }
  return out.subarray(0, filled);
}

/** The bodies of the next `count` stanzas `stream` delivers. */
function bodiesOf(stream: E2EStream, count: number): Promise<string[]> {
  return firstValueFrom(stream.stanzas$.pipe(take(count), toArray())).then(
    (stanzas: Element[]) => stanzas.map((s) => s.getChildText("body")!),
  );
}

/**
 * Each end sends `expected` as messages while the other reads them: checks
 * that both got them all, in order.
 */
export async function exchange(
  initiator: E2EStream,
  recipient: E2EStream,
  expected: string[],
): Promise<void> {
  const heardByRecipient = bodiesOf(recipient, expected.length);
  const heardByInitiator = bodiesOf(initiator, expected.length);
  await Promise.all([
    (async () => {
      for (const body of expected) await initiator.send(message({ body }));
    })(),
    (async () => {
      for (const body of expected) await recipient.send(message({ body }));
    })(),
  ]);
  assert.deepEqual(await heardByRecipient, expected);
  assert.deepEqual(await heardByInitiator, expected);
}

/**
 * {@linkcode exchange}, then the initiator closes in order: checks too that
 * both closes were clean.
 */
export async function exchangeAndClose(
  initiator: E2EStream,
  recipient: E2EStream,
  expected: string[],
): Promise<void> {
  await exchange(initiator, recipient, expected);
  const [closing, seen] = await Promise.all([
    initiator.close(),
    recipient.closed,
  ]);
  assert.deepEqual(closing, { clean: true });
  assert.deepEqual(seen, { clean: true });
}
