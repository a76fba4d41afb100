// Two of our E2EStreams over memory, in plaintext (by name), standing for
// the two clients' streams that carry In-Band Bytestreams; and an IBB
// session opened between them.

import { plainStreams } from "../endpoint/_streams.ts";
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
