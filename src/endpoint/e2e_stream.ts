// E2EStream, the negotiated stream both initiate() and listen() hand out,
// and the options both roles share.

/**
 * RxJS's types are documented by the rxjs package: `@ignore` tells
 * `deno doc --lint` not to ask this package to export them.
 * @ignore
 */
import type { Observable } from "rxjs";
import type { Element } from "../xml/element.ts";
import { CLIENT_NS } from "../stream/constants.ts";
import {
  LimitError,
  StreamClosedError,
  type StreamErrorCondition,
} from "../stream/errors.ts";
import type {
  CloseResult,
  Session,
  SessionOptions,
  SessionState,
  TraceEntry,
} from "../stream/session.ts";
import type { StreamHeader } from "../stream/header.ts";
import type { TlsInfo } from "../transport/transport.ts";
import type { SaslInfo } from "../negotiation/feature.ts";
import {
  checkIqTimeout,
  type IqRequestOptions,
  IqTracker,
} from "../stanza/iq_tracker.ts";
import {
  type IqAnswer,
  IqRouter,
  type IqRouterOptions,
} from "../stanza/iq_router.ts";
import { pingIq } from "../stanza/ping.ts";
import {
  type DiscoInfo,
  discoInfoIq,
  parseDiscoInfo,
} from "../stanza/service_discovery.ts";
import {
  parseSoftwareVersion,
  type SoftwareVersion,
  versionIq,
} from "../stanza/software_version.ts";
import { iqError } from "../stanza/stanza.ts";
import type { TrustedBy } from "./trust.ts";

/**
 * The default of {@linkcode StreamOptions.maxPendingRequests}.
 *
 * @example The default
 * ```ts
 * import { DEFAULT_MAX_PENDING_REQUESTS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_PENDING_REQUESTS, 1000);
 * ```
 */
export const DEFAULT_MAX_PENDING_REQUESTS = 1000;
/**
 * The default of {@linkcode StreamOptions.maxIqHandlers}.
 *
 * @example The default
 * ```ts
 * import { DEFAULT_MAX_IQ_HANDLERS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_IQ_HANDLERS, 64);
 * ```
 */
export const DEFAULT_MAX_IQ_HANDLERS = 64;

/**
 * Options shared by both roles: those of `SessionOptions` (addresses,
 * namespace, TLS policy, features, limits, deadlines, `verifyTls`) but the
 * role, the transport and the peer's address, plus these.
 */
export interface StreamOptions extends
  Pick<
    SessionOptions,
    | "from"
    | "ns"
    | "lang"
    | "declaration"
    | "tls"
    | "legacy"
    | "features"
    | "limits"
    | "preAuthLimits"
    | "negotiationTimeoutMs"
    | "headerTimeoutMs"
    | "stanzaTimeoutMs"
    | "closeTimeoutMs"
    | "stallTimeoutMs"
    | "verifyTls"
    | "keepaliveMs"
    | "idleTimeoutMs"
    | "sendQueueLimit"
    | "receiveBufferLimit"
  >,
  IqRouterOptions {
  /** Deadline of `request()` in ms. Default 30,000. */
  iqTimeoutMs?: number;
  /**
   * Most iq requests of ours waiting for a reply on one stream; past it,
   * `request()` rejects with a {@linkcode LimitError} and sends nothing.
   * Default 1,000.
   */
  maxPendingRequests?: number;
  /**
   * Most inbound iq requests being answered at once on one stream; while
   * that many handlers run, reading from the peer pauses. Default 64.
   */
  maxIqHandlers?: number;
  /**
   * Called with the raw XML both ways from the first byte (the `trace$` of
   * a stream only starts once it is negotiated), and the stream's info: the
   * same object for every entry of one stream, brought up to date before
   * each call. `consoleTrace` prints it, SASL payloads redacted.
   */
  trace?: (entry: TraceEntry, stream: StreamInfo) => void;
}

/** What negotiation established on a stream. */
export interface StreamInfo {
  /** The stream id (set by the recipient). */
  id: string | undefined;
  /** The peer's last header. */
  peer: StreamHeader | undefined;
  /** What TLS negotiated, if TLS is in place. */
  tls: TlsInfo | undefined;
  /**
   * Whether the stream is encrypted (TLS is in place). False on a stream
   * with a legacy peer that cannot do TLS, or with TLS off: what is said
   * can be read and changed on the way; an application should tell its
   * user.
   */
  encrypted: boolean;
  /**
   * Whether the peer proved who it is: its certificate was checked by this
   * package (the system's roots, `trust` or the pin on an initiator that
   * dialed; `trust` on a listener), or SASL authenticated it (on the
   * recipient). When false, `peerAddress` is only what the peer claimed.
   */
  authenticated: boolean;
  /**
   * Who authenticated (SASL): the peer on the recipient, this end on the
   * initiator; undefined without authentication.
   */
  identity: string | undefined;
  /**
   * The peer's address, normalised: the `to` an initiator asked for (the
   * recipient answered from it), the `from` a recipient was given in the
   * initiator's header. Verified when `trustedBy` says so (the certificate
   * was checked against it), or by SASL (`identity`); else only claimed.
   */
  peerAddress: string | undefined;
  /** What the peer's certificate was trusted by, if a `trust` was given. */
  trustedBy: TrustedBy | undefined;
  /**
   * How SASL authenticated: the mechanism and the channel-binding type it
   * was bound with (or none); undefined without SASL.
   */
  sasl: SaslInfo | undefined;
}

/**
 * An inbound iq get/set handler. It answers with the reply iq, with the
 * payload of a `result` (any other element), with a `StanzaError` (returned
 * or thrown) for an `error` reply, or with `undefined` to let the next
 * handler answer.
 *
 * @param iq The request.
 * @param stream The stream it came on.
 * @returns The answer, or `undefined` to pass.
 */
export type IqHandler = (
  iq: Element,
  stream: E2EStream,
) => IqAnswer | Promise<IqAnswer>;

/** What {@linkcode E2EStream.request} takes besides the iq. */
export type RequestOptions = Pick<IqRequestOptions, "timeoutMs" | "signal">;

/**
 * What {@linkcode E2EStream.ping}, {@linkcode E2EStream.discoInfo} and
 * {@linkcode E2EStream.softwareVersion} take.
 */
export interface PeerRequestOptions extends RequestOptions {
  /** The address asked; the stream peer (no `to`) when omitted. */
  to?: string | undefined;
}

/** What an {@linkcode E2EStream} takes besides its session. */
export interface E2EStreamSettings {
  /** Deadline of `request()` in ms. */
  iqTimeoutMs?: number | undefined;
  /** Most requests waiting for a reply. */
  maxPendingRequests?: number | undefined;
  /** Most inbound requests answered at once. */
  maxIqHandlers?: number | undefined;
  /** What the peer's certificate was trusted by, if anything. */
  trustedBy?: TrustedBy | undefined;
  /**
   * Whether the peer's certificate is checked whenever TLS is in place
   * (see {@linkcode StreamInfo.authenticated}). Default false.
   */
  certificateChecked?: boolean | undefined;
  /** The built-in iq answers (ping, disco#info, software version). */
  answers?: IqRouterOptions | undefined;
  /** Routers whose handlers the stream asks after its own (a listener's). */
  inherit?: readonly IqRouter<E2EStream>[] | undefined;
}

/**
 * One negotiated end-to-end stream.
 *
 * @example Both ends of a stream: a message one way, an ordered close
 * ```ts
 * import {
 *   E2EStream,
 *   initiate,
 *   memoryPair,
 *   Session,
 *   message,
 * } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * // Two ends in one process, over memory, in plaintext (chosen by name).
 * const [a, b] = memoryPair();
 * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
 *   recipient.negotiate(),
 * ]);
 * const juliet = new E2EStream(recipient);
 * import { firstValueFrom } from "rxjs";
 *
 * const heard = firstValueFrom(juliet.stanzas$);
 * await romeo.send(message({ to: "juliet@pronto", body: "Art thou not Romeo?" }));
 * assert.equal((await heard).getChildText("body"), "Art thou not Romeo?");
 * assert.deepEqual(await romeo.close(), { clean: true });
 * assert.deepEqual(await juliet.closed, { clean: true });
 * ```
 */
export class E2EStream {
  readonly #session: Session;
  readonly #tracker: IqTracker;
  readonly #router: IqRouter<E2EStream>;
  readonly #maxPending: number;
  readonly #maxHandlers: number;
  readonly #handlersDone: () => void;
  readonly #trustedBy: TrustedBy | undefined;
  readonly #certificateChecked: boolean;
  #answering = 0;

  /**
   * Wraps a negotiated session.
   *
   * @example Wrapping a recipient session once it is negotiated
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * assert.equal(juliet.state, "open");
   * assert.equal(juliet.info.peerAddress, "romeo@forza");
   * await romeo.close();
   * ```
   *
   * @param session The session, negotiated.
   * @param limits Deadline of `request()`, and the iq limits.
   */
  constructor(session: Session, limits: E2EStreamSettings | number = {}) {
    if (typeof limits === "number") limits = { iqTimeoutMs: limits };
    this.#session = session;
    this.#maxPending = limits.maxPendingRequests ??
      DEFAULT_MAX_PENDING_REQUESTS;
    this.#maxHandlers = limits.maxIqHandlers ?? DEFAULT_MAX_IQ_HANDLERS;
    this.#trustedBy = limits.trustedBy;
    this.#certificateChecked = limits.certificateChecked ?? false;
    this.#router = new IqRouter(limits.answers, limits.inherit);
    // Replies come from the stream peer (a server: its domain), or, for a
    // request without `to`, from our own address (the JID bound on the
    // stream, or our header's `from`).
    this.#tracker = new IqTracker({
      timeoutMs: limits.iqTimeoutMs ?? 30_000,
      streamPeer: session.peerHeader?.from,
      ownAddress: session.ownAddress,
    });
    // iqs are taken care of as they arrive, whether or not anyone reads
    // stanzas$: replies go to the request that waits for them, requests to
    // the handlers (else service-unavailable). Neither reaches stanzas$.
    session.intercept((stanza) => {
      if (stanza.name !== "iq") return false;
      if (this.#tracker.handle(stanza)) return true;
      const type = stanza.attrs.type;
      if (type !== "get" && type !== "set") return false;
      void this.#answer(stanza);
      return true;
    });
    // While as many requests as allowed are being answered, reading waits.
    this.#handlersDone = session.pauseWhile(() =>
      this.#answering >= this.#maxHandlers
    );
    session.closed.then((result) =>
      this.#tracker.close(
        result.error ??
          new StreamClosedError("closed", "No reply came"),
      )
    );
  }

  /**
   * Inbound stanzas: messages and presences, and iq replies that no request
   * waits for. iq requests go to the {@linkcode E2EStream.handle} and
   * {@linkcode E2EStream.onIq} handlers and the built-in answers (and are
   * answered `service-unavailable` when none does); replies go to
   * {@linkcode E2EStream.request}. Pipe them through `stanzas()` for typed
   * views. Stanzas that arrive before the first
   * subscription are kept for it (up to `receiveBufferLimit` bytes, then
   * reading pauses, for `stallTimeoutMs` at most).
   *
   * @example Reading messages as they come
   * ```ts
   * import {
   *   E2EStream,
   *   initiate,
   *   memoryPair,
   *   Session,
   *   message,
   * } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   * import { filter, firstValueFrom, map } from "rxjs";
   *
   * const bodies = juliet.stanzas$.pipe(
   *   filter((stanza) => stanza.name === "message"),
   *   map((stanza) => stanza.getChildText("body")),
   * );
   * const first = firstValueFrom(bodies);
   * await romeo.send(message({ to: "juliet@pronto", body: "O, speak again" }));
   * assert.equal(await first, "O, speak again");
   * await romeo.close();
   * ```
   */
  get stanzas$(): Observable<Element> {
    return this.#session.stanzas$;
  }

  /**
   * The raw XML both ways.
   *
   * @example Watching the raw XML
   * ```ts
   * import {
   *   E2EStream,
   *   initiate,
   *   memoryPair,
   *   Session,
   *   message,
   * } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   * import { filter, firstValueFrom } from "rxjs";
   *
   * const out = firstValueFrom(romeo.trace$.pipe(filter((entry) => entry.direction === "out")));
   * await romeo.send(message({ to: "juliet@pronto", body: "hi" }));
   * assert.match((await out).text, /<body>hi<\/body>/);
   * await romeo.close();
   * ```
   */
  get trace$(): Observable<TraceEntry> {
    return this.#session.trace$;
  }

  /**
   * negotiating, open, closing or closed.
   *
   * @example From open to closed
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * assert.equal(romeo.state, "open");
   * await romeo.close();
   * assert.equal(romeo.state, "closed");
   * ```
   */
  get state(): SessionState {
    return this.#session.state;
  }

  /**
   * Stream id, peer header and address, TLS facts, who authenticated.
   *
   * @example What negotiation established
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * assert.equal(romeo.info.peerAddress, "juliet@pronto");
   * assert.equal(romeo.info.id, juliet.info.id); // the recipient's id, on both ends
   * assert.equal(romeo.info.tls, undefined); // plaintext here
   * await romeo.close();
   * ```
   */
  get info(): StreamInfo {
    return infoOf(this.#session, this.#trustedBy, this.#certificateChecked);
  }

  /**
   * Resolves when the stream ended, with whether it ended cleanly.
   *
   * @example Waiting for the peer to close
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * const ended = romeo.closed;
   * await juliet.close(); // romeo answers with his own </stream:stream>
   * assert.deepEqual(await ended, { clean: true });
   * ```
   */
  get closed(): Promise<CloseResult> {
    return this.#session.closed;
  }

  /**
   * Sends a stanza. When more than `sendQueueLimit` bytes wait for a peer
   * that reads slowly, it waits its turn (and reading from that peer pauses
   * meanwhile).
   *
   * @example Sending a message
   * ```ts
   * import {
   *   E2EStream,
   *   initiate,
   *   memoryPair,
   *   Session,
   *   message,
   * } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   * import { firstValueFrom } from "rxjs";
   *
   * const heard = firstValueFrom(juliet.stanzas$);
   * await romeo.send(message({ to: "juliet@pronto", type: "chat", body: "Good night" }));
   * assert.equal((await heard).attrs.type, "chat");
   * await romeo.close();
   * ```
   *
   * @param stanza A message, presence or iq in the stream's namespace.
   * @returns Resolves once written to the transport.
   * @throws {StreamClosedError} When the stream is not open.
   */
  send(stanza: Element): Promise<void> {
    return this.#session.send(stanza);
  }

  /**
   * Sends an iq get/set and waits for its result. Every call settles: with
   * the reply, the peer's error, the deadline, the signal, or the stream's
   * end.
   *
   * @example Asking the peer and waiting for its answer
   * ```ts
   * import {
   *   E2EStream,
   *   initiate,
   *   memoryPair,
   *   Session,
   *   iq,
   *   iqResult,
   *   xml,
   * } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * juliet.onIq((request) =>
   *   request.getChild("time", "urn:xmpp:time")
   *     ? iqResult(request, xml("time", { xmlns: "urn:xmpp:time" }, xml("utc", null, "2026-01-01T00:00:00Z")))
   *     : undefined
   * );
   * const reply = await romeo.request(
   *   iq({ type: "get", to: "juliet@pronto" }, xml("time", { xmlns: "urn:xmpp:time" })),
   *   { timeoutMs: 5000 },
   * );
   * assert.equal(reply.getChild("time", "urn:xmpp:time")?.getChildText("utc"), "2026-01-01T00:00:00Z");
   * await romeo.close();
   * ```
   *
   * @param iq The request (with an id).
   * @param options A deadline for this request (ms) in place of
   *   `iqTimeoutMs`, and a signal that gives up waiting.
   * @returns The result iq.
   * @throws {StanzaError} When the peer answers with an error.
   * @throws {TimeoutError} When no answer comes in time.
   * @throws {StreamClosedError} When the stream is not open, or closed
   *   before the reply (a stream that failed rejects with its error).
   * @throws {LimitError} When `maxPendingRequests` requests already wait.
   */
  async request(iq: Element, options: RequestOptions = {}): Promise<Element> {
    const state = this.#session.state;
    if (state !== "open") {
      throw new StreamClosedError(state, "Cannot send the request");
    }
    // Nothing is sent for a request that is refused before it starts.
    options.signal?.throwIfAborted();
    if (options.timeoutMs !== undefined) checkIqTimeout(options.timeoutMs);
    if (this.#tracker.pending >= this.#maxPending) {
      throw new LimitError(
        "maxPendingRequests",
        this.#maxPending,
        "Cannot send the request",
      );
    }
    // A send that fails withdraws the request, with the send's error.
    const withdraw = new AbortController();
    const signal = options.signal === undefined
      ? withdraw.signal
      : AbortSignal.any([withdraw.signal, options.signal]);
    const answer = this.#tracker.request(iq, undefined, {
      ...(options.timeoutMs !== undefined
        ? { timeoutMs: options.timeoutMs }
        : {}),
      signal,
    });
    answer.catch(() => {}); // awaited below, unless the send failed first
    try {
      await this.#session.send(iq);
    } catch (error) {
      withdraw.abort(error);
      throw error;
    }
    return await answer;
  }

  /**
   * Pings the peer (XEP-0199) and measures the round trip. A peer that
   * does not answer pings replies `service-unavailable`, and the promise
   * rejects with that `StanzaError`: the peer is there all the same.
   *
   * @param options The address pinged (the stream peer when omitted), a
   *   deadline, a signal.
   * @returns The round trip in milliseconds.
   * @throws {StanzaError} When the peer answers with an error.
   * @throws {TimeoutError} When no answer comes in time.
   * @throws {StreamClosedError} When the stream is not open, or closes
   *   first.
   *
   * @example Pinging the other end
   * ```ts
   * import { initiate, memoryPair, Session, E2EStream } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const session = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   session.negotiate(),
   * ]);
   * const juliet = new E2EStream(session);
   * assert.ok(await romeo.ping({ timeoutMs: 5000 }) >= 0);
   * await Promise.all([romeo.close(), juliet.closed]);
   * ```
   */
  async ping(options: PeerRequestOptions = {}): Promise<number> {
    const start = performance.now();
    await this.request(pingIq(options.to), requestOptions(options));
    return performance.now() - start;
  }

  /**
   * Asks the peer who it is and what it supports (XEP-0030 `disco#info`).
   *
   * @param options The address asked (the stream peer when omitted), a
   *   deadline, a signal.
   * @returns Its identities and features.
   * @throws {StanzaError} When the peer answers with an error.
   * @throws {TypeError} When the result holds no `disco#info` query.
   *
   * @example Discovering the other end's features
   * ```ts
   * import { initiate, memoryPair, Session, E2EStream } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const session = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   session.negotiate(),
   * ]);
   * const juliet = new E2EStream(session);
   * juliet.handle("get", "urn:example:balcony", "query", () => undefined);
   * const info = await romeo.discoInfo();
   * assert.ok(info.features.includes("urn:xmpp:ping"));
   * assert.ok(info.features.includes("urn:example:balcony"));
   * await Promise.all([romeo.close(), juliet.closed]);
   * ```
   */
  async discoInfo(options: PeerRequestOptions = {}): Promise<DiscoInfo> {
    const reply = await this.request(
      discoInfoIq(options.to),
      requestOptions(options),
    );
    return parseDiscoInfo(reply);
  }

  /**
   * Asks the peer which software it runs (XEP-0092). Endpoints of this
   * package answer only when given `softwareVersion`.
   *
   * @param options The address asked (the stream peer when omitted), a
   *   deadline, a signal.
   * @returns Its name, version and, if it says, OS.
   * @throws {StanzaError} When the peer answers with an error
   *   (`service-unavailable` when it does not say).
   * @throws {TypeError} When the result holds no `jabber:iq:version` query.
   *
   * @example Asking the other end's version
   * ```ts
   * import { initiate, memoryPair, Session, E2EStream } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const session = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   session.negotiate(),
   * ]);
   * const juliet = new E2EStream(session, { answers: { softwareVersion: { name: "balcony", version: "1.0" } } });
   * assert.deepEqual(await romeo.softwareVersion(), { name: "balcony", version: "1.0" });
   * await Promise.all([romeo.close(), juliet.closed]);
   * ```
   */
  async softwareVersion(
    options: PeerRequestOptions = {},
  ): Promise<SoftwareVersion> {
    const reply = await this.request(
      versionIq(options.to),
      requestOptions(options),
    );
    return parseSoftwareVersion(reply);
  }

  /**
   * Registers a handler for inbound iq requests of this type whose payload
   * has this name and namespace. Handlers of one key are asked in the order
   * they were registered, before those of the listener that accepted the
   * stream, before the catch-all {@linkcode E2EStream.onIq} handlers and
   * before the built-in answers (a ping handler replaces the built-in one).
   * The namespace is listed in `disco#info` while the handler is registered.
   *
   * @param type `get` or `set`.
   * @param ns The payload's namespace.
   * @param name The payload's local name.
   * @param handler Answers with the reply iq, a payload for the `result`,
   *   a `StanzaError`, or `undefined` to pass.
   * @returns A function that removes the handler.
   * @throws {TypeError} When the type, name or namespace is not valid.
   *
   * @example Answering a custom request
   * ```ts
   * import { initiate, iq, memoryPair, Session, E2EStream, xml } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const session = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   session.negotiate(),
   * ]);
   * const juliet = new E2EStream(session);
   * const stop = juliet.handle("get", "urn:example:time", "time", () =>
   *   xml("time", { xmlns: "urn:example:time" }, "dawn"));
   * const reply = await romeo.request(iq({ type: "get" }, xml("time", { xmlns: "urn:example:time" })));
   * assert.equal(reply.getChildText("time", "urn:example:time"), "dawn");
   * stop();
   * await Promise.all([romeo.close(), juliet.closed]);
   * ```
   */
  handle(
    type: "get" | "set",
    ns: string,
    name: string,
    handler: IqHandler,
  ): () => void {
    return this.#router.handle(type, ns, name, handler);
  }

  /**
   * Registers a catch-all handler for inbound iq get/set: asked, in order,
   * for every request no {@linkcode E2EStream.handle} handler answered,
   * before the built-in answers. An iq nothing answers gets
   * `service-unavailable`, one whose handler throws gets
   * `internal-server-error` (or the `StanzaError` it threw).
   *
   * @example Answering requests, and refusing the rest
   * ```ts
   * import {
   *   E2EStream,
   *   initiate,
   *   memoryPair,
   *   Session,
   *   iq,
   *   iqResult,
   *   StanzaError,
   *   xml,
   * } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * juliet.onIq((request) =>
   *   request.getChild("query", "urn:example:echo") ? iqResult(request) : undefined
   * );
   * const echo = iq({ type: "get", to: "juliet@pronto" }, xml("query", { xmlns: "urn:example:echo" }));
   * assert.equal((await romeo.request(echo)).attrs.type, "result");
   * // What no handler answers gets an error.
   * await assert.rejects(
   *   romeo.request(iq({ type: "get", to: "juliet@pronto" }, xml("query", { xmlns: "urn:example:other" }))),
   *   StanzaError,
   * );
   * await romeo.close();
   * ```
   *
   * @param handler The handler.
   * @returns A function that removes it.
   */
  onIq(handler: IqHandler): () => void {
    return this.#router.onIq(handler);
  }

  /**
   * Ends the stream with a stream error of ours (any RFC 6120 condition).
   *
   * @example Ending a stream with a stream error
   * ```ts
   * import {
   *   E2EStream,
   *   initiate,
   *   memoryPair,
   *   Session,
   *   StreamError,
   * } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * const result = await romeo.error("policy-violation", "Too many messages");
   * assert.equal(result.clean, false);
   * const seen = await juliet.closed;
   * assert.ok(seen.error instanceof StreamError);
   * assert.equal(seen.error.condition, "policy-violation");
   * ```
   *
   * @param condition The condition.
   * @param text An optional text.
   * @returns How it ended (never clean).
   */
  error(condition: StreamErrorCondition, text?: string): Promise<CloseResult> {
    return this.#session.error(condition, text);
  }

  /**
   * Closes in order (see `Session.close`). Idempotent.
   *
   * @example Closing in order, twice
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Two ends in one process, over memory, in plaintext (chosen by name).
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   *
   * assert.deepEqual(await romeo.close(), { clean: true });
   * assert.deepEqual(await romeo.close(), { clean: true }); // idempotent
   * ```
   *
   * @returns How it ended.
   */
  close(): Promise<CloseResult> {
    return this.#session.close();
  }

  async #answer(iq: Element): Promise<void> {
    let reply: Element | undefined;
    // A handler holds its place until it has answered; its reply then waits
    // in the send queue, which bounds replies by bytes.
    this.#answering++;
    try {
      reply = await this.#router.route(iq, this);
    } catch (error) {
      reply = failedReply(iq, error);
    } finally {
      this.#answering--;
      this.#handlersDone();
    }
    if (reply === undefined) return;
    // Serialized at once and queued without a promise: while it waits for
    // room, only its text stays behind (neither element, nor a closure).
    try {
      this.#session.post(reply, this.#replyFailed);
    } catch (error) {
      if (!(error instanceof TypeError)) return this.#replyFailed(error);
      // The handler's reply cannot be written as XML: say so instead.
      try {
        this.#session.post(failedReply(iq, error), () => {});
      } catch {
        // Not even that: nothing is owed beyond the failure above.
      }
    }
  }

  /** A queued reply that could not be written. */
  readonly #replyFailed = (error: unknown): void => {
    if (error instanceof StreamClosedError) return; // it ended anyway
    // Nothing is dropped silently: the stream ends, with this error.
    void this.#session.abort(
      error instanceof Error ? error : new Error(String(error)),
    );
  };
}

/** The request options among a peer request's. */
function requestOptions(options: PeerRequestOptions): RequestOptions {
  return {
    ...(options.timeoutMs !== undefined
      ? { timeoutMs: options.timeoutMs }
      : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
}

function failedReply(iq: Element, error: unknown): Element {
  return iqError(
    iq,
    "internal-server-error",
    undefined,
    error instanceof Error ? error.message : undefined,
  );
}

/**
 * What negotiation established on a session.
 *
 * @param session The session.
 * @param trustedBy What the peer's certificate was trusted by, if anything.
 * @param certificateChecked Whether the peer's certificate is checked
 *   whenever TLS is in place.
 * @returns The facts.
 */
export function infoOf(
  session: Session,
  trustedBy?: TrustedBy,
  certificateChecked = false,
): StreamInfo {
  const encrypted = session.tls !== undefined;
  return {
    id: session.id,
    peer: session.peerHeader,
    tls: session.tls,
    encrypted,
    authenticated: (encrypted && certificateChecked) ||
      (session.role === "recipient" && session.identity !== undefined),
    identity: session.identity,
    peerAddress: session.peerAddress,
    trustedBy,
    sasl: session.sasl,
  };
}

/** Runs two certificate checks in turn (either may be absent). */
export function composeVerify(
  first: SessionOptions["verifyTls"],
  second: SessionOptions["verifyTls"],
): SessionOptions["verifyTls"] {
  if (first === undefined) return second;
  if (second === undefined) return first;
  return async (tls, peer) => {
    await first(tls, peer);
    await second(tls, peer);
  };
}

/** Hands a session's trace to the `trace` option, if any. */
export function traceFrom(
  session: Session,
  trace: StreamOptions["trace"],
  settings: E2EStreamSettings = {},
): void {
  if (trace === undefined) return;
  // One object per stream, brought up to date before each call, so that a
  // tracer can keep state per stream (consoleTrace's redaction).
  const current = () =>
    infoOf(session, settings.trustedBy, settings.certificateChecked);
  const info = current();
  session.trace$.subscribe((entry) =>
    trace(entry, Object.assign(info, current()))
  );
}

/** The options a listener or initiator passes on to its sessions. */
const PASSED_ON = [
  "from",
  "lang",
  "declaration",
  "legacy",
  "features",
  "limits",
  "preAuthLimits",
  "negotiationTimeoutMs",
  "headerTimeoutMs",
  "stanzaTimeoutMs",
  "closeTimeoutMs",
  "stallTimeoutMs",
  "verifyTls",
  "keepaliveMs",
  "idleTimeoutMs",
  "sendQueueLimit",
  "receiveBufferLimit",
] as const;

/** The session options of a listener's or initiator's options. */
export function sessionOptions(
  options: StreamOptions,
): Pick<SessionOptions, (typeof PASSED_ON)[number] | "ns" | "tls"> {
  const picked: Partial<SessionOptions> = {
    ns: options.ns ?? CLIENT_NS,
    tls: options.tls ?? "required",
  };
  // Only what was given: with exactOptionalPropertyTypes, an absent option
  // and one set to undefined differ.
  for (const key of PASSED_ON) {
    if (options[key] !== undefined) {
      Object.assign(picked, { [key]: options[key] });
    }
  }
  return picked;
}

/** The limits an E2EStream takes from a listener's or initiator's options. */
export function streamLimits(options: StreamOptions): E2EStreamSettings {
  return {
    iqTimeoutMs: options.iqTimeoutMs,
    maxPendingRequests: options.maxPendingRequests,
    maxIqHandlers: options.maxIqHandlers,
    answers: {
      ping: options.ping,
      disco: options.disco,
      softwareVersion: options.softwareVersion,
    },
  };
}
