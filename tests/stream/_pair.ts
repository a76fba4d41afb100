// A minimal in-memory transport pair for stream tests (no TLS), with hooks
// to tamper with or hold back what crosses it.

import type { TlsInfo, Transport } from "../../src/transport/transport.ts";
import { TransportError } from "../../src/transport/transport.ts";

class End implements Transport {
  readonly canStartTls = false;
  readonly remote = undefined;
  readonly tls: TlsInfo | undefined = undefined;
  peer!: End;
  #queue: (Uint8Array | null)[] = [];
  #waiting: ((chunk: Uint8Array | null) => void) | undefined;
  #closed = false;
  /** Chunks written by this end, for assertions. */
  written: Uint8Array[] = [];

  read(): Promise<Uint8Array | null> {
    if (this.#closed) return Promise.resolve(null);
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    return new Promise((resolve) => this.#waiting = resolve);
  }

  push(chunk: Uint8Array | null): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting) {
      this.#waiting = undefined;
      waiting(chunk);
    } else this.#queue.push(chunk);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new TransportError("Cannot write: closed"));
    }
    this.written.push(bytes);
    this.peer.push(bytes.slice());
    return Promise.resolve();
  }

  startTls(): Promise<TlsInfo> {
    return Promise.reject(new TransportError("No TLS in memory"));
  }

  closeWrite(): Promise<void> {
    this.peer.push(null);
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.peer.push(null);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(null);
  }
}

/** Two connected ends. */
export function pair(): [End, End] {
  const a = new End();
  const b = new End();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
