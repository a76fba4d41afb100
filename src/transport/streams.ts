/**
 * A transport over an application's own pair of web streams.
 *
 * @module
 */

import { refuseTls } from "./_no_tls.ts";
import {
  type PeerAddress,
  type TlsInfo,
  type Transport,
  TransportError,
} from "./transport.ts";

/** Options for {@linkcode fromStreams}. */
export interface FromStreamsOptions {
  /** The other end, if the application knows it. */
  remote?: PeerAddress;
}

class StreamsTransport implements Transport {
  readonly canStartTls = false;
  readonly tls: TlsInfo | undefined = undefined;
  readonly remote: PeerAddress | undefined;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reading = false;
  #writeClosed = false;
  #closed = false;

  constructor(
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
    remote: PeerAddress | undefined,
  ) {
    this.#reader = readable.getReader();
    this.#writer = writable.getWriter();
    this.remote = remote;
    // Failures surface on the calls; these promises must not go unhandled.
    this.#reader.closed.catch(() => {});
    this.#writer.closed.catch(() => {});
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#reading) {
      throw new TransportError("Cannot read: a read is already pending");
    }
    if (this.#closed) return null;
    this.#reading = true;
    try {
      for (;;) {
        const { done, value } = await this.#reader.read();
        if (done || this.#closed) return null;
        if (value.length > 0) return value;
      }
    } catch (cause) {
      if (this.#closed) return null;
      throw new TransportError("Cannot read: the stream failed", { cause });
    } finally {
      this.#reading = false;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#closed || this.#writeClosed) {
      throw new TransportError("Cannot write: closed for writing");
    }
    try {
      await this.#writer.write(bytes);
    } catch (cause) {
      throw new TransportError("Cannot write: the stream failed", { cause });
    }
  }

  startTls(): Promise<TlsInfo> {
    return refuseTls("A transport over web streams");
  }

  async closeWrite(): Promise<void> {
    if (this.#writeClosed || this.#closed) return;
    this.#writeClosed = true;
    try {
      await this.#writer.close();
    } catch (cause) {
      throw new TransportError("Cannot close the stream for writing", {
        cause,
      });
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader.cancel().catch(() => {});
    if (!this.#writeClosed) {
      this.#writeClosed = true;
      this.#writer.abort().catch(() => {});
    }
  }
}

/**
 * Makes a transport over a readable and a writable byte stream, such as the
 * two halves of a WebSocketStream, a child process's stdout and stdin, or a
 * `TransformStream` pair in a test. Reads pull one chunk from `readable`
 * (empty chunks are skipped); writes wait for `writable` to take the bytes.
 * `closeWrite()` closes `writable`; `close()` cancels `readable` and aborts
 * `writable` if it was not closed yet. There is no TLS: `canStartTls` is
 * `false` and `startTls()` rejects with a {@linkcode TransportError}.
 *
 * @example Two transports joined by two TransformStreams
 * ```ts
 * import { fromStreams } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const there = new TransformStream<Uint8Array, Uint8Array>();
 * const back = new TransformStream<Uint8Array, Uint8Array>();
 * const a = fromStreams(back.readable, there.writable);
 * const b = fromStreams(there.readable, back.writable);
 * const sent = a.write(new TextEncoder().encode("ping"));
 * assert.equal(new TextDecoder().decode((await b.read())!), "ping");
 * await sent;
 * a.close();
 * b.close();
 * ```
 *
 * @param readable Where the peer's bytes come from.
 * @param writable Where this end's bytes go.
 * @param options The peer's address, if known.
 * @returns The transport. It holds both streams' locks until closed.
 */
export function fromStreams(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
  options: FromStreamsOptions = {},
): Transport {
  return new StreamsTransport(readable, writable, options.remote);
}
