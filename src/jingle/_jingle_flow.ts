// The two roles of one Jingle XML stream session, as one flow each: offer
// (or accept) a transport, set up the bytestream (SOCKS5, else IBB with
// transport-replace), then run the stream inside it.

import type { StreamOptions } from "../endpoint/e2e_stream.ts";
import { Jid } from "../stanza/jid.ts";
import { randomId } from "../stanza/stanza.ts";
import { StreamError } from "../stream/errors.ts";
import type { Session } from "../stream/session.ts";
import { CertificateError } from "../transport/cert_policy.ts";
import type { KnownPeers } from "../transport/known_peers.ts";
import type { InBandBytestreams } from "./ibb.ts";
import { errorOf, type JingleSession } from "./_jingle_session.ts";
import {
  isTieBreak,
  type JingleReason,
  type JingleRequest,
  type TransportDesc,
  transportElement,
} from "./_jingle_xml.ts";
import { JingleError } from "./jingle_error.ts";
import {
  type Bytestream,
  closedByUs,
  innerStream,
  type JingleInfo,
  type JingleStream,
} from "./_inner_stream.ts";
import {
  checkReports,
  gather,
  negotiate,
  offer,
  type OurCandidates,
  release,
  type S5bChoice,
  type S5bSettings,
} from "./_s5b.ts";

/** What both flows use. */
export interface FlowContext {
  session: JingleSession;
  ibb: InBandBytestreams;
  transports: readonly ("s5b" | "ibb")[];
  s5b: S5bSettings;
  blockSize: number;
  timeoutMs: number;
  knownPeers: KnownPeers;
  certificate: { cert: string; key: string };
  stream: StreamOptions;
}

type S5bDesc = Extract<TransportDesc, { kind: "s5b" }>;
type IbbDesc = Extract<TransportDesc, { kind: "ibb" }>;

/** The initiator: session-initiate, the bytestream, the stream inside. */
export async function initiatorFlow(ctx: FlowContext): Promise<JingleStream> {
  const { session } = ctx;
  const kind = ctx.transports[0]!;
  let ours: OurCandidates | undefined;
  try {
    let desc: TransportDesc;
    if (kind === "s5b") {
      ours = await gather(session, ctx.s5b, randomId());
      checkReports(session, ours);
      desc = offer(ours);
    } else {
      desc = { kind: "ibb", sid: randomId(), blockSize: ctx.blockSize };
    }
    // The peer's candidate report may follow its accept at once.
    session.accept("session-accept", "transport-info");
    await session.send({
      action: "session-initiate",
      initiator: session.own,
      description: true,
      transport: transportElement(desc),
    });
    session.acknowledged = true;
    const accepted = await session.next(
      ["session-accept"],
      ctx.timeoutMs,
      "a session-accept",
    );
    const theirs = accepted.transport;
    if (theirs?.kind !== desc.kind || theirs.sid !== desc.sid) {
      throw await fail(
        session,
        "incompatible-parameters",
        new JingleError("bad-peer", "The peer accepted another transport"),
      );
    }
    if (theirs.kind === "ibb") {
      const blockSize = Math.min(theirs.blockSize, ctx.blockSize);
      const bytestream = await ctx.ibb.open(theirs.sid, {
        to: session.peer,
        blockSize,
      }).catch((error) => failed(session, error));
      return await inside(ctx, bytestream, {
        transport: "ibb",
        transportSid: theirs.sid,
        fellBack: false,
      });
    }
    session.accept("transport-info", "transport-accept", "transport-reject");
    const choice = await negotiate(session, ctx.s5b, ours!, theirs);
    await release(ours!, choice?.conn);
    if (choice !== undefined) return await insideS5b(ctx, choice, theirs);
    if (!ctx.transports.includes("ibb")) {
      throw await fail(
        session,
        "connectivity-error",
        new JingleError("failed-transport", "No SOCKS5 candidate worked"),
      );
    }
    // XEP-0260 section 3: transport-replace with IBB.
    const replacement = {
      kind: "ibb" as const,
      sid: randomId(),
      blockSize: ctx.blockSize,
    };
    await session.send({
      action: "transport-replace",
      initiator: session.own,
      transport: transportElement(replacement),
    });
    const answer = await session.next(
      ["transport-accept", "transport-reject"],
      ctx.timeoutMs,
      "a transport-accept",
    );
    if (
      answer.action === "transport-reject" ||
      answer.transport?.kind !== "ibb" ||
      answer.transport.sid !== replacement.sid
    ) {
      throw await fail(
        session,
        "failed-transport",
        new JingleError("failed-transport", "The peer refused IBB"),
      );
    }
    const bytestream = await ctx.ibb.open(replacement.sid, {
      to: session.peer,
      blockSize: Math.min(answer.transport.blockSize, ctx.blockSize),
    }).catch((error) => failed(session, error));
    return await inside(ctx, bytestream, {
      transport: "ibb",
      transportSid: replacement.sid,
      fellBack: true,
    });
  } catch (error) {
    if (ours !== undefined) await release(ours);
    // Overruled by the peer's session-initiate: there is no session to end.
    if (isTieBreak(error)) session.abandon(errorOf(error, "Overruled"));
    if (!session.isEnded) await session.terminate(reasonOf(error));
    throw error;
  }
}

/** The responder, once its application accepted the offer. */
export async function responderFlow(
  ctx: FlowContext,
  offered: JingleRequest,
): Promise<JingleStream> {
  const { session } = ctx;
  const theirs = offered.transport!;
  let ours: OurCandidates | undefined;
  try {
    if (theirs.kind === "ibb") {
      const blockSize = Math.min(theirs.blockSize, ctx.blockSize);
      const accepted = { ...theirs, blockSize };
      const bytestream = await expectIbb(
        ctx,
        accepted,
        () =>
          session.send({
            action: "session-accept",
            initiator: session.initiator,
            responder: session.own,
            description: true,
            transport: transportElement(accepted),
          }),
      );
      return await inside(ctx, bytestream, {
        transport: "ibb",
        transportSid: theirs.sid,
        fellBack: false,
      });
    }
    // Without SOCKS5 here, an accept without candidates and a
    // candidate-error lead the initiator to replace the transport.
    const settings = ctx.transports.includes("s5b")
      ? ctx.s5b
      : { ...ctx.s5b, backend: undefined };
    ours = await gather(session, settings, theirs.sid);
    checkReports(session, ours);
    session.accept("transport-info", "transport-replace");
    await session.send({
      action: "session-accept",
      initiator: session.initiator,
      responder: session.own,
      description: true,
      transport: transportElement(offer(ours)),
    });
    const choice = await negotiate(session, settings, ours, theirs);
    await release(ours, choice?.conn);
    if (choice !== undefined) return await insideS5b(ctx, choice, theirs);
    const replace = await session.next(
      ["transport-replace"],
      ctx.timeoutMs,
      "a transport-replace",
    );
    const replacement = replace.transport;
    if (replacement?.kind !== "ibb" || !ctx.transports.includes("ibb")) {
      await session.send({
        action: "transport-reject",
        initiator: session.initiator,
        ...(replacement === undefined
          ? {}
          : { transport: transportElement(replacement) }),
      }).catch(() => {});
      throw await fail(
        session,
        "unsupported-transports",
        new JingleError("failed-transport", "No transport both ends can use"),
      );
    }
    const accepted = {
      ...replacement,
      blockSize: Math.min(replacement.blockSize, ctx.blockSize),
    };
    const bytestream = await expectIbb(
      ctx,
      accepted,
      () =>
        session.send({
          action: "transport-accept",
          initiator: session.initiator,
          transport: transportElement(accepted),
        }),
    );
    return await inside(ctx, bytestream, {
      transport: "ibb",
      transportSid: replacement.sid,
      fellBack: true,
    });
  } catch (error) {
    if (ours !== undefined) await release(ours);
    if (!session.isEnded) await session.terminate(reasonOf(error));
    throw error;
  }
}

/**
 * Expects the peer's IBB open (within the deadline), after `announce`:
 * with the block size and the stanzas (iq, or message when the peer
 * offered it) accepted.
 */
async function expectIbb(
  ctx: FlowContext,
  accepted: IbbDesc,
  announce: () => Promise<void>,
): Promise<Bytestream> {
  const { sid, blockSize } = accepted;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), ctx.timeoutMs);
  const opened = ctx.ibb.expect(sid, {
    from: ctx.session.peer,
    signal: abort.signal,
  });
  opened.catch(() => {});
  const ended = () => abort.abort();
  void ctx.session.ended.then(ended);
  try {
    await announce();
    const bytestream = await opened.catch((error) => {
      if (abort.signal.aborted && !ctx.session.isEnded) {
        throw new JingleError(
          "timeout",
          `The peer did not open the bytestream within ${ctx.timeoutMs} ms`,
        );
      }
      return failed(ctx.session, error);
    });
    if (bytestream.stanza !== (accepted.stanza ?? "iq")) {
      bytestream.close();
      throw new JingleError(
        "bad-peer",
        `The peer opened the bytestream over ${bytestream.stanza} stanzas, not the ones accepted`,
      );
    }
    if (bytestream.blockSize > blockSize) {
      // XEP-0261: the open keeps to the block size accepted.
      bytestream.close();
      throw new JingleError(
        "bad-peer",
        `The peer opened the bytestream with blocks of ${bytestream.blockSize} bytes, over the ${blockSize} accepted`,
      );
    }
    return bytestream;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

function insideS5b(
  ctx: FlowContext,
  choice: S5bChoice,
  theirs: S5bDesc,
): Promise<JingleStream> {
  // Stanzas are small and answered: without this, Nagle's algorithm and
  // delayed acknowledgements hold each TLS handshake flight ~40 ms.
  const conn = choice.conn as Partial<Deno.TcpConn>;
  try {
    conn.setNoDelay?.(true);
  } catch {
    // Not a TCP connection, or already closed: reads will say so.
  }
  return inside(ctx, choice.conn, {
    transport: "s5b",
    transportSid: theirs.sid,
    fellBack: false,
    candidate: { type: choice.candidate.type, offeredBy: choice.offeredBy },
  });
}

/** Ends the session with `reason`, and gives back `error` to throw. */
async function fail(
  session: JingleSession,
  reason: JingleReason,
  error: JingleError,
): Promise<JingleError> {
  await session.terminate(reason, error);
  return error;
}

/** The Jingle reason a failure here is told with. */
function reasonOf(error: unknown): JingleReason {
  if (!(error instanceof JingleError)) return "general-error";
  switch (error.reason) {
    case "timeout":
      return "timeout";
    case "failed-transport":
      return "failed-transport";
    case "bad-peer":
      return "incompatible-parameters";
    default:
      return "general-error";
  }
}

/** A bytestream that could not be set up. */
function failed(session: JingleSession, error: unknown): never {
  if (session.error !== undefined) throw session.error;
  throw new JingleError(
    "failed-transport",
    "The bytestream could not be opened",
    { cause: error },
  );
}

function isCertificateError(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof CertificateError) return true;
  }
  return false;
}

/**
 * The stream error a session that ended under a live stream ends it with,
 * so that the peer's stream ends unclean with a cause, never like an
 * ordered close: `connection-timeout` for a deadline, `policy-violation`
 * for a peer that broke the protocol, else `undefined-condition`; the
 * text says why, and the Jingle error is its cause here.
 */
function streamErrorOf(error: JingleError): StreamError {
  const condition = error.reason === "timeout"
    ? "connection-timeout"
    : error.reason === "bad-peer"
    ? "policy-violation"
    : "undefined-condition";
  return new StreamError(condition, {
    sent: true,
    text: error.message,
    cause: error,
  });
}

/** Runs the stream inside the bytestream, and ties its end to Jingle's. */
async function inside(
  ctx: FlowContext,
  bytestream: Bytestream,
  setup: Omit<JingleInfo, "sid" | "peer" | "role">,
): Promise<JingleStream> {
  const { session } = ctx;
  const info: JingleInfo = {
    sid: session.sid,
    peer: session.peer,
    role: session.role,
    ...setup,
  };
  let inner: Session | undefined;
  // No more Jingle actions but session-info and session-terminate.
  session.accept();
  session.onEnd = (error) => {
    if (inner !== undefined) void inner.abort(streamErrorOf(error));
    else bytestream.close();
  };
  if (session.isEnded) bytestream.close();
  let stream: JingleStream;
  try {
    stream = await innerStream(bytestream, {
      role: session.role,
      ownBare: Jid.parse(session.own).bare.toString(),
      peerBare: Jid.parse(session.peer).bare.toString(),
      knownPeers: ctx.knownPeers,
      certificate: ctx.certificate,
      stream: ctx.stream,
      jingle: info,
      hooks: { ended: session.ended },
      started: (s) => (inner = s),
    });
  } catch (error) {
    if (inner === undefined) bytestream.close();
    await session.terminate(
      isCertificateError(error) ? "security-error" : "failed-application",
    );
    throw error;
  }
  void stream.closed.then(async (result) => {
    if (session.isEnded) return;
    if (!result.clean) {
      await session.terminate("failed-transport");
    } else if (closedByUs(stream)) {
      await session.terminate("success");
    } else {
      // The peer closed: its session-terminate follows, or ours does.
      const timer = setTimeout(
        () => void session.terminate("success"),
        ctx.timeoutMs,
      );
      void session.ended.then(() => clearTimeout(timer));
    }
  });
  return stream;
}
