/**
 * The one write queue of a stream: ordered, coalescing, and bounded in
 * bytes.
 *
 * @module
 */

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
// of each size (4 to 64 KiB) are kept; a stream holds one only while it
// writes, and a text sent alone takes a whole one only if the pool has it.
const pool = new BufferPool(8);

// Small texts taken while a write is under way are kept as text, up to
// this many UTF-16 code units, and encoded together (one encodeInto per
// batch rather than one per stanza). Each code unit is 1 to 3 bytes of
// UTF-8, so the queue's count in bytes stays exact wherever it decides.
const PENDING_UNITS = 8 * 1024;
const SMALL_TEXT = 1024;

interface Waiting {
  text: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Admitted {
  end: number; // cumulative byte count once its text is written
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Writes text to a transport in order. Text waits in line until the bytes
 * encoded and not yet written are under the bound, then is encoded (UTF-8,
 * straight into batches) and written; text that queues while a write is
 * under way goes out together, so that many small stanzas cost few writes.
 * `write()` resolves when its bytes were handed to the transport. A peer
 * that does not read makes text wait, never memory grow: the stream layer
 * stops reading the peer while the queue is {@linkcode WriteQueue.full}.
 */
export class WriteQueue {
  readonly #transport: Transport;
  readonly #onProgress: ((failure?: unknown) => void) | undefined;
  #waiting: Waiting[] = [];
  #admitted: Admitted[] = [];
  #batches: Uint8Array[] = []; // encoded, full
  #batch: Uint8Array | undefined; // being filled
  #batchLength = 0;
  #batchSize = 0; // of the last batch made since the queue was last empty
  // A batch made here whose write completed, to fill again while writes
  // follow each other (when the transport copies what it writes); given to
  // the shared pool when the queue empties, so an idle stream keeps none.
  #spare: Uint8Array | undefined;
  #accepted = 0; // bytes encoded so far
  #pending = ""; // small texts taken, not yet encoded
  #pendingUnits = 0; // their length in UTF-16 code units
  #pendingTexts = 0; // how many: the last entries of #admitted
  #written = 0; // bytes handed to the transport so far
  #flushing: Promise<void> | undefined;
  #failure: unknown;
  #closed = false;

  /**
   * Makes a queue.
   *
   * @param transport Where the bytes go.
   * @param limit Bytes encoded and not yet written above which text waits
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
   * Bytes encoded and not yet handed to the transport.
   *
   * @returns The count.
   */
  get queuedBytes(): number {
    this.#encodePending();
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

  /**
   * Whether fewer bytes than the bound are queued: decided on the bounds
   * of the text not yet encoded (1 to 3 bytes a code unit) when they
   * suffice, else on the exact count once it is encoded.
   */
  #hasRoom(): boolean {
    const units = this.#pendingUnits;
    const least = this.#accepted - this.#written + units;
    if (least >= this.limit) return false;
    if (least + 2 * units < this.limit) return true;
    this.#encodePending();
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

  /** Encodes waiting text while there is room (or all of it, at the end). */
  #admit(all = false): void {
    const waiting = this.#waiting;
    let taken = 0;
    while (
      taken < waiting.length && (all || this.#hasRoom())
    ) {
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
    if (this.#flushing !== undefined && text.length <= SMALL_TEXT) {
      // A write is under way: kept as text until the next batch is made.
      this.#pending += text;
      this.#pendingUnits += text.length;
      this.#pendingTexts++;
      this.#admitted.push({ end: Infinity, resolve, reject });
      if (this.#pendingUnits >= PENDING_UNITS) this.#encodePending();
      return;
    }
    this.#encodePending();
    this.#encode(text);
    this.#admitted.push({ end: this.#accepted, resolve, reject });
  }

  /** Encodes the small texts kept as text; each then ends with all of them. */
  #encodePending(): void {
    if (this.#pendingTexts === 0) return;
    this.#encode(this.#pending);
    const admitted = this.#admitted;
    for (
      let i = admitted.length - this.#pendingTexts;
      i < admitted.length;
      i++
    ) {
      admitted[i]!.end = this.#accepted;
    }
    this.#pending = "";
    this.#pendingUnits = 0;
    this.#pendingTexts = 0;
  }

  #encode(text: string): void {
    if (
      this.#flushing === undefined && this.#batch === undefined &&
      this.#batches.length === 0 && text.length * 3 <= BATCH_BYTES
    ) {
      // Nothing queued: this text goes out alone, in a batch the pool has
      // (when the transport copies what it writes), else encoded to its
      // size: a stream that sends little never allocates a whole batch.
      const reused = this.#transport.copiesWrites === true
        ? pool.reuse(BATCH_BYTES)
        : undefined;
      const bytes = reused === undefined
        ? encoder.encode(text)
        : reused.subarray(0, encoder.encodeInto(text, reused).written);
      this.#batches.push(bytes);
      this.#accepted += bytes.length;
      return;
    }
    // Straight into batches of at most BATCH_BYTES, each one write: a text
    // that does not fit the room left goes on in the next batch, so a large
    // text is never encoded (nor written) whole.
    if (text === "") return;
    let rest = text;
    for (;;) {
      const batch = this.#batch ?? this.#newBatch(rest.length * 3);
      const { read, written } = encoder.encodeInto(
        rest,
        batch.subarray(this.#batchLength),
      );
      this.#batchLength += written;
      this.#accepted += written;
      if (read === rest.length) return;
      this.#seal(); // full: the rest goes in the next one
      rest = rest.slice(read);
    }
  }

  /**
   * Starts a batch for text of at most `need` bytes: small while writes are
   * sparse, growing while they come in bursts (a stream that sends little
   * never allocates, nor keeps in the allocator, a large batch).
   */
  #newBatch(need: number): Uint8Array {
    this.#batchLength = 0;
    const size = Math.min(
      BATCH_BYTES,
      Math.max(FIRST_BATCH_BYTES, need, this.#batchSize * 2),
    );
    this.#batchSize = size;
    if (this.#transport.copiesWrites !== true) {
      return this.#batch = new Uint8Array(size);
    }
    // Filled again once written: this stream's last batch, else a whole one
    // from the pool, else one of the size the burst has grown to (given to
    // the pool too once written).
    const spare = this.#spare ?? pool.reuse(BATCH_BYTES);
    this.#spare = undefined;
    if (spare !== undefined && spare.length >= size) return this.#batch = spare;
    if (spare !== undefined) pool.give(spare);
    return this.#batch = pool.take(size);
  }

  /** Closes the batch being filled. */
  #seal(): void {
    if (this.#batch !== undefined && this.#batchLength > 0) {
      this.#batches.push(this.#batch.subarray(0, this.#batchLength));
    }
    this.#batch = undefined;
    this.#batchLength = 0;
  }

  async #flush(): Promise<void> {
    try {
      for (;;) {
        this.#encodePending();
        this.#seal();
        const batch = this.#batches.shift();
        if (batch === undefined) break;
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
          // Written, and the transport is done with it: ours to fill again
          // (a second one goes back to the pool).
          if (this.#spare === undefined) {
            this.#spare = new Uint8Array(batch.buffer);
          } else pool.give(batch);
        }
        const admitted = this.#admitted;
        let done = 0;
        while (done < admitted.length && admitted[done]!.end <= this.#written) {
          admitted[done++]!.resolve();
        }
        admitted.splice(0, done);
        this.#admit(this.#closed);
        this.#onProgress?.();
      }
    } finally {
      this.#flushing = undefined;
      this.#batchSize = 0;
      if (this.#spare !== undefined) pool.give(this.#spare);
      this.#spare = undefined;
    }
  }

  #fail(error: unknown): void {
    this.#failure = error;
    for (const w of this.#admitted.splice(0)) w.reject(error);
    for (const w of this.#waiting.splice(0)) w.reject(error);
    this.#batches = [];
    this.#batch = undefined;
    this.#batchLength = 0;
    if (this.#spare !== undefined) pool.give(this.#spare);
    this.#spare = undefined;
    this.#pending = "";
    this.#pendingUnits = 0;
    this.#pendingTexts = 0;
    this.#written = this.#accepted;
    this.#onProgress?.(error);
  }
}
