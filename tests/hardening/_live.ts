// A live, negotiated recipient stream over the in-memory pair, and the
// helpers the hostile-input tests share: feed bytes chunk by chunk (stopping
// as soon as the stream has ended), check the stream error, measure the heap.

import assert from "node:assert/strict";
import { type CloseResult, Session } from "../../src/stream/session.ts";
import {
  StreamError,
  type StreamErrorCondition,
} from "../../src/stream/errors.ts";
import { pair } from "../stream/_pair.ts";

/** The largest chunk a test writes at once. */
export const CHUNK = 64 * 1024;

/** A valid initiator header for a recipient called `pronto`. */
export const HEADER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>";

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** One recipient end and the peer's raw transport. */
export interface Live {
  session: Session;
  /** The peer's end: write hostile bytes here. */
  a: ReturnType<typeof pair>[0];
  /** The recipient's end: `written` is what the recipient sent. */
  b: ReturnType<typeof pair>[1];
  /** Set once `session.closed` resolved. */
  ended: () => boolean;
  /** `negotiate()`, already started (and caught, so it never goes unhandled). */
  negotiated: Promise<void>;
}

/** Starts a recipient (TLS off) and returns before any byte is written. */
export function recipient(): Live {
  const [a, b] = pair();
  const session = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    tls: "off",
  });
  let done = false;
  session.closed.then(() => done = true);
  const negotiated = session.negotiate();
  negotiated.catch(() => {});
  return { session, a, b, ended: () => done, negotiated };
}

/** A recipient that has read a valid header and is open. */
export async function openRecipient(): Promise<Live> {
  const live = recipient();
  await live.a.write(utf8(HEADER));
  await live.negotiated;
  assert.equal(live.session.state, "open");
  return live;
}

/** Lets the recipient read and answer what was written so far. */
export function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** What `feed` did. */
export interface Fed {
  /** Bytes written before the stream ended (or the source ran out). */
  sent: number;
  /** Largest `heapUsed` seen between chunks. */
  peakHeap: number;
}

/**
 * Writes chunks (each at most {@linkcode CHUNK}) to the peer's end, one per
 * macrotask, and stops as soon as the recipient's stream has ended. The
 * peer's copy of what it wrote is dropped as it goes, so nothing large is
 * ever held.
 */
export async function feed(
  live: Live,
  source: Iterable<Uint8Array>,
): Promise<Fed> {
  let sent = 0;
  let peakHeap = Deno.memoryUsage().heapUsed;
  for (const chunk of source) {
    if (live.ended()) break;
    assert.ok(chunk.length <= CHUNK);
    await live.a.write(chunk);
    live.a.written.length = 0;
    sent += chunk.length;
    await tick();
    peakHeap = Math.max(peakHeap, Deno.memoryUsage().heapUsed);
  }
  await tick();
  return { sent, peakHeap };
}

/** Splits one string into chunks of at most {@linkcode CHUNK} bytes. */
export function* chunks(
  ...parts: (string | Uint8Array)[]
): Generator<Uint8Array> {
  for (const part of parts) {
    const bytes = typeof part === "string" ? utf8(part) : part;
    for (let i = 0; i < bytes.length; i += CHUNK) {
      yield bytes.subarray(i, i + CHUNK);
    }
  }
}

/** `prefix`, then `total` bytes of `unit` repeated, then `suffix`, lazily. */
export function* repeated(
  prefix: string,
  unit: string,
  total: number,
  suffix = "",
): Generator<Uint8Array> {
  yield* chunks(prefix);
  const block = utf8(unit.repeat(Math.floor(CHUNK / unit.length)));
  let left = total;
  while (left > 0) {
    const n = Math.min(left, block.length);
    yield block.subarray(0, n);
    left -= n;
  }
  yield* chunks(suffix);
}

/**
 * Checks that the stream ended with a stream error we sent, of exactly this
 * condition, and that the wire carries it followed by our close tag.
 *
 * @returns What the recipient wrote, decoded.
 */
export async function assertStreamError(
  live: Live,
  condition: StreamErrorCondition,
): Promise<{ result: CloseResult; wire: string }> {
  const result = await live.session.closed;
  assert.equal(result.clean, false);
  assert.ok(
    result.error instanceof StreamError,
    `expected a StreamError, got ${result.error}`,
  );
  assert.equal(result.error.sent, true);
  assert.equal(result.error.condition, condition);
  const wire = live.b.writtenText();
  const error =
    `<stream:error><${condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>`;
  const at = wire.indexOf(error);
  assert.ok(at >= 0, `no ${error} in ${wire}`);
  assert.ok(
    wire.indexOf("</stream:error></stream:stream>", at) > at,
    `no </stream:stream> after the error in ${wire}`,
  );
  assert.ok(wire.endsWith("</stream:stream>"), wire);
  // Exactly one stream error, and nothing after our close tag.
  assert.equal(wire.split("<stream:error>").length, 2, wire);
  assert.equal(wire.split("</stream:stream>").length, 2, wire);
  assert.equal(live.session.state, "closed");
  return { result, wire };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Whether the heap can be measured reliably (`--v8-flags=--expose-gc`). */
export const canMeasureHeap = typeof gc === "function";

/** `heapUsed` after a full collection (0 when gc is not exposed). */
export function settledHeap(): number {
  if (gc === undefined) return 0;
  gc();
  return Deno.memoryUsage().heapUsed;
}
