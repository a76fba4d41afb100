/**
 * The fuzzer's transport: the in-memory pair, each end pretending to start
 * TLS (the bytes stay as they are), reporting what it writes, remembering
 * whether it was closed, and able to fail on demand (a TLS handshake that
 * fails, a connection reset).
 *
 * @module
 */

import { memoryPair } from "../../src/transport/memory.ts";
import {
  type PeerAddress,
  type TlsInfo,
  type Transport,
  TransportError,
} from "../../src/transport/transport.ts";

/** What the pretend TLS upgrade reports. */
export const FAKE_TLS: TlsInfo = Object.freeze({
  protocol: "fake",
  cipher: undefined,
  peerCertificate: undefined,
  peerFingerprint256: undefined,
});

/** One end of a {@linkcode fuzzPair}. */
export class FuzzEnd implements Transport {
  readonly canStartTls = true;
  readonly remote: PeerAddress | undefined = undefined;
  #tls: TlsInfo | undefined;
  readonly #inner: Transport;
  #closed = false;
  #failTls = false;
  #reset: TransportError | undefined;
  #onReset: (() => void) | undefined;
  /** Called with every chunk this end writes (before it is delivered). */
  onWrite: ((bytes: Uint8Array) => void) | undefined;

  /** @param inner The memory end to wrap. */
  constructor(inner: Transport) {
    this.#inner = inner;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  get tls(): TlsInfo | undefined {
    return this.#tls;
  }

  /** Makes the next `startTls()` fail, as a handshake would. */
  failTls(): void {
    this.#failTls = true;
  }

  /** Resets the connection: reads (even a pending one) and writes reject. */
  reset(): void {
    this.#reset ??= new TransportError("Connection reset (fuzz)");
    this.#onReset?.();
  }

  read(): Promise<Uint8Array | null> {
    if (this.#reset) return Promise.reject(this.#reset);
    return new Promise((resolve, reject) => {
      const onReset = () => reject(this.#reset);
      this.#onReset = onReset;
      this.#inner.read().then(resolve, reject).finally(() => {
        if (this.#onReset === onReset) this.#onReset = undefined;
      });
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#reset) return Promise.reject(this.#reset);
    this.onWrite?.(bytes);
    return this.#inner.write(bytes);
  }

  startTls(): Promise<TlsInfo> {
    if (this.#reset) return Promise.reject(this.#reset);
    if (this.#failTls) {
      return Promise.reject(new TransportError("TLS handshake failed (fuzz)"));
    }
    this.#tls = FAKE_TLS;
    return Promise.resolve(FAKE_TLS);
  }

  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }

  close(): void {
    this.#closed = true;
    this.#inner.close();
  }
}

/**
 * Two connected ends that pretend to start TLS.
 *
 * @returns The two ends; what one writes, the other reads, chunk by chunk.
 */
export function fuzzPair(): [FuzzEnd, FuzzEnd] {
  const [a, b] = memoryPair();
  return [new FuzzEnd(a), new FuzzEnd(b)];
}
