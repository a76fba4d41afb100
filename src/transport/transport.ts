/**
 * The one Transport interface that the stream layer reads and writes
 * through: TCP with TLS in either role, an application's own stream pair,
 * or an in-memory pair for tests.
 *
 * @module
 */

/** A TLS channel-binding type, by its name in the IANA registry. */
export type ChannelBindingType =
  | "tls-exporter"
  | "tls-unique"
  | "tls-server-end-point";

/** Channel-binding data (RFC 5056) of one TLS connection, by type. */
export type ChannelBindings = Readonly<
  Partial<Record<ChannelBindingType, Uint8Array>>
>;

/** What a TLS upgrade negotiated, as far as the transport can tell. */
export interface TlsInfo {
  /** TLS version, such as `"TLSv1.3"`, when the transport exposes it. */
  protocol: string | undefined;
  /** Cipher suite name, when the transport exposes it. */
  cipher: string | undefined;
  /** The peer's certificate (DER), when the transport exposes it. */
  peerCertificate: Uint8Array | undefined;
  /**
   * SHA-256 fingerprint of the peer's certificate, upper-case hex pairs
   * joined by colons (`"AB:01:..."`), when the transport exposes it.
   */
  peerFingerprint256: string | undefined;
  /**
   * Channel-binding data of this connection, for each type the transport
   * can compute: `tls-server-end-point` (RFC 5929) where the server's
   * certificate is known, `tls-exporter` (RFC 9266) under TLS 1.3 where the
   * TLS stack exports keying material. `{}` when the transport exposes no
   * channel-binding data. A `TlsInfo` without this field (made by an
   * application's transport) is read as having none.
   */
  channelBindings?: ChannelBindings;
  /**
   * Which TLS stack runs the connection: `"rustls"` (`Deno.startTls`, which
   * shows no certificate) or `"node:tls"` (chosen where a certificate must
   * be seen or presented: pins, trust on first use, client certificates,
   * the recipient). Absent for an application's own transport.
   */
  stack?: "rustls" | "node:tls";
}

/** The address of the other end of a transport. */
export interface PeerAddress {
  /** Host name or IP address. */
  hostname: string;
  /** Port. */
  port: number;
}

/**
 * Thrown by transports: the connection failed, closed, or TLS failed.
 *
 * @example Nobody listening
 * ```ts
 * import { initiate, TransportError } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const { port } = probe.addr as Deno.NetAddr;
 * probe.close(); // the port is free again: connecting is refused
 * await assert.rejects(
 *   initiate({ from: "romeo@forza", to: "juliet@pronto", hostname: "127.0.0.1", port }),
 *   TransportError,
 * );
 * ```
 */
export class TransportError extends Error {
  /**
   * Makes a transport error.
   *
   * @example Making one
   * ```ts
   * import { TransportError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const error = new TransportError("Cannot connect", { cause: new Error("refused") });
   * assert.equal(error.name, "TransportError");
   * ```
   *
   * @param message A sentence-case message without a final period.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransportError";
  }
}

/**
 * A reliable, ordered byte transport, possibly upgradable to TLS in place.
 *
 * Reads are pulled one chunk at a time, and at most one read is pending at
 * once: the stream layer stops reading at the point where TLS starts (after
 * `<proceed/>`), so that no plaintext byte received before the upgrade is
 * ever read as if it had been encrypted.
 */
export interface Transport {
  /**
   * Reads the next chunk of bytes.
   *
   * @returns The chunk, or `null` when the peer closed its side.
   * @throws {TransportError} When the connection fails.
   */
  read(): Promise<Uint8Array | null>;
  /**
   * Hands back a chunk that {@linkcode Transport.read} returned, once the
   * caller copied what it needed of it and holds no reference to it (the
   * stream layer does so as soon as it parsed a chunk): the transport may
   * fill it again, or free its memory at once rather than at the next
   * garbage collection. Optional; a chunk never handed back is collected as
   * usual.
   *
   * @param chunk The chunk, as `read()` returned it.
   */
  release?(chunk: Uint8Array): void;
  /**
   * Writes all of `bytes`.
   *
   * @param bytes What to send.
   * @returns Resolves once the bytes were handed to the connection.
   * @throws {TransportError} When the connection fails or is closed.
   */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Whether {@linkcode Transport.write} is done with the bytes it was given
   * once it resolved (it copied them on), so that the caller may fill the
   * same buffer again. Absent or `false`: the transport may still hold
   * them (web streams pass chunks on as they are), and every write gets
   * fresh bytes.
   */
  readonly copiesWrites?: boolean;
  /** Whether {@linkcode Transport.startTls} can work on this transport. */
  readonly canStartTls: boolean;
  /**
   * Upgrades the connection to TLS in place, in the role the transport was
   * made for, and completes the handshake (certificate errors surface here,
   * not on first I/O). No read may be pending. Bytes received before the
   * upgrade and not yet read are never delivered as if they had been
   * encrypted: they are discarded, or handed to TLS as ciphertext, where
   * plaintext fails the handshake. (A recipient keeps, as TLS input, what
   * arrived after its last write began: the initiator's ClientHello may
   * follow `<proceed/>` at once.)
   *
   * @returns What the handshake negotiated.
   * @throws {TransportError} When TLS cannot start or the handshake fails;
   *   a `CertificateError`, whose `reason` is the same on every transport,
   *   when the peer's certificate is refused. The transport is then closed.
   */
  startTls(): Promise<TlsInfo>;
  /**
   * Half-closes: the peer reads the end of the stream; reading goes on.
   *
   * @returns Resolves once the end was sent.
   */
  closeWrite(): Promise<void>;
  /** Closes both directions and releases every resource. Idempotent. */
  close(): void;
  /** The other end, when the transport knows it. */
  readonly remote: PeerAddress | undefined;
  /** What TLS negotiated, once {@linkcode Transport.startTls} resolved. */
  readonly tls: TlsInfo | undefined;
}
