// initiate(): the initiator's side.

import { Session } from "../stream/session.ts";
import type { Transport } from "../transport/transport.ts";
import { connectTcp } from "../transport/deno_tcp.ts";
import { connectTcpNode } from "../transport/node_tcp.ts";
import { domainOf } from "../stream/address.ts";
import {
  composeVerify,
  E2EStream,
  sessionOptions,
  streamLimits,
  type StreamOptions,
  traceFrom,
} from "./e2e_stream.ts";
import { checkTrust, initiatorCheck, type Trust, trustedBy } from "./trust.ts";

/** Options of {@linkcode initiate}. */
export interface InitiateOptions extends StreamOptions {
  /** The peer's address (`to` of the header; its domain is the TLS name). */
  to: string;
  /** A connected transport; otherwise `hostname` and `port` are dialed. */
  transport?: Transport;
  /** Host to dial over TCP. */
  hostname?: string;
  /** Port to dial over TCP. */
  port?: number;
  /** Name the peer's certificate must carry. Default: the domain of `to`. */
  serverName?: string;
  /**
   * How the peer's certificate is trusted: CA certificates, a pinned
   * fingerprint, or trust on first use with a `KnownPeers` store keyed on
   * `to` (see {@linkcode Trust}). Default: the system's root store, the
   * certificate valid for the domain of `to`. With a pin or a store, the
   * `node:tls` transport is used (rustls shows no certificate), and
   * `info.tls` carries the certificate and its fingerprint.
   */
  trust?: Trust;
  /** Extra trusted certificates (PEM); the same as `trust: { caCerts }`. */
  caCerts?: string[];
  /**
   * Accept exactly the peer certificate with this SHA-256 fingerprint; the
   * same as `trust: { pinnedFingerprint256 }`.
   */
  pinnedFingerprint256?: string;
  /** Skip certificate verification; only this exact sentence turns it on. */
  insecureSkipVerify?: "I understand this disables certificate verification";
  /** A client certificate and key (PEM) to present (pinning, SASL EXTERNAL). */
  clientCertificate?: { cert: string; key: string };
}

/**
 * Opens a stream to a peer: connects (or uses the given transport), sends
 * the header, negotiates STARTTLS (required unless turned off by name) and
 * the other features.
 *
 * A recipient that answers from another address than `to` is refused
 * (`invalid-from`); the address the stream reached is `info.peerAddress`.
 *
 * @example Opening a stream with STARTTLS to a peer with a known certificate
 * ```ts
 * import { generateCertificate, initiate, listen } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const pronto = await generateCertificate({ names: ["pronto"] });
 * const listener = await listen({
 *   from: "juliet@pronto",
 *   certificate: { cert: pronto.certPem, key: pronto.keyPem },
 * });
 * listener.accept();
 * const romeo = await initiate({
 *   from: "romeo@forza",
 *   to: "juliet@pronto", // the certificate must name "pronto"
 *   hostname: "127.0.0.1",
 *   port: listener.addr.port,
 *   trust: { caCerts: [pronto.certPem] },
 * });
 * assert.equal(romeo.info.peerAddress, "juliet@pronto");
 * assert.ok(romeo.info.tls !== undefined); // upgraded with STARTTLS
 * assert.deepEqual(await romeo.close(), { clean: true });
 * await listener.close();
 * ```
 *
 * @param options Addresses, transport or host and port, TLS trust.
 * @returns The negotiated stream.
 * @throws {NegotiationError} When TLS is required and not offered, or fails.
 * @throws {StreamError} When the peer's input or header is bad, or it
 *   answers from another address (`invalid-from`, sent).
 * @throws {CertificateError} When the peer's certificate is refused
 *   (`PeerChangedError` from a `KnownPeers` store).
 * @throws {TransportError} When connecting fails.
 * @throws {TypeError} When the options contradict each other.
 */
export async function initiate(options: InitiateOptions): Promise<E2EStream> {
  const trust = trustOf(options);
  const transport = options.transport ?? await dial(options, trust);
  const verifyTls = composeVerify(
    trust === undefined ? undefined : initiatorCheck(trust),
    options.verifyTls,
  );
  const session = new Session({
    role: "initiator",
    transport,
    ...sessionOptions(options),
    ...(verifyTls !== undefined ? { verifyTls } : {}),
    to: options.to,
  });
  const checked = {
    trustedBy: trust === undefined ? undefined : trustedBy(trust),
    // Dialed here, the transport checks the certificate unless told not to;
    // the application's own transport checks what it was set up to.
    certificateChecked: (options.transport === undefined &&
      options.insecureSkipVerify === undefined) ||
      (trust !== undefined && "knownPeers" in trust),
  };
  traceFrom(session, options.trace, checked);
  await session.negotiate();
  return new E2EStream(session, { ...streamLimits(options), ...checked });
}

/** The one trust the options say, the older spellings folded in. */
function trustOf(options: InitiateOptions): Trust | undefined {
  const given = [
    options.trust,
    options.caCerts === undefined ? undefined : { caCerts: options.caCerts },
    options.pinnedFingerprint256 === undefined
      ? undefined
      : { pinnedFingerprint256: options.pinnedFingerprint256 },
    options.insecureSkipVerify,
  ].filter((t) => t !== undefined);
  if (given.length > 1) {
    throw new TypeError(
      "Cannot initiate: give one of trust, caCerts, pinnedFingerprint256 or insecureSkipVerify",
    );
  }
  checkTrust(options.trust, "Cannot initiate");
  if (options.trust !== undefined) return options.trust;
  if (options.caCerts !== undefined) return { caCerts: options.caCerts };
  if (options.pinnedFingerprint256 !== undefined) {
    return { pinnedFingerprint256: options.pinnedFingerprint256 };
  }
  return undefined;
}

function dial(
  options: InitiateOptions,
  trust: Trust | undefined,
): Promise<Transport> {
  if (options.hostname === undefined || options.port === undefined) {
    throw new TypeError(
      "Cannot initiate: give a transport, or hostname and port",
    );
  }
  const serverName = options.serverName ?? domainOf(options.to);
  const caCerts = trust !== undefined && "caCerts" in trust
    ? trust.caCerts
    : undefined;
  if (
    (trust !== undefined && !("caCerts" in trust)) ||
    options.insecureSkipVerify !== undefined ||
    options.clientCertificate !== undefined
  ) {
    // rustls shows no certificate and takes no client certificate.
    return connectTcpNode({
      hostname: options.hostname,
      port: options.port,
      tls: {
        serverName,
        ...(caCerts ? { caCerts } : {}),
        ...(trust !== undefined && "pinnedFingerprint256" in trust
          ? { pinnedFingerprint256: trust.pinnedFingerprint256 }
          : {}),
        ...(trust !== undefined && "knownPeers" in trust
          ? { leafOnly: true }
          : {}),
        ...(options.insecureSkipVerify
          ? { insecureSkipVerify: options.insecureSkipVerify }
          : {}),
        ...(options.clientCertificate
          ? {
            cert: options.clientCertificate.cert,
            key: options.clientCertificate.key,
          }
          : {}),
      },
    });
  }
  return connectTcp({
    hostname: options.hostname,
    port: options.port,
    tls: { serverName, ...(caCerts ? { caCerts } : {}) },
  });
}
