/**
 * TCP with `Deno.connect`, upgraded in place with `Deno.startTls`: the
 * initiator's transport on Deno's own TLS (rustls).
 *
 * @module
 */

import {
  type PeerAddress,
  type TlsInfo,
  type Transport,
  TransportError,
} from "./transport.ts";
import { CertificateError } from "./cert_policy.ts";
import { rustlsReason } from "./_cert_rules.ts";

/** TLS settings of {@linkcode connectTcp}. */
export interface DenoTlsOptions {
  /**
   * The name the peer's certificate must be valid for, also sent as SNI.
   * Defaults to the host name connected to.
   */
  serverName?: string;
  /**
   * Trust anchors (PEM) instead of the default root store. A self-signed
   * leaf (`CA:false`) may be its own anchor; rustls refuses a `CA:true`
   * certificate used as a leaf.
   */
  caCerts?: string[];
}

/** Options for {@linkcode connectTcp}. */
export interface ConnectTcpOptions {
  /** The host to connect to. */
  hostname: string;
  /** The port to connect to. */
  port: number;
  /** How `startTls()` verifies the peer. Defaults to the root store. */
  tls?: DenoTlsOptions;
}

const READ_SIZE = 16 * 1024;

function failure(message: string, cause: unknown): TransportError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new TransportError(message + detail, { cause });
}

// A rustls refusal of the peer's certificate becomes a CertificateError with
// the policy's reason; anything else stays a TransportError.
function tlsFailure(message: string, cause: unknown): TransportError {
  const reason = cause instanceof Error
    ? rustlsReason(cause.message)
    : undefined;
  if (reason === undefined) return failure(message, cause);
  return new CertificateError(
    reason,
    `The peer's certificate was refused: ${(cause as Error).message}`,
    { cause },
  );
}

class DenoTcpTransport implements Transport {
  readonly canStartTls = true;
  readonly remote: PeerAddress;
  readonly #hostname: string;
  readonly #options: DenoTlsOptions;
  readonly #buffer = new Uint8Array(READ_SIZE);
  #conn: Deno.Conn;
  #reading = false;
  #upgrading = false;
  #chain: Promise<void> = Promise.resolve();
  #writeClosed = false;
  #closed = false;
  #tls: TlsInfo | undefined;

  constructor(conn: Deno.TcpConn, hostname: string, options: DenoTlsOptions) {
    this.#conn = conn;
    this.#hostname = hostname;
    this.#options = options;
    this.remote = {
      hostname: conn.remoteAddr.hostname,
      port: conn.remoteAddr.port,
    };
  }

  get tls(): TlsInfo | undefined {
    return this.#tls;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#reading) {
      throw new TransportError("Cannot read: a read is already pending");
    }
    if (this.#upgrading) {
      throw new TransportError("Cannot read while TLS is starting");
    }
    if (this.#closed) return null;
    this.#reading = true;
    try {
      const n = await this.#conn.read(this.#buffer);
      if (n === null || this.#closed) return null;
      return this.#buffer.slice(0, n);
    } catch (cause) {
      if (this.#closed) return null;
      throw failure("Cannot read", cause);
    } finally {
      this.#reading = false;
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed || this.#writeClosed) {
      return Promise.reject(
        new TransportError("Cannot write: the transport is closed for writing"),
      );
    }
    const written = this.#chain.then(() => this.#writeAll(bytes));
    this.#chain = written.catch(() => {});
    return written;
  }

  startTls(): Promise<TlsInfo> {
    let refusal: string | undefined;
    if (this.#closed) refusal = "Cannot start TLS: the transport is closed";
    else if (this.#tls !== undefined || this.#upgrading) {
      refusal = "Cannot start TLS twice";
    } else if (this.#reading) {
      refusal = "Cannot start TLS while a read is pending";
    }
    if (refusal !== undefined) {
      return Promise.reject(new TransportError(refusal));
    }
    this.#upgrading = true;
    const upgraded = this.#chain.then(() => this.#upgrade());
    this.#chain = upgraded.then(() => {}, () => {});
    return upgraded.finally(() => this.#upgrading = false);
  }

  async closeWrite(): Promise<void> {
    if (this.#closed || this.#writeClosed) return;
    this.#writeClosed = true;
    await this.#chain;
    if (this.#closed) return;
    try {
      await this.#conn.closeWrite();
    } catch (cause) {
      if (!this.#closed) throw failure("Cannot close for writing", cause);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeClosed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    if (this.#closed) {
      throw new TransportError("Cannot write: the transport is closed");
    }
    try {
      let offset = 0;
      while (offset < bytes.length) {
        offset += await this.#conn.write(bytes.subarray(offset));
      }
    } catch (cause) {
      throw failure("Cannot write", cause);
    }
  }

  async #upgrade(): Promise<TlsInfo> {
    if (this.#closed) {
      throw new TransportError("Cannot start TLS: the transport is closed");
    }
    let conn: Deno.TlsConn;
    try {
      const options: Deno.StartTlsOptions = {
        hostname: this.#options.serverName ?? this.#hostname,
      };
      if (this.#options.caCerts !== undefined) {
        options.caCerts = this.#options.caCerts;
      }
      conn = await Deno.startTls(this.#conn as Deno.TcpConn, options);
    } catch (cause) {
      this.close();
      throw tlsFailure("Cannot start TLS", cause);
    }
    this.#conn = conn;
    if (this.#closed) {
      // Closed while startTls() ran: the new connection is ours to close.
      conn.close();
      throw new TransportError("Cannot start TLS: the transport is closed");
    }
    try {
      await conn.handshake();
    } catch (cause) {
      this.close();
      throw tlsFailure("The TLS handshake failed", cause);
    }
    this.#tls = {
      protocol: undefined,
      cipher: undefined,
      peerCertificate: undefined,
      peerFingerprint256: undefined,
    };
    return this.#tls;
  }
}

/**
 * Connects over TCP with `Deno.connect`, as the initiator. `startTls()`
 * upgrades with `Deno.startTls` (rustls), verifying the peer's certificate
 * against the default root store or `caCerts` and the server name, and
 * calls `handshake()` so that certificate errors surface there.
 *
 * Deno's `TlsConn` does not tell the negotiated protocol, the cipher or the
 * peer's certificate, so every field of its {@linkcode TlsInfo} is
 * `undefined`; use {@linkcode connectTcpNode} where they are needed, or to
 * pin a certificate or offer a client certificate.
 *
 * rustls verifies the certificate inside the handshake, where this package
 * cannot see it; its refusals ("invalid peer certificate: ...") become a
 * `CertificateError` with the reason the certificate policy gives on every
 * transport (`expired`, `not-yet-valid`, `name-mismatch`, `ca-as-leaf`,
 * else `untrusted`), without a fingerprint, and the transport is closed.
 * Two differences remain: rustls allows no clock skew, and it refuses a
 * peer whose RSA key is under 2048 bits only as a handshake signature that
 * does not verify ("BadSignature", so `untrusted`, not `weak-key`), as
 * Deno's `node:tls` does.
 *
 * Reads pull one chunk at a time with `conn.read()`, and nothing is read
 * ahead: when `startTls()` is called, bytes that followed `<proceed/>` are
 * still in the system's buffer and reach rustls, where plaintext (the
 * STARTTLS injection class) fails the handshake.
 *
 * @example Echo one chunk over loopback
 * ```ts
 * import { connectTcp, listenTcp } from "./mod.ts";
 * import assert from "node:assert/strict";
 *
 * const listener = await listenTcp();
 * const client = await connectTcp(listener.addr);
 * const server = (await listener.accept())!;
 * await client.write(new TextEncoder().encode("ping"));
 * await server.write((await server.read())!);
 * assert.equal(new TextDecoder().decode((await client.read())!), "ping");
 * client.close();
 * server.close();
 * await listener.close();
 * ```
 *
 * @param options Where to connect, and how to verify the peer under TLS.
 * @returns The connected transport, in plaintext until `startTls()`.
 * @throws {TransportError} When the connection cannot be made.
 */
export async function connectTcp(
  options: ConnectTcpOptions,
): Promise<Transport> {
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: options.hostname,
      port: options.port,
      transport: "tcp",
    });
  } catch (cause) {
    throw failure(
      `Cannot connect to ${options.hostname} port ${options.port}`,
      cause,
    );
  }
  return new DenoTcpTransport(conn, options.hostname, options.tls ?? {});
}
