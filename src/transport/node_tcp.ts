/**
 * TCP in both roles over `node:net`, upgraded in place with `node:tls`: the
 * recipient's listener, and an initiator for what `Deno.startTls` cannot do
 * (pinning one certificate, a client certificate, TLS details).
 *
 * @module
 */

import * as net from "node:net";
import { failure, NodeTcpTransport, normalizePin } from "./_node_socket.ts";
import type { PeerAddress, Transport, TransportError } from "./transport.ts";

/** The one value that turns certificate verification off. */
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
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new TypeError("A client certificate needs both cert and key");
  }
}

/**
 * Connects over TCP with `node:net`, as the initiator. `startTls()` upgrades
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
 * Reads pull one chunk at a time: a chunk that arrives with no read waiting
 * is queued and the socket paused until the next read. Under TLS the socket
 * is only paused once 1 MiB is queued, because Deno's `node:tls` loses the
 * peer's end of stream after a TLS socket stopped reading (a peer that ends
 * while that much sits unread may then go unnoticed until a timeout, which
 * the stream layer has). Chunks queued when
 * `startTls()` is called are dropped (plaintext received before the upgrade,
 * the STARTTLS injection class); bytes the system still holds go to TLS,
 * where plaintext fails the handshake.
 *
 * @example Pin the recipient's certificate over loopback
 * ```ts
 * import { connectTcpNode, generateCertificate, listenTcp } from "./mod.ts";
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
 *   not a SHA-256 fingerprint, or `insecureSkipVerify` is not the sentence.
 * @throws {TransportError} When the connection cannot be made.
 */
export async function connectTcpNode(
  options: ConnectTcpNodeOptions,
): Promise<Transport> {
  const tlsOptions = options.tls ?? {};
  checkClientTls(tlsOptions);
  const socket = net.connect({
    host: options.hostname,
    port: options.port,
    allowHalfOpen: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve();
      });
      socket.once("error", reject);
    });
  } catch (cause) {
    socket.destroy();
    throw failure(
      `Cannot connect to ${options.hostname} port ${options.port}`,
      cause,
    );
  }
  return new NodeTcpTransport(socket, {
    name: "client",
    hostname: options.hostname,
    tls: tlsOptions,
  });
}

class NodeTcpListener implements TcpListener {
  readonly addr: PeerAddress;
  readonly #server: net.Server;
  readonly #tls: ListenTlsOptions | undefined;
  #pending: net.Socket[] = [];
  #waiting: {
    resolve: (t: Transport | null) => void;
    reject: (e: Error) => void;
  }[] = [];
  #failure: TransportError | undefined;
  #closing: Promise<void> | undefined;

  constructor(server: net.Server, tls: ListenTlsOptions | undefined) {
    this.#server = server;
    this.#tls = tls;
    const address = server.address() as net.AddressInfo;
    this.addr = { hostname: address.address, port: address.port };
    server.on("connection", (socket: net.Socket) => {
      const waiting = this.#waiting.shift();
      if (waiting !== undefined) waiting.resolve(this.#wrap(socket));
      else this.#pending.push(socket);
    });
    server.on("error", (error: Error) => {
      this.#failure ??= failure("The listener failed", error);
      for (const waiting of this.#waiting.splice(0)) {
        waiting.reject(this.#failure);
      }
    });
  }

  accept(): Promise<Transport | null> {
    const socket = this.#pending.shift();
    if (socket !== undefined) return Promise.resolve(this.#wrap(socket));
    if (this.#closing !== undefined) return Promise.resolve(null);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#waiting.push({ resolve, reject });
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const waiting of this.#waiting.splice(0)) waiting.resolve(null);
      for (const socket of this.#pending.splice(0)) socket.destroy();
      // The server's own "close" waits for every connection it accepted,
      // which are their owners' business; the port is released at once.
      this.#server.close();
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

  #wrap(socket: net.Socket): Transport {
    return new NodeTcpTransport(socket, { name: "server", tls: this.#tls });
  }
}

/**
 * Listens for TCP connections with `node:net`, as the recipient. Accepted
 * transports start TLS in the server role with `options.tls` (key and
 * certificate), and report the protocol, the cipher and, when
 * `requestCert` asked for one, the initiator's certificate.
 *
 * Reads pull one chunk at a time, as with {@linkcode connectTcpNode}. When
 * `startTls()` is called, queued chunks received before the last write
 * began (before `<proceed/>`) are dropped, never decrypted; chunks received
 * after it are the initiator's ClientHello arriving early, and go to TLS.
 *
 * @example Echo one chunk over loopback
 * ```ts
 * import { connectTcpNode, listenTcp } from "./mod.ts";
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
 * @throws {TransportError} When the address cannot be listened on.
 */
export async function listenTcp(
  options: ListenTcpOptions = {},
): Promise<TcpListener> {
  const server = net.createServer({
    allowHalfOpen: true,
    pauseOnConnect: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(
        options.port ?? 0,
        options.hostname ?? "127.0.0.1",
        () => {
          server.off("error", reject);
          resolve();
        },
      );
    });
  } catch (cause) {
    server.close();
    throw failure("Cannot listen", cause);
  }
  return new NodeTcpListener(server, options.tls);
}
