// The one TCP transport behind connectTcp(), connectTcpNode() and
// listenTcp(): a Deno.Conn read one chunk at a time, only when asked, and
// upgraded in place by a TLS channel (rustls through Deno.startTls, or
// node:tls over the same connection).

import { BufferPool } from "./_buffer_pool.ts";
import {
  type PeerAddress,
  type TlsInfo,
  type Transport,
  TransportError,
} from "./transport.ts";

/** A TransportError that tells its cause's message too. */
export function failure(message: string, cause: unknown): TransportError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new TransportError(message + detail, { cause });
}

/**
 * Writes all of `bytes` to a connection (a write may take part of them).
 *
 * @throws {TransportError} When the connection fails.
 */
export async function writeAll(
  conn: { write(p: Uint8Array): Promise<number> },
  bytes: Uint8Array,
): Promise<void> {
  try {
    let offset = 0;
    while (offset < bytes.length) {
      offset += await conn.write(bytes.subarray(offset));
    }
  } catch (cause) {
    throw failure("Cannot write", cause);
  }
}

/** A connection after STARTTLS: what the transport reads and writes through. */
export interface TlsChannel {
  /** What the handshake negotiated. */
  readonly info: TlsInfo;
  /** The next decrypted chunk, or null at the end. */
  read(): Promise<Uint8Array | null>;
  /** Takes back a chunk `read()` returned that nothing refers to any more. */
  release?(chunk: Uint8Array): void;
  /** Encrypts and writes; resolves once the connection took the bytes. */
  write(bytes: Uint8Array): Promise<void>;
  /** Whether a write is done with its bytes once it resolved. */
  readonly copiesWrites?: boolean;
  /** Sends close_notify and half-closes the connection. */
  closeWrite(): Promise<void>;
  /** Closes everything. Idempotent; a pending read then resolves null. */
  close(): void;
}

/**
 * What a {@linkcode ConnTransport} and the `node:tls` channel use of a
 * connection: a `Deno.Conn`, or any byte stream shaped like one (an
 * in-band bytestream, say).
 */
export type ByteConn = Pick<
  Deno.Conn,
  "read" | "write" | "closeWrite" | "close" | "remoteAddr"
>;

/**
 * Starts TLS on a connection nobody reads or writes any more; bytes the
 * system holds for it were received after the last read and go to TLS.
 * Rejects with a TransportError (and has closed the connection) when the
 * handshake fails or `signal` aborts it (the transport was closed).
 */
export type StartTls<C extends ByteConn = Deno.Conn> = (
  conn: C,
  signal: AbortSignal,
) => Promise<TlsChannel>;

const MIN_READ = 1024;
const MAX_READ = 64 * 1024;

// Read buffers (2 to 64 KiB) whose bytes were taken, shared by every
// connection of the process, at most four of each size.
const pool = new BufferPool(4);

/**
 * Reads a connection into buffers sized to what it delivers: a read that
 * fills its buffer doubles the next one (up to 64 KiB), a read that uses
 * less than a quarter halves it (down to 1 KiB). A read that follows one
 * that did not fill its buffer (the connection had nothing more) is likely
 * to wait: it gets a 1 KiB buffer, and if that comes back full the next
 * read has the size again. So an idle connection, whose read waits, holds
 * only a small buffer, even right after a burst; a busy one reads in large
 * chunks.
 */
export class Reads {
  readonly #min: number;
  #size: number;
  #drained = true; // the last read did not fill its buffer
  #buffer: Uint8Array | undefined; // a small one, kept for the next read

  /**
   * @param minRead The smallest buffer, the one a read that is likely to
   *   wait gets: 1 KiB unless told.
   */
  constructor(minRead = MIN_READ) {
    this.#min = minRead;
    this.#size = minRead;
  }

  /**
   * Reads the next chunk of `reader`.
   *
   * @returns The bytes (a copy when they fill little of the buffer), or
   *   null at the end.
   */
  next(
    reader: { read(p: Uint8Array): Promise<number | null> },
  ): Promise<Uint8Array | null> {
    const probe = this.#drained;
    const buffer = probe
      ? this.#buffer ?? new Uint8Array(this.#min)
      : pool.take(this.#size);
    this.#buffer = undefined;
    // Not an async function: the read an idle connection leaves pending
    // then holds a callback, not a suspended function with its frame.
    let read: Promise<number | null>;
    try {
      read = reader.read(buffer);
    } catch (error) {
      return Promise.reject(error);
    }
    return read.then((n) => this.#took(buffer, probe, n));
  }

  /** What a read of `n` bytes into `buffer` hands out. */
  #took(
    buffer: Uint8Array,
    probe: boolean,
    n: number | null,
  ): Uint8Array | null {
    if (n === null) return null;
    if (n === buffer.length) {
      this.#drained = false;
      if (!probe) this.#size = Math.min(MAX_READ, this.#size * 2);
      return buffer; // handed out whole; the next read gets another
    }
    this.#drained = true;
    if (!probe && n < buffer.length >> 2) {
      this.#size = Math.max(this.#min, this.#size >> 1);
    }
    if (n >= buffer.length >> 1) return buffer.subarray(0, n);
    // Little of it used: copy, and keep a small buffer for the next read.
    const chunk = buffer.slice(0, n);
    if (buffer.length === this.#min) this.#buffer = buffer;
    else pool.give(buffer); // copied out of it: nothing refers to it
    return chunk;
  }

  /**
   * Gives back a chunk that {@linkcode next} handed out and that nothing
   * refers to any more (its bytes were copied): a later read that needs a
   * buffer of its size, on this connection or another, fills it again
   * instead of allocating one. Anything else (a copy, a view of another
   * buffer, a buffer already given back) is left alone.
   *
   * @param chunk The chunk, as `next` returned it.
   */
  recycle(chunk: Uint8Array): void {
    if (chunk.byteOffset === 0) pool.give(chunk);
  }
}

function peerOf(conn: ByteConn): PeerAddress | undefined {
  const addr = conn.remoteAddr;
  return addr.transport === "tcp"
    ? { hostname: addr.hostname, port: addr.port }
    : undefined;
}

/**
 * A TCP connection as a {@linkcode Transport}. Reads are pulled: nothing is
 * read from the system until `read()` is called, so when `startTls()` is
 * called whatever arrived after the last read is still in the system's
 * buffer and goes to TLS as ciphertext (where plaintext fails the
 * handshake), and a peer whose data nobody reads is held back by TCP.
 */
export class ConnTransport<C extends ByteConn = Deno.Conn>
  implements Transport {
  readonly remote: PeerAddress | undefined;
  readonly canStartTls: boolean;
  readonly #startTls: StartTls<C> | undefined;
  #reads: Reads | undefined = new Reads();
  #abort: AbortController | undefined; // while TLS starts
  #conn: C;
  #channel: TlsChannel | undefined;
  #reading = false;
  #upgrading = false;
  #chain: Promise<void> = Promise.resolve();
  #writeClosed = false;
  #closed = false;
  #refusal: string;
  readonly #connCopies: boolean;

  /**
   * Wraps a connection.
   *
   * @param conn The connection.
   * @param startTls How to start TLS, or undefined when this end cannot.
   * @param refusal Why it cannot, as the start of a sentence.
   * @param connCopies Whether a write to `conn` is done with its bytes once
   *   it resolved (a Deno.Conn: the system took them).
   */
  constructor(
    conn: C,
    startTls: StartTls<C> | undefined,
    refusal = "This transport",
    connCopies = false,
  ) {
    this.#conn = conn;
    this.#connCopies = connCopies;
    this.#startTls = startTls;
    this.#refusal = refusal;
    this.canStartTls = startTls !== undefined;
    this.remote = peerOf(conn);
  }

  get tls(): TlsInfo | undefined {
    return this.#channel?.info;
  }

  get copiesWrites(): boolean {
    const channel = this.#channel;
    return channel === undefined
      ? this.#connCopies
      : channel.copiesWrites === true;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#reading) {
      return Promise.reject(
        new TransportError("Cannot read: a read is already pending"),
      );
    }
    if (this.#upgrading) {
      return Promise.reject(
        new TransportError("Cannot read while TLS is starting"),
      );
    }
    if (this.#closed) return Promise.resolve(null);
    this.#reading = true;
    // Not an async function: see Reads.next().
    let read: Promise<Uint8Array | null>;
    try {
      read = this.#channel !== undefined
        ? this.#channel.read()
        : (this.#reads ??= new Reads()).next(this.#conn);
    } catch (cause) {
      read = Promise.reject(cause);
    }
    return read.then(this.#onRead, this.#onReadFailure);
  }

  readonly #onRead = (chunk: Uint8Array | null): Uint8Array | null => {
    this.#reading = false;
    return this.#closed ? null : chunk;
  };

  readonly #onReadFailure = (cause: unknown): null => {
    this.#reading = false;
    if (this.#closed) return null;
    if (cause instanceof TransportError) throw cause;
    throw failure("Cannot read", cause);
  };

  release(chunk: Uint8Array): void {
    if (this.#channel !== undefined) this.#channel.release?.(chunk);
    else this.#reads?.recycle(chunk);
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed || this.#writeClosed) {
      return Promise.reject(
        new TransportError("Cannot write: the transport is closed for writing"),
      );
    }
    const written = this.#chain.then(() => this.#writeNow(bytes));
    this.#chain = written.catch(() => {});
    return written;
  }

  startTls(): Promise<TlsInfo> {
    const startTls = this.#startTls;
    if (startTls === undefined) {
      return Promise.reject(
        new TransportError(
          `${this.#refusal} cannot do TLS; turn TLS off by name (tls: "off") to use it`,
        ),
      );
    }
    let refusal: string | undefined;
    if (this.#closed) refusal = "Cannot start TLS: the transport is closed";
    else if (this.#channel !== undefined || this.#upgrading) {
      refusal = "Cannot start TLS twice";
    } else if (this.#reading) {
      refusal = "Cannot start TLS while a read is pending";
    }
    if (refusal !== undefined) {
      return Promise.reject(new TransportError(refusal));
    }
    this.#upgrading = true;
    const upgraded = this.#chain.then(() => this.#upgrade(startTls));
    this.#chain = upgraded.then(() => {}, () => {});
    return upgraded.finally(() => this.#upgrading = false);
  }

  async closeWrite(): Promise<void> {
    if (this.#closed || this.#writeClosed) return;
    this.#writeClosed = true;
    await this.#chain;
    if (this.#closed) return;
    try {
      if (this.#channel !== undefined) await this.#channel.closeWrite();
      else await this.#conn.closeWrite();
    } catch (cause) {
      if (!this.#closed) throw failure("Cannot close for writing", cause);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeClosed = true;
    this.#abort?.abort();
    if (this.#channel !== undefined) this.#channel.close();
    else {
      try {
        this.#conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  async #writeNow(bytes: Uint8Array): Promise<void> {
    if (this.#closed) {
      throw new TransportError("Cannot write: the transport is closed");
    }
    if (this.#channel !== undefined) return await this.#channel.write(bytes);
    await writeAll(this.#conn, bytes);
  }

  async #upgrade(startTls: StartTls<C>): Promise<TlsInfo> {
    if (this.#closed) {
      throw new TransportError("Cannot start TLS: the transport is closed");
    }
    let channel: TlsChannel;
    // close() aborts the start; none is kept once TLS runs.
    const abort = this.#abort = new AbortController();
    try {
      channel = await startTls(this.#conn, abort.signal);
    } catch (error) {
      this.#closed = true;
      this.#writeClosed = true;
      try {
        this.#conn.close();
      } catch {
        // The TLS start closed it.
      }
      throw error instanceof TransportError
        ? error
        : failure("Cannot start TLS", error);
    } finally {
      this.#abort = undefined;
    }
    if (this.#closed) {
      // Closed while the handshake ran: the new channel is ours to close.
      channel.close();
      throw new TransportError("Cannot start TLS: the transport is closed");
    }
    this.#channel = channel;
    this.#reads = undefined; // the channel reads from now on
    return channel.info;
  }
}
