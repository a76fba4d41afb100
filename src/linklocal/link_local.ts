/**
 * A link-local endpoint (XEP-0174): advertises itself, browses for peers,
 * and opens and accepts end-to-end streams with them, one per peer, under
 * TLS with trust on first use keyed on the peers' instance names.
 *
 * @module
 */

/**
 * RxJS's types are documented by the rxjs package: `@ignore` tells
 * `deno doc --lint` not to ask this package to export them.
 * @ignore
 */
import { BehaviorSubject, type Observable, Subject } from "rxjs";
import { initiate } from "../endpoint/initiate.ts";
import {
  type E2EListener,
  listen,
  type ListenerFailure,
  type ListenOptions,
} from "../endpoint/listen.ts";
import type { E2EStream, StreamOptions } from "../endpoint/e2e_stream.ts";
import { connectTcpNode } from "../transport/node_tcp.ts";
import { KnownPeers } from "../transport/known_peers.ts";
import type { Transport } from "../transport/transport.ts";
import { TransportError } from "../transport/transport.ts";
import { advertise, type Advertisement, splitInstance } from "./advertise.ts";
import { browse } from "./browse.ts";
import { type Identity, loadIdentity } from "./identity.ts";
import type { LinkLocalPeer, PeerEvent } from "./peer.ts";
import type { PresenceInfo } from "./txt.ts";

/** Options of {@linkcode LinkLocal.start}. */
export interface LinkLocalOptions {
  /** Our instance name, `user@machine` (renamed `user-1@machine` on a conflict). */
  name: string;
  /**
   * Where our certificate (`cert.pem`, `key.pem`, made on first start) and
   * the peers we met (`known_peers.json`) are kept.
   */
  dir: string;
  /** Interfaces to run on. Default: every one but loopback. */
  interfaces?: string[];
  /** The port to listen on. Default: one the system picks. */
  port?: number;
  /** What our TXT record says (personal fields only when given). */
  presence?: PresenceInfo;
  /**
   * Asked when a peer shows a certificate for the first time; resolve true
   * to trust it from now on. Default: trusted (trust on first use). A peer
   * that later shows another certificate is refused with
   * `PeerChangedError` whatever this says.
   */
  approve?: (
    peer: string,
    fingerprint256: string,
  ) => boolean | Promise<boolean>;
  /**
   * Peers that cannot do TLS (deployed clients such as Pidgin or Gajim)
   * allowed by instance name: streams with them run without TLS when they
   * do not offer it (as initiators, when they do not ask for it), and are
   * then unencrypted and unauthenticated ({@linkcode LinkLocalStream}).
   * Default: none; every other stream needs TLS.
   */
  allowPlaintext?: string[];
  /** How long to try each of a peer's addresses, ms. Default 5,000. */
  connectTimeoutMs?: number;
  /** Stream options (limits, deadlines) for every stream. */
  stream?: Omit<StreamOptions, "from" | "tls" | "verifyTls">;
}

/** A stream with a peer, as {@linkcode LinkLocal.streams$} tells it. */
export interface LinkLocalStream {
  /** The peer's instance name. */
  peer: string;
  /** Who opened it: we (`outgoing`) or the peer (`incoming`). */
  direction: "incoming" | "outgoing";
  /** The stream. */
  stream: E2EStream;
  /** Whether it runs over TLS. */
  encrypted: boolean;
  /**
   * Whether the peer proved its certificate is the one known for its name
   * (trust on first use). A stream with a peer allowed without TLS is
   * neither: the application should tell its user so.
   */
  authenticated: boolean;
}

/** A stream opened in the last seconds wins a crossing one (see below). */
const CROSSING_MS = 10_000;

/** How long an initiator not seen on the link yet is waited for. */
const RESOLVE_WAIT_MS = 3000;

const key = (name: string) => name.toLowerCase();

/**
 * A link-local endpoint. Start it with {@linkcode LinkLocal.start}.
 *
 * - **Found and finding.** It advertises `user@machine` with a TXT record
 *   (`txtvers=1`, `port.p2pj`, `status`, and personal fields only when
 *   given) and tells the peers it sees on {@linkcode LinkLocal.peers$}. A
 *   name conflict, while probing or later, renames it `user-1@machine`
 *   ({@linkcode LinkLocal.name}); new streams then use the new name.
 * - **One stream per peer.** {@linkcode LinkLocal.connect} returns the
 *   open stream with a peer, or opens one; a peer's new stream replaces
 *   its old one (which is closed). When both ends open a stream at the
 *   same moment, both keep the one opened by the end whose name sorts
 *   last.
 * - **TLS, trust on first use.** Every stream runs TLS with our
 *   certificate (made once, kept in `dir`); each end checks the other's
 *   certificate against the one it saw first for that instance name (kept
 *   in `dir` across restarts), and refuses a changed one with
 *   `PeerChangedError`. A stream is accepted only from a peer advertised
 *   on the link under the name in its header.
 */
export class LinkLocal {
  readonly #options: LinkLocalOptions;
  readonly #identity: Identity;
  readonly #knownPeers: KnownPeers;
  readonly #peers = new Map<string, LinkLocalPeer>();
  readonly #peers$ = new BehaviorSubject<LinkLocalPeer[]>([]);
  readonly #events$ = new Subject<PeerEvent>();
  readonly #streams = new Map<
    string,
    { stream: E2EStream; direction: "incoming" | "outgoing"; since: number }
  >();
  readonly #streams$ = new Subject<LinkLocalStream>();
  readonly #connecting = new Map<string, Promise<E2EStream>>();
  readonly #browsing;
  #listener: E2EListener;
  readonly #failures$ = new Subject<ListenerFailure>();
  readonly #renaming: { unsubscribe(): void };
  #relisting: Promise<void> = Promise.resolve();
  #advertisement: Advertisement;
  #accepting: Promise<void>;
  #closing: Promise<void> | undefined;

  private constructor(
    options: LinkLocalOptions,
    identity: Identity,
    knownPeers: KnownPeers,
    listener: E2EListener,
    advertisement: Advertisement,
  ) {
    this.#options = options;
    this.#identity = identity;
    this.#knownPeers = knownPeers;
    this.#listener = listener;
    this.#advertisement = advertisement;
    this.#accepting = this.#accept(listener);
    this.#forward(listener);
    // A conflict found after announcing renames us: answer to the new name.
    this.#renaming = advertisement.renamed$.subscribe((name) => {
      this.#relisting = this.#relisting.then(() => this.#relisten(name));
    });
    this.#browsing = browse(
      options.interfaces !== undefined
        ? { interfaces: options.interfaces }
        : {},
    ).subscribe({
      next: (event) => this.#seen(event),
      error: (error) => this.#events$.error(error),
    });
  }

  /**
   * Starts an endpoint: loads (or makes) its certificate, listens, then
   * advertises (probing its name, renamed on a conflict) and browses.
   * Needs `--allow-net`, `--allow-sys`, and `--allow-read`/`--allow-write`
   * on `dir`.
   *
   * @param options Our name, where to keep our certificate and known peers,
   *   interfaces, presence.
   * @returns Once advertised: the endpoint.
   * @throws {TypeError} When the name is not `user@machine`.
   * @throws {MdnsError} When advertising fails.
   * @throws {TransportError} When listening fails.
   *
   * @example Start, say hello to the first peer seen, stop
   * ```ts ignore
   * import { LinkLocal, message } from "@xmpp-e2e/streams/linklocal";
   * import { filter, firstValueFrom } from "rxjs";
   *
   * const me = await LinkLocal.start({ name: "romeo@forza", dir: "./romeo" });
   * const { peer } = await firstValueFrom(
   *   me.peers$.pipe(filter((e) => e.type === "appeared")),
   * );
   * const stream = await me.connect(peer);
   * await stream.send(message({ to: peer.name, body: "Hello" }));
   * await me.close();
   * ```
   */
  static async start(options: LinkLocalOptions): Promise<LinkLocal> {
    const { machine } = splitInstance(options.name);
    const identity = await loadIdentity(options.dir, machine);
    const holder: { self?: LinkLocal } = {};
    const knownPeers = await KnownPeers.open({
      file: `${options.dir}/known_peers.json`,
      // Only a peer on the link is met for the first time.
      approve: async (peer, fingerprint) =>
        holder.self !== undefined && await holder.self.isOnLink(peer) &&
        (options.approve ? options.approve(peer, fingerprint) : true),
    });
    let listener = await listenOn(
      options,
      options.name,
      identity,
      knownPeers,
      holder,
    );
    const port = listener.addr.port;
    let advertisement: Advertisement;
    try {
      advertisement = await advertise({
        name: options.name,
        port,
        ...(options.presence ? { presence: options.presence } : {}),
        ...(options.interfaces ? { interfaces: options.interfaces } : {}),
      });
    } catch (error) {
      await listener.close();
      throw error;
    }
    if (advertisement.name !== options.name) {
      // Renamed while probing: answer to the name we got, on the same port.
      await listener.close();
      listener = await listenOn(
        { ...options, port },
        advertisement.name,
        identity,
        knownPeers,
        holder,
      );
    }
    holder.self = new LinkLocal(
      options,
      identity,
      knownPeers,
      listener,
      advertisement,
    );
    return holder.self;
  }

  /** Our instance name as advertised (renamed after a conflict). */
  get name(): string {
    return this.#advertisement.name;
  }

  /** The port we listen on. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Our certificate's SHA-256 fingerprint, for a user to compare. */
  get fingerprint256(): string {
    return this.#identity.fingerprint256;
  }

  /** The trust-on-first-use store (to list or forget peers). */
  get knownPeers(): KnownPeers {
    return this.#knownPeers;
  }

  /** The peers on the link now (ourselves left out). */
  get peers(): LinkLocalPeer[] {
    return [...this.#peers.values()];
  }

  /** The peers as they appear, change and go (ourselves left out). */
  get peers$(): Observable<PeerEvent> {
    return this.#events$.asObservable();
  }

  /** The list of peers, now and each time it changes. */
  get peerList$(): Observable<LinkLocalPeer[]> {
    return this.#peers$.asObservable();
  }

  /** Each stream as it opens, either way. */
  get streams$(): Observable<LinkLocalStream> {
    return this.#streams$.asObservable();
  }

  /** Negotiations refused or failed on our listener (a changed certificate, say). */
  get failures$(): Observable<ListenerFailure> {
    return this.#failures$.asObservable();
  }

  #forward(listener: E2EListener): void {
    listener.failures$.subscribe((failure) => this.#failures$.next(failure));
  }

  /** Listens again on the same port, answering to our new name. */
  async #relisten(name: string): Promise<void> {
    if (this.#closing) return;
    const port = this.port;
    await this.#listener.close();
    await this.#accepting;
    const listener = await listenOn(
      { ...this.#options, port },
      name,
      this.#identity,
      this.#knownPeers,
      { self: this },
    );
    this.#listener = listener;
    this.#forward(listener);
    this.#accepting = this.#accept(listener);
    if (this.#closing) await listener.close();
  }

  /**
   * The open stream with a peer, if any.
   *
   * @param peer The peer's instance name.
   * @returns The stream.
   */
  stream(peer: string): E2EStream | undefined {
    return this.#streams.get(key(peer))?.stream;
  }

  /**
   * Publishes a new presence (TXT record).
   *
   * @param presence What to publish now.
   * @throws {TypeError} When the record would be too large.
   */
  setPresence(presence: PresenceInfo): void {
    this.#advertisement.update(presence);
  }

  /**
   * The stream with a peer: the open one, else a new one to the peer's
   * advertised addresses (IPv4 first, then IPv6 link-local with its zone),
   * with `from` our name and `to` the peer's, under TLS.
   *
   * @param peer The peer (dialed at its addresses, in their order), or its
   *   instance name (a peer on the link). A peer met for the first time is
   *   trusted only while it is advertised on the link.
   * @returns The stream.
   * @throws {PeerChangedError} When the peer shows another certificate than
   *   the one first seen for its name.
   * @throws {TransportError} When no address of the peer answers.
   * @throws {NegotiationError} When the peer does not offer TLS.
   * @throws {TypeError} When no such peer is on the link.
   */
  connect(peer: LinkLocalPeer | string): Promise<E2EStream> {
    const name = typeof peer === "string" ? peer : peer.name;
    const open = this.#streams.get(key(name));
    if (open !== undefined) return Promise.resolve(open.stream);
    const pending = this.#connecting.get(key(name));
    if (pending !== undefined) return pending;
    // A peer given whole is dialed as given (its addresses in its order).
    const found = typeof peer === "string" ? this.#peers.get(key(name)) : peer;
    if (found === undefined) {
      return Promise.reject(
        new TypeError(`Cannot connect to ${name}: it is not on the link`),
      );
    }
    const attempt = this.#open(found).finally(() =>
      this.#connecting.delete(key(name))
    );
    this.#connecting.set(key(name), attempt);
    return attempt;
  }

  async #open(peer: LinkLocalPeer): Promise<E2EStream> {
    if (this.#closing) {
      throw new TypeError("Cannot connect: the endpoint is closed");
    }
    const transport = await this.#dial(peer);
    const stream = await initiate({
      ...this.#options.stream,
      from: this.name,
      to: peer.name,
      transport,
      trust: { knownPeers: this.#knownPeers },
      // TLS when the peer offers it, else plaintext (and deployed clients'
      // headers without version or id), for those allowed by name.
      ...(this.allowsPlaintext(peer.name)
        ? { tls: "optional", legacy: true }
        : {}),
    });
    return this.#adopt(peer.name, stream, "outgoing");
  }

  /** Each address in turn, each within the connect timeout. */
  async #dial(peer: LinkLocalPeer): Promise<Transport> {
    const { machine } = splitInstance(peer.name);
    const timeoutMs = this.#options.connectTimeoutMs ?? 5000;
    const errors: unknown[] = [];
    for (const address of peer.addresses) {
      const connecting = connectTcpNode({
        hostname: address.hostname,
        port: peer.port,
        tls: {
          serverName: machine,
          leafOnly: true,
          cert: this.#identity.cert,
          key: this.#identity.key,
        },
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        return await Promise.race([
          connecting,
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () =>
                reject(
                  new TransportError(
                    `No answer from ${address.hostname} in ${timeoutMs} ms`,
                  ),
                ),
              timeoutMs,
            );
          }),
        ]);
      } catch (error) {
        errors.push(error);
        connecting.then((late) => late.close(), () => {});
      } finally {
        clearTimeout(timer);
      }
    }
    throw new TransportError(
      `Cannot connect to ${peer.name}: no address answered (${
        errors.map((e) => e instanceof Error ? e.message : String(e)).join("; ")
      })`,
      { cause: errors[0] },
    );
  }

  async #accept(listener: E2EListener): Promise<void> {
    for await (const stream of listener) {
      const peer = stream.info.peerAddress;
      if (peer === undefined) {
        void stream.error("invalid-from");
        continue;
      }
      if (stream.info.tls === undefined) void this.#acceptPlain(peer, stream);
      else this.#adopt(peer, stream, "incoming");
    }
  }

  /**
   * A stream without TLS (a deployed client that cannot do it): kept only
   * from a peer allowed by name, advertised on the link.
   */
  async #acceptPlain(peer: string, stream: E2EStream): Promise<void> {
    if (this.allowsPlaintext(peer) && await this.isOnLink(peer)) {
      this.#adopt(peer, stream, "incoming");
      return;
    }
    void stream.error(
      "policy-violation",
      this.allowsPlaintext(peer)
        ? `${peer} is not advertised on the link`
        : "TLS is required",
    );
  }

  /**
   * Whether `peer` may talk without TLS (named in `allowPlaintext`).
   *
   * @param peer An instance name.
   * @returns Whether it is allowed in plaintext.
   */
  allowsPlaintext(peer: string): boolean {
    return (this.#options.allowPlaintext ?? []).some((p) =>
      key(p) === key(peer)
    );
  }

  /**
   * One stream per peer: the newer replaces the older (which is closed),
   * unless the two crossed (see the class).
   *
   * @returns The stream kept.
   */
  #adopt(
    peer: string,
    stream: E2EStream,
    direction: "incoming" | "outgoing",
  ): E2EStream {
    const old = this.#streams.get(key(peer));
    if (
      old !== undefined && old.direction !== direction &&
      Date.now() - old.since < CROSSING_MS
    ) {
      // Both ends opened one at once: both keep the stream opened by the
      // end whose name sorts last.
      const mineWins = key(this.name) > key(peer);
      if ((direction === "outgoing") !== mineWins) {
        void stream.close();
        return old.stream;
      }
    }
    this.#streams.set(key(peer), { stream, direction, since: Date.now() });
    if (old !== undefined) void old.stream.close();
    void stream.closed.then(() => {
      if (this.#streams.get(key(peer))?.stream === stream) {
        this.#streams.delete(key(peer));
      }
    }, () => {
      if (this.#streams.get(key(peer))?.stream === stream) {
        this.#streams.delete(key(peer));
      }
    });
    const encrypted = stream.info.tls !== undefined;
    this.#streams$.next({
      peer,
      direction,
      stream,
      encrypted,
      authenticated: encrypted && stream.info.trustedBy !== undefined,
    });
    return stream;
  }

  #seen(event: PeerEvent): void {
    if (key(event.peer.name) === key(this.name)) return; // ourselves
    if (event.type === "gone") this.#peers.delete(key(event.peer.name));
    else this.#peers.set(key(event.peer.name), event.peer);
    this.#peers$.next(this.peers);
    this.#events$.next(event);
  }

  /**
   * Whether a peer is advertised on the link, waiting up to 3 s for one
   * not resolved yet (a peer may call as soon as it saw us, before we saw
   * it).
   *
   * @param name The peer's instance name.
   * @returns Whether it is on the link.
   */
  async isOnLink(name: string): Promise<boolean> {
    if (this.#peers.has(key(name))) return true;
    if (this.#closing) return false;
    let subscription: { unsubscribe(): void } | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const found = await new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), RESOLVE_WAIT_MS);
      subscription = this.#events$.subscribe({
        next: (e) => {
          if (e.type !== "gone" && key(e.peer.name) === key(name)) {
            resolve(true);
          }
        },
        complete: () => resolve(false),
        error: () => resolve(false),
      });
    });
    clearTimeout(timer);
    subscription?.unsubscribe();
    return found;
  }

  /**
   * Whether a connection may go on: its header's `from` is a peer on the
   * link, and its source one of that peer's addresses.
   *
   * @param claim The initiator's header and source address.
   * @returns Whether to answer it.
   */
  admits(
    claim: { from?: string | undefined; remote?: { hostname: string } },
  ): boolean {
    if (claim.from === undefined) return false;
    const peer = this.#peers.get(key(claim.from));
    if (peer === undefined) return false;
    if (claim.remote === undefined) return true;
    const source = claim.remote.hostname.replace(/^::ffff:/i, "").split("%")[0]!
      .toLowerCase();
    return peer.addresses.some((a) =>
      a.hostname.split("%")[0]!.toLowerCase() === source
    );
  }

  /**
   * Closes every stream in order, stops listening, says goodbye on the
   * link and stops browsing. Idempotent.
   *
   * @returns Resolves once all is closed.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#renaming.unsubscribe();
      await this.#relisting.catch(() => {});
      await Promise.allSettled([...this.#connecting.values()]);
      await Promise.allSettled(
        [...this.#streams.values()].map(({ stream }) => stream.close()),
      );
      await this.#listener.close();
      await this.#accepting;
      await this.#advertisement.close();
      this.#browsing.unsubscribe();
      this.#events$.complete();
      this.#peers$.complete();
      this.#streams$.complete();
      this.#failures$.complete();
    })();
    return this.#closing;
  }
}

/** Listens as `name`, accepting only peers the endpoint admits. */
function listenOn(
  options: LinkLocalOptions,
  name: string,
  identity: Identity,
  knownPeers: KnownPeers,
  holder: { self?: LinkLocal },
): Promise<E2EListener> {
  const listenOptions: ListenOptions = {
    ...options.stream,
    from: name,
    hostname: "::",
    port: options.port ?? 0,
    certificate: { cert: identity.cert, key: identity.key },
    trust: { knownPeers },
    // Deployed clients' headers (no version, no id), their own features,
    // their hang-ups: tolerated, but TLS stays required from everyone but
    // the peers allowed without it by name (admit says so per peer).
    legacy: true,
    // Before anything is answered: the initiator must be a peer advertised
    // on the link under its header's `from`, calling from one of its
    // advertised addresses.
    admit: async (claim) => {
      const self = holder.self;
      if (self === undefined || claim.from === undefined) return false;
      if (!(await self.isOnLink(claim.from)) || !self.admits(claim)) {
        return false;
      }
      return self.allowsPlaintext(claim.from) ? { tls: "optional" } : true;
    },
  };
  return listen(listenOptions);
}
