// The XML stream inside a Jingle bytestream (XEP-0247): headers with the two
// bare JIDs (XEP-0246), STARTTLS end to end with trust on first use keyed
// on the peer's bare JID, and an ordered close that ends with the Jingle
// session-terminate.

import { Session } from "../stream/session.ts";
import type { CloseResult } from "../stream/session.ts";
import {
  composeVerify,
  E2EStream,
  sessionOptions,
  streamLimits,
  type StreamOptions,
  traceFrom,
} from "../endpoint/e2e_stream.ts";
import { initiatorCheck, recipientCheck } from "../endpoint/trust.ts";
import type { KnownPeers } from "../transport/known_peers.ts";
import { type ByteConn, ConnTransport } from "../transport/_conn.ts";
import { nodeTls } from "../transport/_node_socket.ts";
import type { Transport } from "../transport/transport.ts";
import type { IbbTransport } from "./_ibb_session.ts";
import { withTls } from "./ibb_tls.ts";
import { Jid } from "../stanza/jid.ts";

/** What a Jingle stream was set up with, as {@linkcode JingleStream} tells. */
export interface JingleInfo {
  /** The Jingle session id. */
  sid: string;
  /** The peer's full JID, the one the session was negotiated with. */
  peer: string;
  /** Which end of the Jingle session this is. */
  role: "initiator" | "responder";
  /** The bytestream the stream runs over. */
  transport: "s5b" | "ibb";
  /** Whether SOCKS5 was tried and failed, and IBB replaced it. */
  fellBack: boolean;
  /** The bytestream's own session id (IBB sid or SOCKS5 sid). */
  transportSid: string;
  /**
   * Over SOCKS5: the kind of the candidate used (`direct`, `proxy`...),
   * and whose it was.
   */
  candidate?: { type: string; offeredBy: "us" | "peer" } | undefined;
}

/**
 * An end-to-end stream inside a Jingle session: an `E2EStream` like any
 * other, plus what Jingle set up (`jingle`). Its `close()` closes the
 * inner stream in order, then ends the Jingle session (`session-terminate`
 * with `success`), and resolves once both are done.
 */
export interface JingleStream extends E2EStream {
  /** What Jingle set up. */
  readonly jingle: JingleInfo;
}

/** What ties the inner stream to its Jingle session. */
export interface InnerHooks {
  /** Resolves once the Jingle session has ended, either way. */
  ended: Promise<void>;
}

class InnerStream extends E2EStream implements JingleStream {
  readonly jingle: JingleInfo;
  readonly #hooks: InnerHooks;
  #closing: Promise<CloseResult> | undefined;
  weClosed = false;

  constructor(
    session: Session,
    settings: ConstructorParameters<typeof E2EStream>[1],
    jingle: JingleInfo,
    hooks: InnerHooks,
  ) {
    super(session, settings);
    this.jingle = jingle;
    this.#hooks = hooks;
  }

  override close(): Promise<CloseResult> {
    if (this.state === "open" || this.state === "negotiating") {
      this.weClosed = true;
    }
    return this.#closing ??= super.close().then(async (result) => {
      await this.#hooks.ended;
      return result;
    });
  }
}

/** How the inner stream is set up. */
export interface InnerOptions {
  role: "initiator" | "responder";
  ownBare: string;
  peerBare: string;
  knownPeers: KnownPeers;
  certificate: { cert: string; key: string };
  stream: StreamOptions;
  jingle: JingleInfo;
  hooks: InnerHooks;
  /** Called with the inner session as soon as it exists (to abort it). */
  started: (session: Session) => void;
}

/** A bytestream: IBB, or a SOCKS5 connection. */
export type Bytestream = IbbTransport | Deno.Conn;

function isIbb(bytestream: Bytestream): bytestream is IbbTransport {
  return "blockSize" in bytestream;
}

function secured(bytestream: Bytestream, options: InnerOptions): Transport {
  const { cert, key } = options.certificate;
  const role = options.role === "initiator"
    ? {
      role: "client" as const,
      serverName: options.peerBare,
      tls: { leafOnly: true, cert, key },
    }
    : { role: "server" as const, tls: { cert, key, requestCert: true } };
  if (isIbb(bytestream)) return withTls(bytestream, role);
  return new ConnTransport<ByteConn>(
    bytestream,
    role.role === "client"
      ? nodeTls({ name: "client", hostname: role.serverName, tls: role.tls })
      : nodeTls({ name: "server", tls: role.tls }),
  );
}

/**
 * Runs the stream over the bytestream: the Jingle initiator is the stream's
 * initiator and TLS client (presenting its certificate), the responder its
 * recipient and TLS server (asking for one); both check the other's
 * certificate against the store under the peer's bare JID.
 */
export async function innerStream(
  bytestream: Bytestream,
  options: InnerOptions,
): Promise<JingleStream> {
  const transport = secured(bytestream, options);
  const trust = { knownPeers: options.knownPeers };
  const passed = sessionOptions(options.stream);
  const check = options.role === "initiator"
    ? initiatorCheck(trust)
    : recipientCheck(trust);
  const verifyTls = composeVerify(check, options.stream.verifyTls);
  const session = options.role === "initiator"
    ? new Session({
      ...passed,
      role: "initiator",
      transport,
      from: options.ownBare,
      to: options.peerBare,
      tls: "required",
      ...(verifyTls !== undefined ? { verifyTls } : {}),
    })
    : new Session({
      ...passed,
      role: "recipient",
      transport,
      from: options.ownBare,
      tls: "required",
      // The header must name the peer the session was negotiated with.
      admit: (header) =>
        Jid.tryParse(header.from)?.equals(options.peerBare) === true,
      ...(verifyTls !== undefined ? { verifyTls } : {}),
    });
  options.started(session);
  const checked = {
    trustedBy: "known-peers" as const,
    certificateChecked: true,
  };
  traceFrom(session, options.stream.trace, checked);
  await session.negotiate();
  return new InnerStream(
    session,
    { ...streamLimits(options.stream), ...checked },
    options.jingle,
    options.hooks,
  );
}

/** Whether this end closed the stream first. */
export function closedByUs(stream: JingleStream): boolean {
  return stream instanceof InnerStream && stream.weClosed;
}
