/**
 * The one write queue of a stream: ordered, coalescing, and bounded in
 * bytes.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { BufferPool } from "../transport/_buffer_pool.ts";
import type { Transport } from "../transport/transport.ts";
import { StreamClosedError } from "./errors.ts";

const encoder = new TextEncoder();

/**
 * The default bound of a stream's send queue: 1 MiB of UTF-8.
 *
 * @example The default
 * ```ts
 * import { DEFAULT_SEND_QUEUE_BYTES } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_SEND_QUEUE_BYTES, 1024 * 1024);
 * ```
 */
export const DEFAULT_SEND_QUEUE_BYTES = 1024 * 1024;

// Text is encoded into batches of at most this size, each one transport
// write; a text larger than a batch fills several.
const BATCH_BYTES = 64 * 1024;
const FIRST_BATCH_BYTES = 4 * 1024;

// Batches whose writes completed on transports that copy what they write,
// shared by every queue of the process: a burst, or a flood, fills the same
// few buffers again instead of leaving a trail of them for the garbage
// collector (and the allocator, which keeps what they used). At most eight
// of each size (4, 8, 16, 32 and 64 KiB) are kept; a stream holds one only
// while it writes, and a text sent alone takes a whole one only if the pool
// has it.
const pool = new BufferPool(8);

// Whole texts that fit a batch are encoded together, up to this many UTF-16
// code units at once (one encodeInto for many small stanzas).
const GROUP_UNITS = 8 * 1024;

function noop(): void {}

/**
 * The length of `text` in UTF-8, as `TextEncoder` writes it (a lone
 * surrogate becomes U+FFFD, three bytes).
 *
 * @param text Any string.
 * @returns Its length in bytes.
 */
export function utf8Length(text: string): number {
  // Native and vectorised: ten to twenty times a regular expression that
  // looks for non-ASCII text over 16 KiB, let alone a loop over it.
  return Buffer.byteLength(text, "utf8");
}

interface Waiting {
  text: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Admitted {
  text: string; // emptied once encoded
  bytes: number; // its length in UTF-8
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Writes text to a transport in order. Text waits in line until the bytes
 * taken and not yet written are under the bound; taken text stays text (in
 * the JavaScript heap, which gives its pages back once collected) and is
 * encoded (UTF-8) one batch at a time, as the transport is ready for it, so
 * a stream holds at most one encoded batch however much it queued; text
 * that queues while a write is under way goes out together, so that many
 * small stanzas cost few writes. `write()` resolves when its bytes were
 * handed to the transport. A peer that does not read makes text wait, never
 * memory grow: the stream layer stops reading the peer while the queue is
 * {@linkcode WriteQueue.full}.
 */
export class WriteQueue {
  readonly #transport: Transport;
  readonly #onProgress: ((failure?: unknown) => void) | undefined;
  #waiting: Waiting[] = [];
  // Taken, in order: the first #encoded ones are in the batch being written
  // (the last of them maybe only in part, up to #offset code units).
  #admitted: Admitted[] = [];
  #encoded = 0;
  #offset = 0;
  // A batch made here whose write completed, to fill again while writes
  // follow each other (when the transport copies what it writes); given to
  // the shared pool when the queue empties, so an idle stream keeps none.
  #spare: Uint8Array | undefined;
  #accepted = 0; // bytes taken so far
  #written = 0; // bytes handed to the transport so far
  #flushing: Promise<void> | undefined;
  #failure: unknown;
  #closed = false;

  /**
   * Makes a queue.
   *
   * @param transport Where the bytes go.
   * @param limit Bytes taken and not yet written above which text waits
   *   (a soft bound: the text that crosses it is still taken whole).
   * @param onText Called with each text as it is taken (for the trace).
   * @param onProgress Called after each transport write completes, and
   *   with the error when one fails (everything queued then rejects).
   */
  constructor(
    transport: Transport,
    readonly limit: number = DEFAULT_SEND_QUEUE_BYTES,
    readonly onText?: (text: string) => void,
    onProgress?: (failure?: unknown) => void,
  ) {
    if (!(limit > 0)) {
      throw new RangeError(
        `Cannot make a send queue: a limit of ${limit} bytes is not positive`,
      );
    }
    this.#transport = transport;
    this.#onProgress = onProgress;
  }

  /**
   * Bytes taken and not yet handed to the transport (UTF-8).
   *
   * @returns The count.
   */
  get queuedBytes(): number {
    return this.#accepted - this.#written;
  }

  /**
   * Whether text waits for room: the peer does not read as fast as we
   * write.
   *
   * @returns `true` at or over the bound.
   */
  get full(): boolean {
    return this.#waiting.length > 0 || !this.#hasRoom();
  }

  #hasRoom(): boolean {
    return this.#accepted - this.#written < this.limit;
  }

  /**
   * Queues text.
   *
   * @param text Serialized XML.
   * @returns Resolves once written; rejects when the transport fails or
   *   the queue was ended first.
   */
  write(text: string): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new StreamClosedError("closing"));
    if (this.#waiting.length > 0 || !this.#hasRoom()) {
      return new Promise<void>((resolve, reject) => {
        this.#waiting.push({ text, resolve, reject });
      });
    }
    // Room now: taken at once, without waiting in line.
    return new Promise<void>((resolve, reject) => {
      this.#take(text, resolve, reject);
      this.#flushing ??= this.#flush();
    });
  }

  /**
   * Queues text nobody waits for: as {@linkcode WriteQueue.write}, without
   * a promise (a queue full of replies holds their text and little more).
   *
   * @param text Serialized XML.
   * @param onFailure Called (later, never from within `post()`) with the
   *   error when the transport fails or the queue was ended first.
   */
  post(text: string, onFailure: (error: unknown) => void): void {
    if (this.#failure !== undefined || this.#closed) {
      const error = this.#failure ?? new StreamClosedError("closing");
      queueMicrotask(() => onFailure(error));
      return;
    }
    if (this.#waiting.length > 0 || !this.#hasRoom()) {
      this.#waiting.push({ text, resolve: noop, reject: onFailure });
      return;
    }
    this.#take(text, noop, onFailure);
    this.#flushing ??= this.#flush();
  }

  /**
   * Resolves once everything queued so far was written (or failed).
   *
   * @returns Resolves when the queue is empty.
   */
  async drain(): Promise<void> {
    while (this.#flushing) await this.#flushing;
  }

  /**
   * Refuses more text; what is queued is still written, then `text`.
   *
   * @param text A last piece of text (the stream close tag), or none.
   * @param drop Rather than writing the text still waiting for room, reject
   *   it with this error (a stream that fails says so at once).
   * @returns Resolves when all of it was written.
   */
  async end(text?: string, drop?: Error): Promise<void> {
    if (drop !== undefined) {
      for (const waiting of this.#waiting.splice(0)) waiting.reject(drop);
    }
    const last = text === undefined ? undefined : this.write(text);
    this.#closed = true;
    // The last text goes out whatever the bound: the queue is ending.
    this.#admit(true);
    await last;
    await this.drain();
  }

  /**
   * Gives up: everything queued rejects with `error`, at once, whether or
   * not a write is still under way (the transport is being closed), and
   * later text is refused with it.
   *
   * @param error Why.
   */
  abort(error: unknown): void {
    if (this.#failure === undefined) this.#fail(error);
  }

  /** Takes waiting text while there is room (or all of it, at the end). */
  #admit(all = false): void {
    const waiting = this.#waiting;
    let taken = 0;
    while (taken < waiting.length && (all || this.#hasRoom())) {
      const { text, resolve, reject } = waiting[taken++]!;
      this.#take(text, resolve, reject);
    }
    if (taken > 0) {
      waiting.splice(0, taken);
      this.#flushing ??= this.#flush();
    }
  }

  #take(
    text: string,
    resolve: () => void,
    reject: (error: unknown) => void,
  ): void {
    this.onText?.(text);
    const bytes = utf8Length(text);
    this.#accepted += bytes;
    this.#admitted.push({ text, bytes, resolve, reject });
  }

  /**
   * Encodes the next batch: the text taken and not yet encoded, as much of
   * it as one batch holds (a text that does not fit goes on in the next
   * one, so a large text is never encoded, nor written, whole).
   *
   * @returns The bytes, or undefined when every text taken is written.
   */
  #nextBatch(): Uint8Array | undefined {
    const admitted = this.#admitted;
    if (this.#encoded >= admitted.length) return undefined;
    // Everything encoded before was written: what is left is all still text.
    const left = this.#accepted - this.#written;
    const copies = this.#transport.copiesWrites === true;
    if (
      this.#encoded === admitted.length - 1 && this.#offset === 0 &&
      left <= BATCH_BYTES && this.#spare === undefined
    ) {
      // One text alone: in a batch the pool has (when the transport copies
      // what it writes), else encoded to its size: a stream that sends
      // little never allocates a whole batch.
      const entry = admitted[this.#encoded++]!;
      const reused = copies ? pool.reuse(BATCH_BYTES) : undefined;
      const bytes = reused === undefined
        ? encoder.encode(entry.text)
        : reused.subarray(0, encoder.encodeInto(entry.text, reused).written);
      entry.text = "";
      return bytes;
    }
    const batch = this.#batchFor(left, copies);
    let at = 0;
    let group = "";
    let groupBytes = 0;
    while (this.#encoded < admitted.length) {
      const entry = admitted[this.#encoded]!;
      if (
        this.#offset === 0 && at + groupBytes + entry.bytes <= batch.length
      ) {
        // Whole: with the texts before it, in one encodeInto.
        group += entry.text;
        groupBytes += entry.bytes;
        entry.text = "";
        this.#encoded++;
        if (group.length < GROUP_UNITS) continue;
      }
      if (group !== "") {
        at += encoder.encodeInto(group, batch.subarray(at)).written;
        group = "";
        groupBytes = 0;
        continue;
      }
      if (at >= batch.length) break;
      // The rest of a text, or as much of it as fits.
      const rest = this.#offset === 0
        ? entry.text
        : entry.text.slice(this.#offset);
      const { read, written } = encoder.encodeInto(rest, batch.subarray(at));
      at += written;
      if (read < rest.length) {
        this.#offset += read;
        break; // full, but for what the next character needs
      }
      entry.text = "";
      this.#offset = 0;
      this.#encoded++;
    }
    if (group !== "") {
      at += encoder.encodeInto(group, batch.subarray(at)).written;
    }
    return batch.subarray(0, at);
  }

  /**
   * A batch for `left` bytes: small while writes are sparse, up to a whole
   * one for a burst, in sizes of powers of two (a stream that sends little
   * never allocates, nor keeps in the allocator, a large batch).
   */
  #batchFor(left: number, copies: boolean): Uint8Array {
    let size = FIRST_BATCH_BYTES;
    while (size < left && size < BATCH_BYTES) size *= 2;
    if (!copies) return new Uint8Array(size);
    // Filled again once written: this stream's last batch, else one from
    // the pool, else a new one (given to the pool too once written).
    const spare = this.#spare;
    this.#spare = undefined;
    if (spare !== undefined && spare.length >= size) return spare;
    if (spare !== undefined) pool.give(spare);
    return pool.take(size);
  }

  async #flush(): Promise<void> {
    try {
      for (;;) {
        const batch = this.#nextBatch();
        if (batch === undefined) break;
        if (batch.length === 0) {
          await undefined; // (empty texts) never settled before it started
        } else {
          try {
            await this.#transport.write(batch);
          } catch (error) {
            if (this.#failure === undefined) this.#fail(error);
            return;
          }
          if (this.#failure !== undefined) return; // aborted meanwhile
          this.#written += batch.length;
          if (
            this.#transport.copiesWrites === true && pool.owns(batch.buffer)
          ) {
            // Written, and the transport is done with it: ours to fill
            // again (a second one goes back to the pool).
            if (this.#spare === undefined) {
              this.#spare = new Uint8Array(batch.buffer);
            } else pool.give(batch);
          }
        }
        // The texts wholly in it are written (one it holds only in part
        // goes on in the next batch).
        const done = this.#encoded;
        const admitted = this.#admitted;
        for (let i = 0; i < done; i++) admitted[i]!.resolve();
        admitted.splice(0, done);
        this.#encoded -= done;
        this.#admit(this.#closed);
        this.#onProgress?.();
      }
    } finally {
      this.#flushing = undefined;
      if (this.#spare !== undefined) pool.give(this.#spare);
      this.#spare = undefined;
    }
  }

  #fail(error: unknown): void {
    this.#failure = error;
    for (const w of this.#admitted.splice(0)) w.reject(error);
    for (const w of this.#waiting.splice(0)) w.reject(error);
    this.#encoded = 0;
    this.#offset = 0;
    if (this.#spare !== undefined) pool.give(this.#spare);
    this.#spare = undefined;
    this.#written = this.#accepted;
    this.#onProgress?.(error);
  }
}
