/**
 * The public API of end-to-end streams (XEP-0246): `initiate()` opens a
 * stream to a peer, `listen()` accepts streams from peers; each gives an
 * {@linkcode E2EStream} once headers, features and STARTTLS are done.
 *
 * @module
 */

import type { Observable } from "rxjs";
import type { Element } from "./xml/element.ts";
import { CLIENT_NS } from "./stream/constants.ts";
import {
  NegotiationError,
  type StreamErrorCondition,
} from "./stream/errors.ts";
import {
  type CloseResult,
  Session,
  type SessionOptions,
  type SessionState,
  type TraceEntry,
} from "./stream/session.ts";
import type { StreamHeader } from "./stream/header.ts";
import type { TlsInfo, Transport } from "./transport/transport.ts";
import { connectTcp } from "./transport/deno_tcp.ts";
import {
  connectTcpNode,
  listenTcp,
  type TcpListener,
} from "./transport/node_tcp.ts";
import { IqTracker, unhandledIqReply } from "./stanza/iq_tracker.ts";
import { iqError } from "./stanza/stanza.ts";

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
    | "features"
    | "limits"
    | "preAuthLimits"
    | "negotiationTimeoutMs"
    | "closeTimeoutMs"
    | "verifyTls"
    | "keepaliveMs"
    | "idleTimeoutMs"
    | "sendQueueLimit"
  > {
  /** Deadline of `request()` in ms. Default 30,000. */
  iqTimeoutMs?: number;
  /**
   * Called with the raw XML both ways from the first byte (the `trace$` of
   * a stream only starts once it is negotiated).
   */
  trace?: (entry: TraceEntry, stream: StreamInfo) => void;
}

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

/** Options of {@linkcode listen}. */
export interface ListenOptions extends StreamOptions {
  /** Address to bind. Default 127.0.0.1. */
  hostname?: string;
  /** Port to bind; 0 (default) picks a free one. */
  port?: number;
  /** This endpoint's certificate and key (PEM), for STARTTLS. */
  certificate?: { cert: string; key: string };
  /**
   * Accept only initiators that present exactly this client certificate
   * (SHA-256 fingerprint); asks every initiator for a certificate.
   */
  pinnedPeerFingerprint256?: string;
  /** Ask initiators for a client certificate (implied by the pin). */
  requestClientCertificate?: boolean;
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
   * Who authenticated (SASL): the peer on the recipient, this end on the
   * initiator; undefined without authentication.
   */
  identity: string | undefined;
}

/** An inbound iq get/set handler: returns the reply, or undefined to pass. */
export type IqHandler = (
  iq: Element,
) => Element | undefined | Promise<Element | undefined>;

/**
 * One negotiated end-to-end stream.
 */
export class E2EStream {
  readonly #session: Session;
  readonly #tracker: IqTracker;
  readonly #handlers: IqHandler[] = [];

  /**
   * Wraps a negotiated session.
   *
   * @param session The session, negotiated.
   * @param iqTimeoutMs Deadline of `request()`.
   */
  constructor(session: Session, iqTimeoutMs = 30_000) {
    this.#session = session;
    this.#tracker = new IqTracker({
      timeoutMs: iqTimeoutMs,
      ...(session.peerHeader?.from !== undefined
        ? { streamPeer: session.peerHeader.from }
        : {}),
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
    session.closed.then((result) =>
      this.#tracker.close(result.error ?? new Error("The stream closed"))
    );
  }

  /**
   * Inbound stanzas: messages and presences, and iq replies that no request
   * waits for. iq requests go to {@linkcode E2EStream.onIq} handlers (and are
   * answered `service-unavailable` when none does); replies go to
   * {@linkcode E2EStream.request}. Stanzas that arrive before the first
   * subscription are kept for it (up to 1,024, then reading pauses).
   */
  get stanzas$(): Observable<Element> {
    return this.#session.stanzas$;
  }

  /** The raw XML both ways. */
  get trace$(): Observable<TraceEntry> {
    return this.#session.trace$;
  }

  /** negotiating, open, closing or closed. */
  get state(): SessionState {
    return this.#session.state;
  }

  /** Stream id, peer header, TLS facts. */
  get info(): StreamInfo {
    return {
      id: this.#session.id,
      peer: this.#session.peerHeader,
      tls: this.#session.tls,
      identity: this.#session.identity,
    };
  }

  /** Resolves when the stream ended, with whether it ended cleanly. */
  get closed(): Promise<CloseResult> {
    return this.#session.closed;
  }

  /**
   * Sends a stanza.
   *
   * @param stanza A message, presence or iq in the stream's namespace.
   * @returns Resolves once written to the transport.
   */
  send(stanza: Element): Promise<void> {
    return this.#session.send(stanza);
  }

  /**
   * Sends an iq get/set and waits for its result.
   *
   * @param iq The request (with an id).
   * @returns The result iq.
   * @throws {StanzaError} When the peer answers with an error.
   * @throws {TimeoutError} When no answer comes in time.
   */
  async request(iq: Element): Promise<Element> {
    const answer = this.#tracker.request(iq);
    await this.#session.send(iq);
    return await answer;
  }

  /**
   * Registers a handler for inbound iq get/set. Handlers are asked in
   * order; an iq none answers gets `service-unavailable`.
   *
   * @param handler The handler.
   */
  onIq(handler: IqHandler): void {
    this.#handlers.push(handler);
  }

  /**
   * Ends the stream with a stream error of ours (any RFC 6120 condition).
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
   * @returns How it ended.
   */
  close(): Promise<CloseResult> {
    return this.#session.close();
  }

  async #answer(iq: Element): Promise<void> {
    let reply: Element | undefined;
    try {
      for (const handler of this.#handlers) {
        reply = await handler(iq);
        if (reply !== undefined) break;
      }
      reply ??= unhandledIqReply(iq);
    } catch (error) {
      // A handler that throws answers internal-server-error, not silence.
      reply = iqError(
        iq,
        "internal-server-error",
        undefined,
        error instanceof Error ? error.message : undefined,
      );
    }
    if (reply !== undefined) await this.#session.send(reply).catch(() => {});
  }
}

function sameFingerprint(a: string | undefined, b: string): boolean {
  const norm = (f: string) => f.replace(/:/g, "").toUpperCase();
  return a !== undefined && norm(a) === norm(b);
}

function traceFrom(session: Session, trace: StreamOptions["trace"]): void {
  if (trace === undefined) return;
  session.trace$.subscribe((entry) =>
    trace(entry, {
      id: session.id,
      peer: session.peerHeader,
      tls: session.tls,
      identity: session.identity,
    })
  );
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
  return new E2EStream(session, options.iqTimeoutMs);
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

/** The options a listener or initiator passes on to its sessions. */
const PASSED_ON = [
  "from",
  "lang",
  "declaration",
  "features",
  "limits",
  "preAuthLimits",
  "negotiationTimeoutMs",
  "closeTimeoutMs",
  "verifyTls",
  "keepaliveMs",
  "idleTimeoutMs",
  "sendQueueLimit",
] as const;

function sessionOptions(
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

/** Negotiations a listener runs at once, and streams it keeps unaccepted. */
const MAX_NEGOTIATING = 64;
const BACKLOG = 64;

/**
 * Accepts streams from peers. From the first `accept()` on, connections are
 * negotiated concurrently (up to 64 at once, each within its negotiation
 * deadline) and queued as they become ready, so a slow or silent client
 * holds up no one else; past 64 negotiated streams waiting to be accepted,
 * the listener stops taking connections (TCP's backlog pushes back).
 */
export class E2EListener {
  readonly #listener: TcpListener;
  readonly #options: ListenOptions;
  readonly #ready: E2EStream[] = [];
  readonly #waiters: ((stream: E2EStream | null) => void)[] = [];
  readonly #negotiating = new Set<Session>();
  #pump: Promise<void> | undefined;
  #room: (() => void) | undefined;
  #done = false;

  /**
   * Wraps a TCP listener.
   *
   * @param listener The listener.
   * @param options Stream options.
   */
  constructor(listener: TcpListener, options: ListenOptions) {
    this.#listener = listener;
    this.#options = options;
  }

  /** The bound address. */
  get addr(): { hostname: string; port: number } {
    return this.#listener.addr;
  }

  /**
   * The next stream a peer opened, negotiated. A connection whose
   * negotiation fails is closed (with the right stream error) and skipped.
   *
   * @returns The stream, or `null` once the listener is closed.
   */
  accept(): Promise<E2EStream | null> {
    this.#pump ??= this.#run();
    const ready = this.#ready.shift();
    if (ready !== undefined) {
      this.#room?.();
      return Promise.resolve(ready);
    }
    if (this.#done && this.#negotiating.size === 0) {
      return Promise.resolve(null);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Streams as they are accepted. */
  async *[Symbol.asyncIterator](): AsyncIterator<E2EStream> {
    for (;;) {
      const stream = await this.accept();
      if (stream === null) return;
      yield stream;
    }
  }

  /**
   * Stops listening. Streams already accepted go on; negotiations under way
   * are cut, and negotiated streams nobody accepted end with
   * `system-shutdown`.
   */
  async close(): Promise<void> {
    this.#done = true;
    await this.#listener.close();
    for (const session of this.#negotiating) {
      void session.error("system-shutdown");
    }
    for (const stream of this.#ready.splice(0)) {
      void stream.error("system-shutdown");
    }
    this.#room?.();
    await this.#pump;
    this.#settle();
  }

  async #run(): Promise<void> {
    while (!this.#done) {
      while (
        !this.#done &&
        (this.#negotiating.size >= MAX_NEGOTIATING ||
          this.#ready.length >= BACKLOG)
      ) {
        await new Promise<void>((resolve) => this.#room = resolve);
        this.#room = undefined;
      }
      if (this.#done) break;
      const transport = await this.#listener.accept();
      if (transport === null) break;
      void this.#negotiate(transport);
    }
    this.#done = true;
    this.#settle();
  }

  async #negotiate(transport: Transport): Promise<void> {
    const pin = this.#options.pinnedPeerFingerprint256;
    const verify = this.#options.verifyTls;
    const session = new Session({
      role: "recipient",
      transport,
      ...sessionOptions(this.#options),
      verifyTls: async (tls) => {
        if (
          pin !== undefined && !sameFingerprint(tls.peerFingerprint256, pin)
        ) {
          throw new NegotiationError(
            "starttls",
            `The initiator's certificate is not the pinned one (got ${
              tls.peerFingerprint256 ?? "none"
            })`,
          );
        }
        await verify?.(tls);
      },
    });
    traceFrom(session, this.#options.trace);
    this.#negotiating.add(session);
    try {
      await session.negotiate();
      const stream = new E2EStream(session, this.#options.iqTimeoutMs);
      if (this.#done) void stream.error("system-shutdown");
      else {
        const waiter = this.#waiters.shift();
        if (waiter !== undefined) waiter(stream);
        else this.#ready.push(stream);
      }
    } catch {
      // The stream error went out and the connection closed; skip it.
    } finally {
      this.#negotiating.delete(session);
      this.#room?.();
      this.#settle();
    }
  }

  /** Once closed and idle, waiting accepts get null. */
  #settle(): void {
    if (!this.#done || this.#negotiating.size > 0) return;
    for (const waiter of this.#waiters.splice(0)) waiter(null);
  }
}

/**
 * Listens for streams over TCP on loopback (by default).
 *
 * @param options Address, certificate, stream options.
 * @returns The listener.
 */
export async function listen(options: ListenOptions): Promise<E2EListener> {
  const requestCert = options.requestClientCertificate === true ||
    options.pinnedPeerFingerprint256 !== undefined;
  const listener = await listenTcp({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    ...(options.certificate
      ? {
        tls: {
          ...options.certificate,
          ...(requestCert ? { requestCert } : {}),
        },
      }
      : {}),
  });
  return new E2EListener(listener, options);
}
