// listen(): the recipient's side, with admission control in front of
// negotiation.

/**
 * RxJS's types are documented by the rxjs package: `@ignore` tells
 * `deno doc --lint` not to ask this package to export them.
 * @ignore
 */
import { type Observable, Subject } from "rxjs";
import { NegotiationError, TimeoutError } from "../stream/errors.ts";
import { Session } from "../stream/session.ts";
import type { AdmitVerdict } from "../stream/legacy.ts";
import type { PeerAddress, Transport } from "../transport/transport.ts";
import { listenTcp, type TcpListener } from "../transport/node_tcp.ts";
import { normalizePin } from "../transport/_node_socket.ts";
import {
  addressKey,
  Admission,
  type Admitted,
  defaultMaxConnections,
} from "./admission.ts";
import { checkTrust, recipientCheck, type Trust, trustedBy } from "./trust.ts";
import { IqRouter } from "../stanza/iq_router.ts";
import {
  composeVerify,
  E2EStream,
  type IqHandler,
  sessionOptions,
  streamLimits,
  type StreamOptions,
  traceFrom,
} from "./e2e_stream.ts";

/**
 * The default of {@linkcode ListenOptions.maxPending}.
 *
 * @example The default
 * ```ts
 * import { DEFAULT_MAX_PENDING } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_PENDING, 256);
 * ```
 */
export const DEFAULT_MAX_PENDING = 256;
/**
 * The default of {@linkcode ListenOptions.maxPendingPerAddress}.
 *
 * @example The default
 * ```ts
 * import { DEFAULT_MAX_PENDING_PER_ADDRESS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MAX_PENDING_PER_ADDRESS, 8);
 * ```
 */
export const DEFAULT_MAX_PENDING_PER_ADDRESS = 8;

/** What an initiator claims, as {@linkcode ListenOptions.admit} sees it. */
export interface AdmitClaim {
  /** The `from` of its first stream header, as sent (not normalised). */
  from: string | undefined;
  /** The `to` of its first stream header, as sent. */
  to: string | undefined;
  /** The connection's source address and port. */
  remote: PeerAddress;
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
   * How initiators' client certificates are trusted: CA certificates (the
   * certificate valid for the domain of the `from` in the initiator's
   * header), a pinned fingerprint, or trust on first use with a `KnownPeers`
   * store keyed on that `from` (see {@linkcode Trust}). Checked right after
   * the TLS handshake, before anything else is said; every initiator is
   * asked for a certificate, and one without is refused.
   */
  trust?: Trust;
  /**
   * Accept only initiators that present exactly this client certificate
   * (SHA-256 fingerprint); the same as `trust: { pinnedFingerprint256 }`.
   */
  pinnedPeerFingerprint256?: string;
  /**
   * The addresses this listener answers to; a header whose `to` is another
   * one ends with `host-unknown`. Default: `from` alone.
   */
  addresses?: string[];
  /**
   * Decides whether to take an initiator on what it claims: asked when its
   * first stream header arrives, before anything is answered, with the
   * header's `from` and `to` and the connection's source. `false` refuses
   * it: the stream ends with `invalid-from` (RFC 6120 section 4.9.3.10: the
   * claimed address is not one taken from there), counted in
   * `stats.notAdmitted` and told on `failures$`. `{ tls }` admits it under
   * that TLS policy in place of the listener's `tls` (say `"optional"` for
   * a legacy peer let in unencrypted by name). A check that throws or
   * rejects refuses with `internal-server-error`. The negotiation deadline
   * bounds a check that takes long.
   */
  admit?: (claim: AdmitClaim) => AdmitVerdict | Promise<AdmitVerdict>;
  /** Ask initiators for a client certificate (implied by the pin). */
  requestClientCertificate?: boolean;
  /**
   * Most connections negotiating at once (headers, STARTTLS, SASL: not
   * authenticated yet). When full, the negotiating connection that moved
   * last the longest ago, from the address that holds the most of them,
   * is cut (`resource-constraint`) to make room. Default 256.
   */
  maxPending?: number;
  /**
   * Most connections negotiating at once from one source address (an IPv4
   * address, an IPv6 /64); more are closed at once. Default 8.
   */
  maxPendingPerAddress?: number;
  /**
   * Most connections in all, negotiating and open, kept below the process's
   * open-file limit; past it new connections are closed at once (or a
   * negotiating one gives way). Default: 80% of the open-file limit when it
   * can be read (Linux, where Deno allows reading `/proc/self/limits` only
   * with all permissions), else 800.
   */
  maxConnections?: number;
}

/** What a listener counted since it started. */
export interface ListenerStats {
  /** Connections taken from the system. */
  accepted: number;
  /** Connections negotiating now. */
  negotiating: number;
  /** Streams negotiated and not closed yet (accepted or waiting). */
  open: number;
  /** Streams negotiated so far. */
  negotiated: number;
  /** Connections closed at once: their address already negotiated the most. */
  refusedPerAddress: number;
  /** Connections closed at once: the listener was full of open streams. */
  refusedCapacity: number;
  /** Negotiating connections cut to make room for a newer one. */
  evicted: number;
  /** Negotiations that failed (bad input, deadlines, refusals, hang-ups). */
  failed: number;
  /** Of those, how many `admit` refused (or failed on). */
  notAdmitted: number;
  /** Of those, how many ran out of time (header or negotiation deadline). */
  timedOut: number;
  /**
   * Times the process had no file descriptor left for a connection; each
   * lowers `maxConnections` under the count of the moment and cuts the
   * stalest negotiating connections down to it.
   */
  outOfFiles: number;
  /** `maxConnections` as it stands (lowered when files ran out). */
  maxConnections: number;
}

/** A negotiation that failed, as {@linkcode E2EListener.failures$} tells. */
export interface ListenerFailure {
  /** The connection's source. */
  remote: PeerAddress | undefined;
  /** What ended it (a typed error of the stream or transport tier). */
  error: Error;
}

/** Negotiated streams kept for accept(); past it, no new connection is taken. */
const BACKLOG = 64;
/** How far under the count of the moment files running out caps connections. */
const OUT_OF_FILES_MARGIN = 16;
/** What listen() hands the TCP listener's accept errors to. */
const ACCEPT_ERRORS = new WeakMap<E2EListener, (error: Error) => void>();

/**
 * Accepts streams from peers. From the first `accept()` on, connections are
 * negotiated concurrently, each within its deadlines, under admission
 * control (see {@linkcode ListenOptions.maxPending}), and queued as they
 * become ready, so a slow, silent or hostile client holds up no one else.
 * Past 64 negotiated streams waiting to be accepted, the listener stops
 * taking connections (they wait in the system's backlog).
 *
 * @example Accepting streams in a loop
 * ```ts
 * import { initiate, listen } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * // Plaintext on loopback, chosen by name (TLS needs a certificate: see listen()).
 * const listener = await listen({ from: "juliet@pronto", tls: "off" });
 * const served = (async () => {
 *   for await (const stream of listener) {
 *     assert.equal(stream.info.peerAddress, "romeo@forza");
 *     await stream.closed;
 *   }
 * })();
 * const romeo = await initiate({
 *   from: "romeo@forza",
 *   to: "juliet@pronto",
 *   hostname: "127.0.0.1",
 *   port: listener.addr.port,
 *   tls: "off",
 * });
 * await romeo.close();
 * await listener.close(); // ends the loop
 * await served;
 * ```
 */
export class E2EListener {
  readonly #listener: TcpListener;
  readonly #options: ListenOptions;
  readonly #admission: Admission;
  readonly #ready: E2EStream[] = [];
  readonly #waiters: ((stream: E2EStream | null) => void)[] = [];
  readonly #negotiating = new Map<Admitted, Session>();
  readonly #evicted = new WeakSet<Session>();
  readonly #failures = new Subject<ListenerFailure>();
  // Only a registry: each stream answers with its own built-in answers.
  readonly #router = new IqRouter<E2EStream>({ ping: false, disco: false });
  readonly #stats: Omit<
    ListenerStats,
    "negotiating" | "open" | "maxConnections"
  > = {
    accepted: 0,
    negotiated: 0,
    refusedPerAddress: 0,
    refusedCapacity: 0,
    evicted: 0,
    failed: 0,
    notAdmitted: 0,
    timedOut: 0,
    outOfFiles: 0,
  };
  #open = 0;
  #pump: Promise<void> | undefined;
  #room: (() => void) | undefined;
  #done = false;

  /**
   * Wraps a TCP listener.
   *
   * @example Made by listen()
   * ```ts
   * import { initiate, listen } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Plaintext on loopback, chosen by name (TLS needs a certificate: see listen()).
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * assert.equal(listener.addr.hostname, "127.0.0.1");
   * await listener.close();
   * ```
   *
   * @param listener The listener.
   * @param options Stream options.
   */
  constructor(listener: TcpListener, options: ListenOptions) {
    this.#listener = listener;
    this.#options = options;
    this.#admission = new Admission({
      maxPending: options.maxPending ?? DEFAULT_MAX_PENDING,
      maxPendingPerAddress: options.maxPendingPerAddress ??
        DEFAULT_MAX_PENDING_PER_ADDRESS,
      maxConnections: options.maxConnections ?? defaultMaxConnections(),
    });
    ACCEPT_ERRORS.set(this, (error) => this.#outOfFiles(error));
  }

  /**
   * The TCP listener could not take a connection for want of file
   * descriptors: no more than there are now, and the stalest negotiating
   * connections go to make room (see {@linkcode ListenerStats.outOfFiles}).
   */
  #outOfFiles(error: Error): void {
    if (!/os error (?:23|24)\b|EMFILE|ENFILE/.test(error.message)) return;
    this.#stats.outOfFiles++;
    for (const victim of this.#admission.lower(OUT_OF_FILES_MARGIN)) {
      this.#evict(victim);
    }
  }

  /**
   * The bound address.
   *
   * @example The port picked
   * ```ts
   * import { initiate, listen } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Plaintext on loopback, chosen by name (TLS needs a certificate: see listen()).
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * assert.ok(listener.addr.port > 0);
   * await listener.close();
   * ```
   */
  get addr(): { hostname: string; port: number } {
    return this.#listener.addr;
  }

  /**
   * Counters since the listener started.
   *
   * @example Counting streams
   * ```ts
   * import { initiate, listen } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Plaintext on loopback, chosen by name (TLS needs a certificate: see listen()).
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * const accepted = listener.accept();
   * const romeo = await initiate({
   *   from: "romeo@forza",
   *   to: "juliet@pronto",
   *   hostname: "127.0.0.1",
   *   port: listener.addr.port,
   *   tls: "off",
   * });
   * await accepted;
   * assert.equal(listener.stats.negotiated, 1);
   * await romeo.close();
   * await listener.close();
   * ```
   */
  get stats(): ListenerStats {
    return {
      ...this.#stats,
      negotiating: this.#admission.pending,
      open: this.#open,
      maxConnections: this.#admission.maxConnections,
    };
  }

  /**
   * Negotiations that failed, with the connection's source and the typed
   * error, as they happen (connections refused or cut by admission control
   * are only counted in {@linkcode E2EListener.stats}).
   *
   * @example Hearing about failed negotiations
   * ```ts
   * import { initiate, listen, StreamError } from "@xmpp-e2e/streams";
   * import { firstValueFrom } from "rxjs";
   * import assert from "node:assert/strict";
   *
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * const failure = firstValueFrom(listener.failures$);
   * listener.accept(); // negotiation starts with the first accept()
   * // An initiator that asks for an address this listener does not serve.
   * await assert.rejects(
   *   initiate({ from: "romeo@forza", to: "nurse@pronto", hostname: "127.0.0.1", port: listener.addr.port, tls: "off" }),
   *   StreamError,
   * );
   * const { error } = await failure;
   * assert.ok(error instanceof StreamError && error.condition === "host-unknown");
   * await listener.close();
   * ```
   */
  get failures$(): Observable<ListenerFailure> {
    return this.#failures.asObservable();
  }

  /**
   * The next stream a peer opened, negotiated. A connection whose
   * negotiation fails is closed (with the right stream error) and skipped.
   *
   * @example One stream, then no more
   * ```ts
   * import { initiate, listen } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Plaintext on loopback, chosen by name (TLS needs a certificate: see listen()).
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * const accepted = listener.accept();
   * const romeo = await initiate({
   *   from: "romeo@forza",
   *   to: "juliet@pronto",
   *   hostname: "127.0.0.1",
   *   port: listener.addr.port,
   *   tls: "off",
   * });
   * const juliet = await accepted;
   * assert.equal(juliet?.info.peerAddress, "romeo@forza");
   * await romeo.close();
   * await listener.close();
   * assert.equal(await listener.accept(), null);
   * ```
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

  /**
   * Registers an iq handler for every stream this listener accepts, those
   * accepted already included (see {@linkcode E2EStream.handle}): a stream's
   * own handlers for the key are asked first, then the listener's. The
   * handler gets the stream the request came on.
   *
   * @param type `get` or `set`.
   * @param ns The payload's namespace.
   * @param name The payload's local name.
   * @param handler Answers with the reply iq, a payload for the `result`,
   *   a `StanzaError`, or `undefined` to pass.
   * @returns A function that removes the handler from every stream.
   * @throws {TypeError} When the type, name or namespace is not valid.
   *
   * @example A time service for every peer
   * ```ts
   * import { generateCertificate, initiate, iq, listen, xml } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const { certPem, keyPem } = await generateCertificate({ names: ["pronto"] });
   * const listener = await listen({ from: "juliet@pronto", certificate: { cert: certPem, key: keyPem } });
   * listener.handle("get", "urn:example:time", "time", (_request, stream) =>
   *   xml("time", { xmlns: "urn:example:time" }, `dawn, ${stream.info.peerAddress}`));
   * const accepted = listener.accept();
   * const romeo = await initiate({
   *   from: "romeo@forza", to: "juliet@pronto",
   *   hostname: "127.0.0.1", port: listener.addr.port, caCerts: [certPem],
   * });
   * const juliet = (await accepted)!;
   * const reply = await romeo.request(iq({ type: "get" }, xml("time", { xmlns: "urn:example:time" })));
   * assert.equal(reply.getChildText("time", "urn:example:time"), "dawn, romeo@forza");
   * await Promise.all([romeo.close(), juliet.closed]);
   * await listener.close();
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
   * Registers a catch-all iq handler for every stream this listener accepts
   * (see {@linkcode E2EStream.onIq}), asked after each stream's own.
   *
   * @param handler The handler.
   * @returns A function that removes it from every stream.
   *
   * @example Logging every request nobody routed
   * ```ts
   * import { listen } from "@xmpp-e2e/streams";
   *
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * const stop = listener.onIq((request) => {
   *   console.log("unrouted", request.attrs.id);
   *   return undefined; // service-unavailable, as before
   * });
   * stop();
   * await listener.close();
   * ```
   */
  onIq(handler: IqHandler): () => void {
    return this.#router.onIq(handler);
  }

  /**
   * Streams as they are accepted.
   *
   * @example for await over the streams
   * ```ts
   * import { initiate, listen } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Plaintext on loopback, chosen by name (TLS needs a certificate: see listen()).
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * const first = (async () => {
   *   for await (const stream of listener) return stream;
   * })();
   * const romeo = await initiate({
   *   from: "romeo@forza",
   *   to: "juliet@pronto",
   *   hostname: "127.0.0.1",
   *   port: listener.addr.port,
   *   tls: "off",
   * });
   * assert.equal((await first)?.info.peerAddress, "romeo@forza");
   * await romeo.close();
   * await listener.close();
   * ```
   */
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
   *
   * @example Closing the listener
   * ```ts
   * import { initiate, listen } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * // Plaintext on loopback, chosen by name (TLS needs a certificate: see listen()).
   * const listener = await listen({ from: "juliet@pronto", tls: "off" });
   * await listener.close();
   * assert.equal(await listener.accept(), null);
   * ```
   */
  async close(): Promise<void> {
    this.#done = true;
    await this.#listener.close();
    for (const session of this.#negotiating.values()) {
      void session.cut("system-shutdown");
    }
    for (const stream of this.#ready.splice(0)) {
      void stream.error("system-shutdown");
    }
    this.#room?.();
    await this.#pump;
    this.#settle();
    this.#failures.complete();
  }

  async #run(): Promise<void> {
    try {
      while (!this.#done) {
        while (!this.#done && this.#ready.length >= BACKLOG) {
          await new Promise<void>((resolve) => this.#room = resolve);
          this.#room = undefined;
        }
        if (this.#done) break;
        const transport = await this.#listener.accept();
        if (transport === null) break;
        this.#stats.accepted++;
        this.#admit(transport);
      }
    } catch (error) {
      // The listener itself failed (not a connection): report it once.
      this.#failures.next({
        remote: undefined,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
    this.#done = true;
    this.#settle();
  }

  /** Admission control: negotiate, refuse at once, or make room first. */
  #admit(transport: Transport): void {
    const key = addressKey(transport.remote?.hostname);
    const decision = this.#admission.decide(key);
    if (!decision.admit) {
      if (decision.why === "per-address") this.#stats.refusedPerAddress++;
      else this.#stats.refusedCapacity++;
      transport.close();
      return;
    }
    if (decision.evict !== undefined) this.#evict(decision.evict);
    void this.#negotiate(transport, this.#admission.add(key, Date.now()));
  }

  /** Cuts a negotiating connection to make room. */
  #evict(victim: Admitted): void {
    const session = this.#negotiating.get(victim);
    this.#negotiating.delete(victim);
    // Counted until its negotiation ends (its connection closed), so that
    // what the cap bounds is the files held.
    if (session === undefined) this.#admission.remove(victim);
    else this.#admission.leave(victim);
    this.#stats.evicted++;
    if (session !== undefined) {
      this.#evicted.add(session);
      void session.cut(
        "resource-constraint",
        "too many connections are negotiating",
      );
    }
  }

  async #negotiate(transport: Transport, entry: Admitted): Promise<void> {
    let session: Session | undefined;
    let refused = false;
    const admit = this.#options.admit;
    try {
      const verifyTls = this.#verifyTls();
      session = new Session({
        role: "recipient",
        transport,
        ...sessionOptions(this.#options),
        ...(this.#options.addresses !== undefined
          ? { addresses: this.#options.addresses }
          : {}),
        ...(verifyTls !== undefined ? { verifyTls } : {}),
        ...(admit !== undefined
          ? {
            admit: async (header) => {
              refused = true; // until it says yes
              const verdict = await admit({
                from: header.from,
                to: header.to,
                remote: remoteOf(transport),
              });
              refused = verdict !== true &&
                (typeof verdict !== "object" || verdict === null);
              return verdict;
            },
          }
          : {}),
        onNegotiationStep: () => {
          entry.progress = Date.now();
        },
      });
      const trust = trustOf(this.#options);
      const checked = {
        trustedBy: trust === undefined ? undefined : trustedBy(trust),
        certificateChecked: trust !== undefined,
      };
      traceFrom(session, this.#options.trace, checked);
      this.#negotiating.set(entry, session);
      await session.negotiate();
      this.#negotiating.delete(entry);
      this.#admission.open(entry);
      this.#stats.negotiated++;
      this.#open++;
      void session.closed.then(() => {
        this.#open--;
        this.#admission.remove(entry);
      });
      const stream = new E2EStream(session, {
        ...streamLimits(this.#options),
        ...checked,
        inherit: [this.#router],
      });
      if (this.#done) void stream.error("system-shutdown");
      else {
        const waiter = this.#waiters.shift();
        if (waiter !== undefined) waiter(stream);
        else this.#ready.push(stream);
      }
    } catch (error) {
      // The stream error went out and the connection closes (within the
      // close deadline); skip it, counting it until it has closed.
      this.#negotiating.delete(entry);
      this.#admission.leave(entry);
      if (session === undefined) {
        transport.close();
        this.#admission.remove(entry);
      } else {
        const gone = () => this.#admission.remove(entry);
        void session.closed.then(gone, gone);
      }
      if (session === undefined || !this.#evicted.has(session)) {
        this.#stats.failed++;
        if (refused) this.#stats.notAdmitted++;
        if (error instanceof TimeoutError) this.#stats.timedOut++;
        this.#failures.next({
          remote: transport.remote,
          error: error instanceof Error ? error : new Error(String(error)),
        });
      }
    } finally {
      this.#room?.();
      this.#settle();
    }
  }

  /** The trust on the client certificate, then the application's check. */
  #verifyTls(): StreamOptions["verifyTls"] {
    const trust = trustOf(this.#options);
    return composeVerify(
      trust === undefined ? undefined : recipientCheck(trust),
      this.#options.verifyTls,
    );
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
 * @example Listening with STARTTLS, and a peer that trusts exactly this certificate
 * ```ts
 * import { generateCertificate, initiate, listen, message } from "@xmpp-e2e/streams";
 * import { firstValueFrom } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const pronto = await generateCertificate({ names: ["pronto"] });
 * const listener = await listen({
 *   from: "juliet@pronto",
 *   certificate: { cert: pronto.certPem, key: pronto.keyPem },
 * });
 * const accepted = listener.accept();
 * const romeo = await initiate({
 *   from: "romeo@forza",
 *   to: "juliet@pronto",
 *   hostname: "127.0.0.1",
 *   port: listener.addr.port,
 *   trust: { caCerts: [pronto.certPem] },
 * });
 * const juliet = (await accepted)!;
 * assert.ok(juliet.info.tls !== undefined);
 * const heard = firstValueFrom(juliet.stanzas$);
 * await romeo.send(message({ to: "juliet@pronto", body: "hi" }));
 * assert.equal((await heard).getChildText("body"), "hi");
 * await romeo.close();
 * await listener.close();
 * ```
 *
 * @param options Address, certificate, admission limits, stream options.
 * @returns The listener.
 * @throws {NegotiationError} When TLS is required (the default) and no
 *   certificate is given.
 * @throws {TypeError} When the pinned fingerprint is not 32 hex pairs, or
 *   a limit is not a positive integer.
 * @throws {TransportError} When the address cannot be listened on.
 */
export async function listen(options: ListenOptions): Promise<E2EListener> {
  checkListenOptions(options);
  const requestCert = options.requestClientCertificate === true ||
    trustOf(options) !== undefined;
  const made: { listener?: E2EListener } = {}; // for the accept errors
  const listener = await listenTcp({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onAcceptError: (error) => {
      if (made.listener) ACCEPT_ERRORS.get(made.listener)?.(error);
    },
    ...(options.certificate
      ? {
        tls: {
          ...options.certificate,
          ...(requestCert ? { requestCert } : {}),
        },
      }
      : {}),
  });
  made.listener = new E2EListener(listener, options);
  return made.listener;
}

/** A TCP connection's source (a listener's transports always have one). */
function remoteOf(transport: Transport): PeerAddress {
  const remote = transport.remote;
  if (remote === undefined) {
    throw new TypeError("Cannot admit: the connection has no source address");
  }
  return remote;
}

/** The one trust the options say, the older pin folded in. */
function trustOf(options: ListenOptions): Trust | undefined {
  if (options.trust !== undefined) return options.trust;
  const pin = options.pinnedPeerFingerprint256;
  return pin === undefined ? undefined : { pinnedFingerprint256: pin };
}

/** Refuses, before anything listens, options that cannot work. */
function checkListenOptions(options: ListenOptions): void {
  const tls = options.tls ?? "required";
  if (tls !== "off" && !options.certificate) {
    throw new NegotiationError(
      "starttls",
      `Cannot listen: tls: "${tls}" offers STARTTLS, which needs a certificate (give certificate, or tls: "off" to listen in plaintext)`,
    );
  }
  const pin = options.pinnedPeerFingerprint256;
  if (pin !== undefined && normalizePin(pin) === undefined) {
    throw new TypeError(
      "Cannot listen: pinnedPeerFingerprint256 is not 32 hex pairs",
    );
  }
  if (pin !== undefined && options.trust !== undefined) {
    throw new TypeError(
      "Cannot listen: give trust or pinnedPeerFingerprint256, not both",
    );
  }
  checkTrust(options.trust, "Cannot listen");
  for (
    const key of [
      "maxPending",
      "maxPendingPerAddress",
      "maxConnections",
    ] as const
  ) {
    const value = options[key];
    if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
      throw new TypeError(
        `Cannot listen: ${key} must be a positive integer (got ${value})`,
      );
    }
  }
}
