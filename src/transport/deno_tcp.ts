/**
 * TCP with `Deno.connect`, upgraded in place with `Deno.startTls`: the
 * initiator's transport on Deno's own TLS (rustls).
 *
 * @module
 */

import {
  ConnTransport,
  failure,
  Reads,
  type StartTls,
  type TlsChannel,
  writeAll,
} from "./_conn.ts";
import { type TlsInfo, type Transport, TransportError } from "./transport.ts";
import { CertificateError } from "./cert_policy.ts";
import { rustlsReason } from "./_cert_rules.ts";

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

/** The rustls channel: `Deno.startTls` on the connection. */
function rustls(hostname: string, options: DenoTlsOptions): StartTls {
  return async (conn, signal) => {
    const startOptions: Deno.StartTlsOptions = {
      hostname: options.serverName ?? hostname,
    };
    if (options.caCerts !== undefined) startOptions.caCerts = options.caCerts;
    let tls: Deno.TlsConn;
    try {
      tls = await Deno.startTls(conn as Deno.TcpConn, startOptions);
    } catch (cause) {
      throw tlsFailure("Cannot start TLS", cause);
    }
    const abort = () => {
      try {
        tls.close();
      } catch {
        // Already closed.
      }
    };
    if (signal.aborted) {
      abort();
      throw new TransportError("Cannot start TLS: the transport is closed");
    }
    signal.addEventListener("abort", abort, { once: true });
    try {
      await tls.handshake();
    } catch (cause) {
      abort();
      if (signal.aborted) {
        throw new TransportError("Cannot start TLS: the transport is closed");
      }
      throw tlsFailure("The TLS handshake failed", cause);
    } finally {
      signal.removeEventListener("abort", abort);
    }
    return new RustlsChannel(tls);
  };
}

class RustlsChannel implements TlsChannel {
  // Deno's TlsConn tells neither the protocol, the cipher nor the peer's
  // certificate, and exports no keying material: no channel binding.
  readonly info: TlsInfo = {
    protocol: undefined,
    cipher: undefined,
    peerCertificate: undefined,
    peerFingerprint256: undefined,
    channelBindings: {},
    stack: "rustls",
  };
  readonly #conn: Deno.TlsConn;
  readonly #reads = new Reads();
  // rustls took the bytes (encrypted them) when a write resolves.
  readonly copiesWrites = true;
  #closed = false;

  constructor(conn: Deno.TlsConn) {
    this.#conn = conn;
  }

  async read(): Promise<Uint8Array | null> {
    if (this.#closed) return null;
    return await this.#reads.next(this.#conn);
  }

  release(chunk: Uint8Array): void {
    this.#reads.recycle(chunk);
  }

  write(bytes: Uint8Array): Promise<void> {
    return writeAll(this.#conn, bytes);
  }

  closeWrite(): Promise<void> {
    return this.#conn.closeWrite();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
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
 * `undefined`, and it exposes no channel-binding data (`channelBindings` is
 * `{}`, so no SCRAM -PLUS); use {@linkcode connectTcpNode} where they are
 * needed, or to pin a certificate or offer a client certificate.
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
 * import { connectTcp, listenTcp } from "@xmpp-e2e/streams/transport";
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
  // A write to the connection resolves once the system took its bytes.
  return new ConnTransport(
    conn,
    rustls(options.hostname, options.tls ?? {}),
    "This transport",
    true,
  );
}
