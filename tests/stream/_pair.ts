// The in-memory transport pair of src/transport/memory.ts, with each end
// wrapped so that tests can see what it wrote and replace its methods (to
// hold back writes, stop reading, or pretend to start TLS).

import { memoryPair } from "../../src/transport/memory.ts";
import { concat } from "../xml/_mutations.ts";
import {
  type PeerAddress,
  type TlsInfo,
  type Transport,
  TransportError,
} from "../../src/transport/transport.ts";

/** What a pretend TLS upgrade reports. */
export const FAKE_TLS: TlsInfo = Object.freeze({
  protocol: "fake",
  cipher: undefined,
  peerCertificate: undefined,
  peerFingerprint256: undefined,
});

/** One end of a {@linkcode pair} or a {@linkcode fakeTlsPair}. */
export class End implements Transport {
  readonly #inner: Transport;
  readonly #fakeTls: boolean;
  #tls: TlsInfo | undefined;
  #closed = false;
  #failTls = false;
  #reset: TransportError | undefined;
  #onReset: (() => void) | undefined;
  /** Chunks written by this end, for assertions. */
  readonly written: Uint8Array[] = [];
  /** Called with every chunk this end writes (before it is delivered). */
  onWrite: ((bytes: Uint8Array) => void) | undefined;

  /** Everything this end wrote, decoded. */
  writtenText(): string {
    return new TextDecoder().decode(concat(...this.written));
  }

  constructor(inner: Transport, fakeTls: boolean) {
    this.#inner = inner;
    this.#fakeTls = fakeTls;
  }

  get canStartTls(): boolean {
    return this.#fakeTls || this.#inner.canStartTls;
  }

  get remote(): PeerAddress | undefined {
    return this.#inner.remote;
  }

  get tls(): TlsInfo | undefined {
    return this.#tls ?? this.#inner.tls;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Makes the next pretend TLS upgrade fail, as a handshake would. */
  failTls(): void {
    this.#failTls = true;
  }

  /** Resets the connection: reads (even a pending one) and writes reject. */
  reset(): void {
    this.#reset ??= new TransportError("Connection reset (test)");
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
    this.written.push(bytes.slice());
    this.onWrite?.(bytes);
    return this.#inner.write(bytes);
  }

  startTls(): Promise<TlsInfo> {
    if (this.#reset) return Promise.reject(this.#reset);
    if (!this.#fakeTls) return this.#inner.startTls();
    if (this.#failTls) {
      return Promise.reject(new TransportError("TLS handshake failed (test)"));
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

/** Two connected ends. */
export function pair(): [End, End] {
  const [a, b] = memoryPair();
  return [new End(a, false), new End(b, false)];
}

/**
 * Two connected ends that pretend to start TLS (the bytes stay as they
 * are); `failTls()` and `reset()` break them on demand.
 */
export function fakeTlsPair(): [End, End] {
  const [a, b] = memoryPair();
  return [new End(a, true), new End(b, true)];
}
