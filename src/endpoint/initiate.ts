// initiate(): the initiator's side.

import { Session } from "../stream/session.ts";
import type { Transport } from "../transport/transport.ts";
import { connectTcp } from "../transport/deno_tcp.ts";
import { connectTcpNode } from "../transport/node_tcp.ts";
import {
  E2EStream,
  sessionOptions,
  streamLimits,
  type StreamOptions,
  traceFrom,
} from "./e2e_stream.ts";

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
  /** Extra trusted certificates (PEM), for private or self-signed peers. */
  caCerts?: string[];
  /** Accept exactly the peer certificate with this SHA-256 fingerprint. */
  pinnedFingerprint256?: string;
  /** Skip certificate verification; only this exact sentence turns it on. */
  insecureSkipVerify?: "I understand this disables certificate verification";
  /** A client certificate and key (PEM) to present (pinning, SASL EXTERNAL). */
  clientCertificate?: { cert: string; key: string };
}

function domainOf(address: string): string {
  const at = address.indexOf("@");
  const slash = address.indexOf("/", at + 1);
  return address.slice(at + 1, slash < 0 ? undefined : slash);
}

/**
 * Opens a stream to a peer: connects (or uses the given transport), sends
 * the header, negotiates STARTTLS (required unless turned off by name) and
 * the other features.
 *
 * @param options Addresses, transport or host and port, TLS trust.
 * @returns The negotiated stream.
 * @throws {NegotiationError} When TLS is required and not offered, or fails.
 * @throws {StreamError} When the peer's input or header is bad.
 * @throws {TransportError} When connecting fails.
 */
export async function initiate(options: InitiateOptions): Promise<E2EStream> {
  const transport = options.transport ?? await dial(options);
  const session = new Session({
    role: "initiator",
    transport,
    ...sessionOptions(options),
    to: options.to,
  });
  traceFrom(session, options.trace);
  await session.negotiate();
  return new E2EStream(session, streamLimits(options));
}

function dial(options: InitiateOptions): Promise<Transport> {
  if (options.hostname === undefined || options.port === undefined) {
    throw new TypeError(
      "Cannot initiate: give a transport, or hostname and port",
    );
  }
  const serverName = options.serverName ?? domainOf(options.to);
  if (
    options.pinnedFingerprint256 !== undefined ||
    options.insecureSkipVerify !== undefined ||
    options.clientCertificate !== undefined
  ) {
    return connectTcpNode({
      hostname: options.hostname,
      port: options.port,
      tls: {
        serverName,
        ...(options.caCerts ? { caCerts: options.caCerts } : {}),
        ...(options.pinnedFingerprint256
          ? { pinnedFingerprint256: options.pinnedFingerprint256 }
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
    tls: {
      serverName,
      ...(options.caCerts ? { caCerts: options.caCerts } : {}),
    },
  });
}
