/**
 * Two transports joined in memory, for tests and for endpoints in one
 * process.
 *
 * @module
 */

import { refuseTls } from "./_no_tls.ts";
import { type TlsInfo, type Transport, TransportError } from "./transport.ts";

class MemoryEnd implements Transport {
  readonly canStartTls = false;
  readonly copiesWrites = true; // write() delivers a copy
  readonly remote = undefined;
  readonly tls: TlsInfo | undefined = undefined;
  peer: MemoryEnd | undefined;
  // What the peer wrote and this end has not read; null is the peer's end.
  #queue: (Uint8Array | null)[] = [];
  #waiting: ((chunk: Uint8Array | null) => void) | undefined;
  #writeClosed = false;
  #closed = false;

  read(): Promise<Uint8Array | null> {
    if (this.#waiting !== undefined) {
      return Promise.reject(
        new TransportError("Cannot read: a read is already pending"),
      );
    }
    if (this.#closed) return Promise.resolve(null);
    if (this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      if (next === null) this.#queue.push(null); // the end stays the end
      return Promise.resolve(next);
    }
    return new Promise((resolve) => this.#waiting = resolve);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed || this.#writeClosed) {
      return Promise.reject(
        new TransportError("Cannot write: this end is closed for writing"),
      );
    }
    if (bytes.length > 0) this.peer?.deliver(bytes.slice());
    return Promise.resolve();
  }

  startTls(): Promise<TlsInfo> {
    return refuseTls("An in-memory transport");
  }

  closeWrite(): Promise<void> {
    if (!this.#writeClosed && !this.#closed) {
      this.#writeClosed = true;
      this.peer?.deliver(null);
    }
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    if (!this.#writeClosed) {
      this.#writeClosed = true;
      this.peer?.deliver(null);
    }
    this.#closed = true;
    this.#queue = [];
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(null);
  }

  deliver(chunk: Uint8Array | null): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting(chunk);
      if (chunk === null) this.#queue.push(null);
    } else this.#queue.push(chunk);
  }
}

/**
 * Makes two transports joined in memory: what one writes, the other reads,
 * in order. Writes never wait (nothing bounds what is queued), `closeWrite()`
 * ends the other side's reading, and `close()` does both for this end.
 * There is no TLS: `canStartTls` is `false` and `startTls()` rejects with a
 * {@linkcode TransportError}, so a stream over this pair must turn TLS off by
 * name.
 *
 * @example Echo through a pair
 * ```ts
 * import { memoryPair } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = memoryPair();
 * await a.write(new TextEncoder().encode("ping"));
 * assert.equal(new TextDecoder().decode((await b.read())!), "ping");
 * await a.closeWrite();
 * assert.equal(await b.read(), null);
 * a.close();
 * b.close();
 * ```
 *
 * @returns The two ends.
 */
export function memoryPair(): [Transport, Transport] {
  const a = new MemoryEnd();
  const b = new MemoryEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
