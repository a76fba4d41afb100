/**
 * The one write queue of a stream: ordered, coalescing, and bounded.
 *
 * @module
 */

import type { Transport } from "../transport/transport.ts";

const encoder = new TextEncoder();

/**
 * Writes text to a transport in order. Text queued while a write is under
 * way goes out together in the next write, so that many small stanzas cost
 * few writes; `write()` resolves when its text was handed to the transport.
 * Once closed or failed, it refuses more text.
 */
export class WriteQueue {
  readonly #transport: Transport;
  #pending: string[] = [];
  #waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #pendingBytes = 0;
  #flushing: Promise<void> | undefined;
  #failure: unknown;
  #closed = false;

  /**
   * Makes a queue.
   *
   * @param transport Where the bytes go.
   * @param maxQueuedChars Refuse text beyond this many queued UTF-16 units.
   * @param onText Called with each batch written (for the trace).
   */
  constructor(
    transport: Transport,
    readonly maxQueuedChars: number = 16 * 1024 * 1024,
    readonly onText?: (text: string) => void,
  ) {
    this.#transport = transport;
  }

  /**
   * Queues text.
   *
   * @param text Serialized XML.
   * @returns Resolves once written.
   */
  write(text: string): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed) {
      return Promise.reject(
        new TypeError("Cannot send: the stream is closing"),
      );
    }
    if (this.#pendingBytes + text.length > this.maxQueuedChars) {
      return Promise.reject(
        new RangeError(
          `Cannot send: more than ${this.maxQueuedChars} characters are queued`,
        ),
      );
    }
    this.#pending.push(text);
    this.#pendingBytes += text.length;
    const done = new Promise<void>((resolve, reject) =>
      this.#waiters.push({ resolve, reject })
    );
    this.#flushing ??= this.#flush();
    return done;
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
   * Refuses more text; what is queued is still written.
   *
   * @param text A last piece of text to write after the queue (the stream
   * close tag), or none.
   * @returns Resolves when all of it was written.
   */
  async end(text?: string): Promise<void> {
    const last = text === undefined ? undefined : this.write(text);
    this.#closed = true;
    await last;
    await this.drain();
  }

  async #flush(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const batch = this.#pending;
        const waiters = this.#waiters;
        this.#pending = [];
        this.#waiters = [];
        this.#pendingBytes = 0;
        const text = batch.length === 1 ? batch[0]! : batch.join("");
        try {
          this.onText?.(text);
          await this.#transport.write(encoder.encode(text));
        } catch (error) {
          this.#failure = error;
          for (const w of waiters) w.reject(error);
          for (const w of this.#waiters) w.reject(error);
          this.#waiters = [];
          this.#pending = [];
          return;
        }
        for (const w of waiters) w.resolve();
      }
    } finally {
      this.#flushing = undefined;
    }
  }
}
