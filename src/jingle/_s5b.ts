// The SOCKS5 transport of Jingle (XEP-0260): our candidates, connecting to
// all the peer's at once and using the best by priority, candidate-used /
// candidate-error, the nomination rules, and activation of a proxy
// candidate.

import { randomId } from "../stanza/stanza.ts";
import { StanzaError } from "../stanza/error.ts";
import type { JingleSession } from "./_jingle_session.ts";
import {
  type Candidate,
  infoElement,
  type S5bInfo,
  type TransportDesc,
} from "./_jingle_xml.ts";
import type {
  Socks5Backend,
  Socks5Listener,
  Socks5Proxy,
} from "./socks5_backend.ts";

/** Type preferences of XEP-0260 section 2.4. */
const DIRECT = 126;
const PROXY = 10;

/** How SOCKS5 candidates are gathered and tried. */
export interface S5bSettings {
  /** None: no candidates of ours, none of the peer's tried. */
  backend: Socks5Backend | undefined;
  /** Addresses to listen on and offer as direct candidates. */
  directAddresses: readonly string[];
  /** Whether to ask the server for its SOCKS5 proxies. */
  proxies: boolean;
  /** Deadline of each connection attempt, in ms. */
  connectTimeoutMs: number;
  /** Deadline of each wait for the peer, in ms. */
  waitTimeoutMs: number;
}

/** Our side of the SOCKS5 transport. */
export interface OurCandidates {
  sid: string;
  candidates: Candidate[];
  dstaddr: string;
  /** The proxy behind each proxy candidate, by cid. */
  proxies: Map<string, Socks5Proxy>;
  listeners: Socks5Listener[];
  /** The peer's connection to each direct candidate of ours, by cid. */
  incoming: Map<string, Promise<Deno.Conn>>;
  abort: AbortController;
}

/** The connection the nomination chose. */
export interface S5bChoice {
  conn: Deno.Conn;
  candidate: Candidate;
  offeredBy: "us" | "peer";
}

/** Listens, discovers proxies, and makes our candidates. */
export async function gather(
  session: JingleSession,
  settings: S5bSettings,
  sid: string,
): Promise<OurCandidates> {
  const { backend } = settings;
  const abort = new AbortController();
  if (backend === undefined) {
    return {
      sid,
      candidates: [],
      dstaddr: "",
      proxies: new Map(),
      listeners: [],
      incoming: new Map(),
      abort,
    };
  }
  const dstaddr = await backend.socks5DestinationAddress(
    sid,
    session.own,
    session.peer,
  );
  const candidates: Candidate[] = [];
  const listeners: Socks5Listener[] = [];
  const proxies = new Map<string, Socks5Proxy>();
  const incoming = new Map<string, Promise<Deno.Conn>>();
  let local = 65535;
  for (const hostname of settings.directAddresses) {
    let listener: Socks5Listener;
    try {
      listener = backend.Socks5Server.listen({ hostname });
    } catch {
      continue; // an address we cannot listen on is no candidate
    }
    listeners.push(listener);
    const conn = listener.expect(dstaddr, { signal: abort.signal });
    conn.catch(() => {});
    const cid = randomId();
    incoming.set(cid, conn);
    candidates.push({
      cid,
      host: listener.hostname,
      port: listener.port,
      jid: session.own,
      priority: DIRECT * 65536 + local--,
      type: "direct",
    });
  }
  if (settings.proxies) {
    let found: Socks5Proxy[] = [];
    try {
      found = await backend.discoverProxies(session.client, {
        timeoutMs: settings.waitTimeoutMs,
        signal: abort.signal,
      });
    } catch {
      // No proxy: direct candidates only, or none.
    }
    local = 65535;
    for (const proxy of found.slice(0, 8)) {
      const cid = randomId();
      proxies.set(cid, proxy);
      candidates.push({
        cid,
        host: proxy.host,
        port: proxy.port,
        jid: proxy.jid,
        priority: PROXY * 65536 + local--,
        type: "proxy",
      });
    }
  }
  return { sid, candidates, dstaddr, proxies, listeners, incoming, abort };
}

/** The transport element of our candidates. */
export function offer(ours: OurCandidates): TransportDesc {
  return {
    kind: "s5b",
    sid: ours.sid,
    dstaddr: ours.proxies.size > 0 ? ours.dstaddr : undefined,
    candidates: ours.candidates,
  };
}

/**
 * Stops listening and waiting for connections to our candidates, and
 * closes a connection to one of them unless it is the one kept.
 */
export async function release(
  ours: OurCandidates,
  keep?: Deno.Conn,
): Promise<void> {
  if (ours.abort.signal.aborted) return;
  ours.abort.abort();
  for (const conn of ours.incoming.values()) {
    conn.then((conn) => {
      if (conn !== keep) conn.close();
    }, () => {});
  }
  await Promise.allSettled(ours.listeners.map((l) => l.close()));
}

/**
 * Refuses the peer's SOCKS5 transport-info that is not one (`bad-request`)
 * or names a candidate we never offered (`item-not-found`), from before the
 * offer goes out: a report may come right behind it.
 */
export function checkReports(
  session: JingleSession,
  ours: OurCandidates,
): void {
  const cids = new Set(ours.candidates.map((c) => c.cid));
  session.check = (request) => {
    const info = request.info;
    if (request.action !== "transport-info") return undefined;
    if (info === undefined) return new StanzaError("bad-request");
    if (info.kind === "candidate-used" && !cids.has(info.cid)) {
      return new StanzaError("item-not-found", {
        text: "No candidate of ours has this cid",
      });
    }
    return undefined;
  };
}

/**
 * Runs the candidate exchange. Resolves with the connection to use, or
 * undefined when SOCKS5 failed and the parties should fall back.
 */
export async function negotiate(
  session: JingleSession,
  settings: S5bSettings,
  ours: OurCandidates,
  theirs: Extract<TransportDesc, { kind: "s5b" }>,
): Promise<S5bChoice | undefined> {
  const byCid = new Map(ours.candidates.map((c) => [c.cid, c]));
  checkReports(session, ours);
  // Their report may come while we are still trying their candidates.
  let report: S5bInfo | undefined;
  const reported = session.next(
    ["transport-info"],
    settings.waitTimeoutMs + theirs.candidates.length *
        settings.connectTimeoutMs,
    "its SOCKS5 candidate report",
  ).then((request) => (report = request.info));
  reported.catch(() => {});

  const mine = await connectFirst(settings, theirs, ours.sid, session, () => {
    const used = report?.kind === "candidate-used"
      ? byCid.get(report.cid)
      : undefined;
    return used?.priority;
  }, reported);
  await session.send({
    action: "transport-info",
    initiator: session.initiator,
    transport: infoElement(
      ours.sid,
      mine === undefined
        ? { kind: "candidate-error" }
        : { kind: "candidate-used", cid: mine.candidate.cid },
    ),
  }).catch((error) => {
    mine?.conn.close();
    throw error;
  });
  try {
    await reported;
  } catch (error) {
    mine?.conn.close();
    throw error;
  }
  const used = report?.kind === "candidate-used"
    ? byCid.get(report.cid)
    : undefined;
  if (report?.kind !== "candidate-used" && report?.kind !== "candidate-error") {
    mine?.conn.close();
    return undefined; // an activation before a report: nothing nominated
  }
  const choice = nominate(session.role, mine, used);
  if (choice === undefined) return undefined;
  if (choice === "peer") {
    const candidate = mine!.candidate;
    if (candidate.type === "proxy") {
      const next = await session.next(
        ["transport-info"],
        settings.waitTimeoutMs,
        "the proxy's activation",
      ).catch((error) => {
        mine!.conn.close();
        throw error;
      });
      if (
        next.info?.kind !== "activated" || next.info.cid !== candidate.cid
      ) {
        mine!.conn.close();
        return undefined;
      }
    }
    return { conn: mine!.conn, candidate, offeredBy: "peer" };
  }
  mine?.conn.close();
  const candidate = used!;
  if (candidate.type !== "proxy") {
    const conn = await deadline(
      ours.incoming.get(candidate.cid)!,
      settings.waitTimeoutMs,
    ).catch(() => undefined);
    return conn === undefined
      ? undefined
      : { conn, candidate, offeredBy: "us" };
  }
  const proxy = ours.proxies.get(candidate.cid)!;
  const backend = settings.backend!;
  let conn: Deno.Conn | undefined;
  try {
    conn = await backend.connectSocks5(
      proxy.host,
      proxy.port,
      ours.dstaddr,
      { timeoutMs: settings.connectTimeoutMs },
    );
    await backend.activateProxy(
      session.client,
      proxy.jid,
      ours.sid,
      session.peer,
      { timeoutMs: settings.waitTimeoutMs },
    );
  } catch {
    conn?.close();
    await session.send({
      action: "transport-info",
      initiator: session.initiator,
      transport: infoElement(ours.sid, { kind: "proxy-error" }),
    }).catch(() => {});
    return undefined;
  }
  await session.send({
    action: "transport-info",
    initiator: session.initiator,
    transport: infoElement(ours.sid, {
      kind: "activated",
      cid: candidate.cid,
    }),
  }).catch((error) => {
    conn!.close();
    throw error;
  });
  return { conn, candidate, offeredBy: "us" };
}

/**
 * XEP-0260 section 2.6: one candidate-used wins over a candidate-error; of
 * two, the higher priority; on a tie, the initiator's pick (the candidate
 * the initiator connected to).
 */
function nominate(
  role: "initiator" | "responder",
  mine: { candidate: Candidate } | undefined,
  used: Candidate | undefined,
): "peer" | "ours" | undefined {
  if (mine === undefined && used === undefined) return undefined;
  if (used === undefined) return "peer";
  if (mine === undefined) return "ours";
  if (mine.candidate.priority !== used.priority) {
    return mine.candidate.priority > used.priority ? "peer" : "ours";
  }
  return role === "initiator" ? "peer" : "ours";
}

/**
 * How long, once a candidate of the peer's connected, one of a higher
 * priority still being tried may take to finish and be used instead, in ms.
 */
export const HIGHER_PRIORITY_GRACE_MS = 200;

interface Attempt {
  candidate: Candidate;
  state: "pending" | "failed" | "connected";
  conn?: Deno.Conn;
}

/**
 * Tries all the peer's candidates at once (at most 16, each with its own
 * deadline) and settles on the one of the highest priority that connected:
 * as soon as every one above it has failed, or at most
 * {@linkcode HIGHER_PRIORITY_GRACE_MS} after the first connection, with the
 * best connected by then. It gives up on those still tried when the peer
 * already connected to one of ours of a higher priority than all of them.
 * Every other connection is closed, and every attempt left is aborted.
 */
function connectFirst(
  settings: S5bSettings,
  theirs: Extract<TransportDesc, { kind: "s5b" }>,
  sid: string,
  session: JingleSession,
  peerUsed: () => number | undefined,
  reported: Promise<unknown>,
): Promise<{ conn: Deno.Conn; candidate: Candidate } | undefined> {
  const backend = settings.backend;
  const sorted = [...theirs.candidates].sort((a, b) => b.priority - a.priority);
  if (sorted.length === 0 || backend === undefined) {
    return Promise.resolve(undefined);
  }
  return backend.socks5DestinationAddress(sid, session.peer, session.own)
    .then((computed) =>
      new Promise((resolve) => {
        // The peer is the requester of its candidates: SHA1(sid + peer +
        // us), which it tells for its proxies (`dstaddr`), where it must
        // match.
        const dstaddr = theirs.dstaddr ?? computed;
        const abort = new AbortController();
        const attempts: Attempt[] = sorted.map((candidate) => ({
          candidate,
          state: "pending",
        }));
        let done = false;
        let grace: ReturnType<typeof setTimeout> | undefined;
        const finish = (winner: Attempt | undefined) => {
          if (done) return;
          done = true;
          clearTimeout(grace);
          abort.abort();
          for (const attempt of attempts) {
            if (attempt !== winner) attempt.conn?.close();
          }
          if (winner === undefined || session.isEnded) {
            winner?.conn?.close();
            resolve(undefined);
          } else {
            resolve({ conn: winner.conn!, candidate: winner.candidate });
          }
        };
        const evaluate = () => {
          if (done) return;
          if (session.isEnded) return finish(undefined);
          // Sorted by priority: the first connected is the best.
          const best = attempts.find((a) => a.state === "connected");
          const above = best?.candidate.priority ?? -1;
          const pending = attempts.filter((a) => a.state === "pending");
          if (!pending.some((a) => a.candidate.priority > above)) {
            return finish(best);
          }
          const theirBest = peerUsed();
          if (
            theirBest !== undefined &&
            !pending.some((a) => a.candidate.priority >= theirBest)
          ) {
            return finish(best);
          }
          if (best !== undefined && grace === undefined) {
            grace = setTimeout(
              () => finish(attempts.find((a) => a.state === "connected")),
              HIGHER_PRIORITY_GRACE_MS,
            );
          }
        };
        for (const attempt of attempts) {
          const { candidate } = attempt;
          backend.connectSocks5(
            candidate.host,
            candidate.port,
            candidate.type === "proxy" ? dstaddr : computed,
            { timeoutMs: settings.connectTimeoutMs, signal: abort.signal },
          ).then((conn) => {
            if (done) {
              conn.close();
              return;
            }
            attempt.state = "connected";
            attempt.conn = conn;
            evaluate();
          }, () => {
            attempt.state = "failed";
            evaluate();
          });
        }
        reported.then(evaluate, evaluate);
        void session.ended.then(evaluate);
      })
    );
}

function deadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("Deadline passed")), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
