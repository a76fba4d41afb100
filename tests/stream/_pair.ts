// The in-memory transport pair of src/transport/memory.ts, with each end
// wrapped so that tests can see what it wrote and replace its methods (to
// hold back writes, stop reading, or pretend to start TLS).

import { memoryPair } from "../../src/transport/memory.ts";
import { concat } from "../xml/_mutations.ts";
import type {
  PeerAddress,
  TlsInfo,
  Transport,
} from "../../src/transport/transport.ts";

class End implements Transport {
  readonly #inner: Transport;
  /** Chunks written by this end, for assertions. */
  readonly written: Uint8Array[] = [];

  /** Everything this end wrote, decoded. */
  writtenText(): string {
    return new TextDecoder().decode(concat(...this.written));
  }

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  get canStartTls(): boolean {
    return this.#inner.canStartTls;
  }

  get remote(): PeerAddress | undefined {
    return this.#inner.remote;
  }

  get tls(): TlsInfo | undefined {
    return this.#inner.tls;
  }

  read(): Promise<Uint8Array | null> {
    return this.#inner.read();
  }

  write(bytes: Uint8Array): Promise<void> {
    this.written.push(bytes.slice());
    return this.#inner.write(bytes);
  }

  startTls(): Promise<TlsInfo> {
    return this.#inner.startTls();
  }

  closeWrite(): Promise<void> {
    return this.#inner.closeWrite();
  }

  close(): void {
    this.#inner.close();
  }
}

/** Two connected ends. */
export function pair(): [End, End] {
  const [a, b] = memoryPair();
  return [new End(a), new End(b)];
}

/** Two connected ends that pretend to start TLS (the bytes stay as they are). */
export function fakeTlsPair(): [End, End] {
  const [a, b] = pair();
  for (const end of [a, b]) {
    Object.defineProperty(end, "canStartTls", { value: true });
    end.startTls = () =>
      Promise.resolve({
        protocol: "fake",
        cipher: undefined,
        peerCertificate: undefined,
        peerFingerprint256: undefined,
      });
  }
  return [a, b];
}
