/**
 * TCP in both roles over `Deno.connect` and `Deno.listen`, upgraded in place
 * with `node:tls`: the recipient's listener, and an initiator for what
 * `Deno.startTls` cannot do (pinning one certificate, a client certificate,
 * TLS details).
 *
 * @module
 */

import { checkKeyPair } from "./_key_pair.ts";
import {
  type ByteConn,
  ConnTransport,
  failure,
  type StartTls,
} from "./_conn.ts";
import { nodeTls, normalizePin } from "./_node_socket.ts";
import type { PeerAddress, Transport } from "./transport.ts";

/**
 * The one value that turns certificate verification off.
 *
 * @example The sentence that turns verification off
 * ```ts
 * import { INSECURE_SKIP_VERIFY } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * // initiate({ ..., insecureSkipVerify: INSECURE_SKIP_VERIFY }) for tests only.
 * assert.equal(INSECURE_SKIP_VERIFY, "I understand this disables certificate verification");
 * ```
 */
export const INSECURE_SKIP_VERIFY =
  "I understand this disables certificate verification" as const;

/** TLS settings of a listener: the accepted transports' server side. */
export interface ListenTlsOptions {
  /** The private key, PEM (PKCS#8 or the key's own format). */
  key: string;
  /** The certificate chain, PEM, leaf first. */
  cert: string;
  /**
   * Ask the initiator for a certificate. Whoever issued it, and whatever
   * names it holds, it is reported in {@linkcode TlsInfo.peerCertificate}
   * for the application (a pin, `KnownPeers`), or SASL EXTERNAL, to judge;
   * only the leaf rules of the certificate policy apply (`startTls()`
   * refuses a `CA:true`, weak-keyed, expired or not yet valid one with a
   * `CertificateError`). Defaults to `false`.
   */
  requestCert?: boolean;
}

/** Options for {@linkcode listenTcp}. */
export interface ListenTcpOptions {
  /** The address to listen on. Defaults to `"127.0.0.1"`. */
  hostname?: string;
  /** The port; `0` (the default) lets the system choose one. */
  port?: number;
  /**
   * Key and certificate for `startTls()` on accepted transports. Without
   * them the accepted transports cannot start TLS (`canStartTls` is false).
   */
  tls?: ListenTlsOptions;
  /**
   * Called when `accept()` fails for a passing reason (the process is out of
   * file descriptors, the connection went away before it was taken), before
   * it waits 100 ms and tries again: a caller that holds connections may
   * free some.
   */
  onAcceptError?: (error: Error) => void;
}

/** TLS settings of {@linkcode connectTcpNode}. */
export interface ConnectTlsOptions {
  /**
   * The name the peer's certificate must be valid for, also sent as SNI.
   * Defaults to the host name connected to.
   */
  serverName?: string;
  /**
   * Trust anchors (PEM) instead of the default root store. A self-signed
   * leaf (`CA:false`) may be its own anchor; a `CA:true` certificate used as
   * a leaf is refused (`ca-as-leaf`), as rustls does.
   */
  caCerts?: string[];
  /**
   * Accept exactly the certificate with this SHA-256 fingerprint (as
   * `generateCertificate()` gives it as `fingerprint256`; colons and
   * case do not matter), whoever issued it and whatever names it holds, and
   * refuse every other one (`pin-mismatch`). `caCerts` and `serverName` then
   * play no part in verification, but the leaf rules of the certificate
   * policy still do: a pinned certificate that is `CA:true`, has a weak key,
   * or is outside its validity is refused.
   */
  pinnedFingerprint256?: string;
  /**
   * Skip certificate verification: only this exact sentence turns it off,
   * and any other value is refused. The connection is then encrypted but
   * not authenticated, and no rule of the certificate policy applies;
   * {@linkcode TlsInfo.peerFingerprint256} still tells whom it reached.
   */
  insecureSkipVerify?: typeof INSECURE_SKIP_VERIFY;
  /**
   * Check only the leaf rules of the certificate policy (validity, key
   * size, not a CA), not who issued the certificate nor the names it holds:
   * for a caller that checks the fingerprint itself (trust on first use with
   * `KnownPeers`). The connection is authenticated only once it has.
   */
  leafOnly?: boolean;
  /** A client certificate chain (PEM) to offer when the peer asks. */
  cert?: string;
  /** The client certificate's private key (PEM). */
  key?: string;
}

/** Options for {@linkcode connectTcpNode}. */
export interface ConnectTcpNodeOptions {
  /** The host to connect to. */
  hostname: string;
  /** The port to connect to. */
  port: number;
  /** How `startTls()` verifies the peer. Defaults to the root store. */
  tls?: ConnectTlsOptions;
}

/**
 * A TCP listener whose connections are {@linkcode Transport}s in the
 * recipient's role. Iterate it, or call {@linkcode TcpListener.accept}.
 */
export interface TcpListener extends AsyncIterable<Transport> {
  /** The address it listens on (with the port the system chose). */
  readonly addr: PeerAddress;
  /**
   * Waits for the next connection.
   *
   * @returns The connection, or `null` once the listener is closed.
   * @throws {TransportError} When the listener failed.
   */
  accept(): Promise<Transport | null>;
  /**
   * Stops listening. Connections not yet accepted are closed; accepted ones
   * are left to their owners. Idempotent.
   *
   * @returns Resolves once the port is released.
   */
  close(): Promise<void>;
  /**
   * Same as {@linkcode TcpListener.close}, for `await using`.
   *
   * @returns Resolves once the port is released.
   */
  [Symbol.asyncDispose](): Promise<void>;
}

function checkClientTls(options: ConnectTlsOptions): void {
  const pin = options.pinnedFingerprint256;
  const skip = options.insecureSkipVerify;
  if (pin !== undefined && normalizePin(pin) === undefined) {
    throw new TypeError(
      "Cannot pin a certificate: pinnedFingerprint256 is not 32 hex pairs",
    );
  }
  if (skip !== undefined && skip !== INSECURE_SKIP_VERIFY) {
    throw new TypeError(
      "Cannot skip certificate verification: insecureSkipVerify must be " +
        `exactly "${INSECURE_SKIP_VERIFY}"`,
    );
  }
  if (pin !== undefined && skip !== undefined) {
    throw new TypeError(
      "Cannot both pin a certificate and skip verification: choose one",
    );
  }
  if (options.leafOnly && (pin !== undefined || skip !== undefined)) {
    throw new TypeError(
      "Cannot check only the leaf and also pin or skip verification: choose one",
    );
  }
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("A client certificate needs both cert and key");
  }
  if (options.cert !== undefined) {
    checkKeyPair(options.cert, options.key!, "The client certificate");
  }
}

/**
 * Connects over TCP with `Deno.connect`, as the initiator. `startTls()` upgrades
 * with `node:tls` and verifies the peer as `options.tls` says: against the
 * default root store or `caCerts` and the server name (the default), by one
 * pinned certificate fingerprint, or not at all when `insecureSkipVerify`
 * holds the exact sentence {@linkcode INSECURE_SKIP_VERIFY}. Unlike the
 * transport of {@linkcode connectTcp}, its {@linkcode TlsInfo} is complete:
 * protocol, cipher, the peer's certificate and its fingerprint.
 *
 * `node:tls` itself refuses nothing (`rejectUnauthorized: false`): once the
 * handshake completed, and before a byte is read or written under TLS,
 * `startTls()` applies the certificate policy (`cert_policy.ts`) to the
 * peer's leaf and maps `node:tls`'s own verdict on the chain to the same
 * reasons, then rejects with a `CertificateError` and closes the transport.
 * (A client certificate is thus sent before the server's is judged; it is
 * public, and its signature is bound to this handshake.)
 *
 * Reads pull one chunk at a time, only when asked: a peer whose data nobody
 * reads is held back by TCP, under TLS too (`node:tls` runs over the
 * connection one chunk at a time). When `startTls()` is called, whatever
 * arrived after the last read (plaintext injected after `<proceed/>`, the
 * STARTTLS injection class) goes to TLS, where it fails the handshake.
 *
 * @example Pin the recipient's certificate over loopback
 * ```ts
 * import { connectTcpNode, generateCertificate, listenTcp } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const cert = await generateCertificate({ names: ["localhost"] });
 * const listener = await listenTcp({
 *   tls: { key: cert.keyPem, cert: cert.certPem },
 * });
 * const client = await connectTcpNode({
 *   ...listener.addr,
 *   tls: { pinnedFingerprint256: cert.fingerprint256 },
 * });
 * const server = (await listener.accept())!;
 * const [info] = await Promise.all([client.startTls(), server.startTls()]);
 * assert.equal(info.peerFingerprint256, cert.fingerprint256);
 * client.close();
 * server.close();
 * await listener.close();
 * ```
 *
 * @param options Where to connect, and how to verify the peer under TLS.
 * @returns The connected transport, in plaintext until `startTls()`.
 * @throws {TypeError} When the TLS options contradict each other, a pin is
 *   not a SHA-256 fingerprint, `insecureSkipVerify` is not the sentence, or
 *   a client certificate's key is not its own.
 * @throws {TransportError} When the connection cannot be made.
 */
export async function connectTcpNode(
  options: ConnectTcpNodeOptions,
): Promise<Transport> {
  const tlsOptions = options.tls ?? {};
  checkClientTls(tlsOptions);
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
    nodeTls({ name: "client", hostname: options.hostname, tls: tlsOptions }),
    "This transport",
    true,
  );
}

// accept() errors that say nothing about the listener itself: the
// connection went away before it was taken, or the process is out of file
// descriptors for a moment. The listener waits a little and goes on.
const PASSING =
  /os error (?:23|24|103|104|105|110|111)\b|ECONNABORTED|EMFILE|ENFILE/;
const RETRY_MS = 100;

class DenoTcpListener implements TcpListener {
  readonly addr: PeerAddress;
  readonly #listener: Deno.TcpListener;
  // One for every connection: it holds nothing of any.
  readonly #startTls: StartTls<ByteConn> | undefined;
  #closing: Promise<void> | undefined;
  #retry:
    | { timer: ReturnType<typeof setTimeout>; wake: () => void }
    | undefined;

  readonly #onAcceptError: ((error: Error) => void) | undefined;

  constructor(
    listener: Deno.TcpListener,
    tls: ListenTlsOptions | undefined,
    onAcceptError: ((error: Error) => void) | undefined,
  ) {
    this.#listener = listener;
    this.#startTls = tls === undefined
      ? undefined
      : nodeTls({ name: "server", tls });
    this.#onAcceptError = onAcceptError;
    this.addr = {
      hostname: listener.addr.hostname,
      port: listener.addr.port,
    };
  }

  async accept(): Promise<Transport | null> {
    for (;;) {
      if (this.#closing !== undefined) return null;
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
      } catch (cause) {
        if (this.#closing !== undefined) return null;
        if (!PASSING.test(String((cause as Error)?.message ?? cause))) {
          throw failure("The listener failed", cause);
        }
        this.#onAcceptError?.(
          cause instanceof Error ? cause : new Error(String(cause)),
        );
        await new Promise<void>((wake) => {
          this.#retry = {
            timer: setTimeout(() => {
              this.#retry = undefined;
              wake();
            }, RETRY_MS),
            wake,
          };
        });
        continue;
      }
      if (this.#closing !== undefined) {
        conn.close();
        return null;
      }
      return this.#wrap(conn);
    }
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      if (this.#retry !== undefined) {
        clearTimeout(this.#retry.timer);
        this.#retry.wake();
        this.#retry = undefined;
      }
      try {
        this.#listener.close();
      } catch {
        // Already closed.
      }
      resolve();
    });
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Transport> {
    for (;;) {
      const transport = await this.accept();
      if (transport === null) return;
      yield transport;
    }
  }

  #wrap(conn: Deno.TcpConn): Transport {
    return new ConnTransport(
      conn,
      this.#startTls,
      "A TCP transport accepted by a listener without a key and certificate",
      true, // a Deno.Conn: a write resolves once the system took its bytes
    );
  }
}

/**
 * Listens for TCP connections with `Deno.listen`, as the recipient. Accepted
 * transports start TLS in the server role with `options.tls` (key and
 * certificate), and report the protocol, the cipher and, when
 * `requestCert` asked for one, the initiator's certificate.
 *
 * Connections are taken from the system one `accept()` at a time (those not
 * taken yet wait in its backlog, and are reset when the listener closes); a
 * process out of file descriptors makes `accept()` wait and retry rather
 * than fail. Reads pull one chunk at a time, as with
 * {@linkcode connectTcpNode}: when `startTls()` is called, whatever arrived
 * after the last read goes to TLS, the initiator's ClientHello as it should
 * and plaintext injected before it as a handshake failure.
 *
 * @example Echo one chunk over loopback
 * ```ts
 * import { connectTcpNode, listenTcp } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const listener = await listenTcp();
 * const client = await connectTcpNode(listener.addr);
 * const server = (await listener.accept())!;
 * await client.write(new TextEncoder().encode("ping"));
 * await server.write((await server.read())!);
 * assert.equal(new TextDecoder().decode((await client.read())!), "ping");
 * client.close();
 * server.close();
 * await listener.close();
 * ```
 *
 * @param options Address, port and TLS key and certificate.
 * @returns The listener, already listening.
 * @throws {TypeError} When the TLS key is not the certificate's, or either
 *   cannot be read.
 * @throws {TransportError} When the address cannot be listened on.
 */
export async function listenTcp(
  options: ListenTcpOptions = {},
): Promise<TcpListener> {
  if (options.tls !== undefined) {
    checkKeyPair(
      options.tls.cert,
      options.tls.key,
      "The listener's certificate",
    );
  }
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      transport: "tcp",
    });
  } catch (cause) {
    throw failure("Cannot listen", cause);
  }
  return await Promise.resolve(
    new DenoTcpListener(listener, options.tls, options.onAcceptError),
  );
}
