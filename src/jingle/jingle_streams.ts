/**
 * Jingle XML Streams (XEP-0247): end-to-end streams negotiated with Jingle
 * (XEP-0166) over an authenticated client stream, carried by SOCKS5
 * Bytestreams (XEP-0260) or In-Band Bytestreams (XEP-0261), with STARTTLS
 * end to end inside.
 *
 * @module
 */

import { checkKeyPair } from "../transport/_key_pair.ts";
import type { E2EStream, StreamOptions } from "../endpoint/e2e_stream.ts";
import type { Element } from "../xml/element.ts";
import { StanzaError } from "../stanza/error.ts";
import { LimitError } from "../stream/errors.ts";
import type { IqAnswer } from "../stanza/iq_router.ts";
import { Jid } from "../stanza/jid.ts";
import { iqResult, randomId } from "../stanza/stanza.ts";
import type { KnownPeers } from "../transport/known_peers.ts";
import { type IbbOptions, InBandBytestreams } from "./ibb.ts";
import { JingleSession } from "./_jingle_session.ts";
import { Openings, overruled } from "./_jingle_openings.ts";
import {
  isTieBreak,
  JINGLE_NS,
  type JingleReason,
  type JingleRequest,
  outOfOrder,
  readJingle,
  tieBreak,
  unknownSession,
  unsupportedInfo,
} from "./_jingle_xml.ts";
import { JingleError } from "./jingle_error.ts";
import {
  type FlowContext,
  initiatorFlow,
  responderFlow,
} from "./_jingle_flow.ts";
import type { JingleStream } from "./_inner_stream.ts";
import type { S5bSettings } from "./_s5b.ts";
import type { Socks5Backend } from "./socks5_backend.ts";
import * as socks5Module from "./socks5.ts";

/** The package's SOCKS5 module, which has the shape the engine needs. */
const SOCKS5: Socks5Backend = socks5Module;

/** A bytestream a Jingle XML stream can run over. */
export type JingleTransport = "s5b" | "ibb";

/** SOCKS5 settings of {@linkcode JingleStreamsOptions}. */
export interface JingleSocks5Options {
  /**
   * The SOCKS5 implementation. Default the package's own SOCKS5 module
   * (`connectSocks5`, `Socks5Server`, `discoverProxies`, `activateProxy`),
   * over real TCP; give another to wrap or replace it.
   */
  backend?: Socks5Backend;
  /**
   * Addresses to listen on and offer to the peer as direct candidates.
   * Default none: offering them tells the peer (and the servers) the
   * addresses of this machine, so an application chooses which;
   * {@linkcode localAddresses} gives all those a peer elsewhere could dial.
   */
  directAddresses?: string[];
  /** Whether to offer the server's SOCKS5 proxies. Default true. */
  proxies?: boolean;
  /** Deadline of each connection to a candidate, in ms. Default 5,000. */
  connectTimeoutMs?: number;
}

/** What {@linkcode JingleStreams} takes. */
export interface JingleStreamsOptions {
  /**
   * Our full JID on the client stream; default the JID the stream bound
   * (its `info.identity`).
   */
  jid?: string;
  /** Our certificate and key (PEM), presented to peers inside the stream. */
  certificate: { cert: string; key: string };
  /**
   * Trust on first use of peers' certificates, keyed on their bare JIDs
   * (a `KnownPeers` file keeps the pins across restarts).
   */
  knownPeers: KnownPeers;
  /**
   * The bytestreams to use, in order of preference: what `open()` offers
   * first, and what an offer may use here. IBB comes last, as XEP-0247
   * asks. Default `["s5b", "ibb"]` with `socks5`, else `["ibb"]`.
   */
  transports?: JingleTransport[];
  /**
   * SOCKS5 Bytestreams (`{}` for the package's SOCKS5 module and the
   * server's proxies); without it, IBB only.
   */
  socks5?: JingleSocks5Options;
  /** In-Band Bytestreams on the client stream: one to share, or options. */
  ibb?: InBandBytestreams | IbbOptions;
  /** The IBB block size offered or accepted at most. Default 4,096. */
  blockSize?: number;
  /**
   * Deadline of each wait for the peer (an acknowledgement, its accept,
   * its candidates, the application's decision), in ms. Default 30,000.
   */
  timeoutMs?: number;
  /**
   * Most Jingle sessions at once (offers included). Default 16. Offers past
   * it are refused `resource-constraint`; sessions we ended whose
   * session-terminate the peer has not acknowledged yet count against
   * offers too.
   */
  maxSessions?: number;
  /** Options of the streams inside (limits, deadlines, trace). */
  stream?: Omit<StreamOptions, "from" | "tls" | "legacy">;
}

/** What {@linkcode JingleStreams.open} takes. */
export interface JingleOpenOptions {
  /** The bytestreams to offer, in place of the engine's. */
  transports?: JingleTransport[];
  /**
   * Gives up: the session is ended (`cancel`) and `open()` rejects with the
   * signal's reason.
   */
  signal?: AbortSignal;
}

/** An offer of a stream, as the handler of {@linkcode JingleStreams.accept} gets it. */
export interface JingleOffer {
  /** The initiator's full JID. */
  readonly from: string;
  /** The Jingle session id. */
  readonly sid: string;
  /** The bytestream offered. */
  readonly transport: JingleTransport;
  /**
   * Accepts: negotiates the bytestream and the stream inside.
   *
   * @returns The stream.
   */
  accept(): Promise<JingleStream>;
  /**
   * Declines (`session-terminate` with `decline`, or the reason given).
   *
   * @param reason The Jingle reason.
   */
  decline(reason?: JingleReason): Promise<void>;
}

/**
 * Decides about an offer: call `offer.accept()` or `offer.decline()`; an
 * offer left undecided when the handler returns (or its promise settles)
 * is declined.
 */
export type JingleOfferHandler = (offer: JingleOffer) => void | Promise<void>;

function key(peer: string, sid: string): string {
  return `${peer}\n${sid}`;
}

/** A full JID in its normal form, or undefined. */
function fullJid(text: string | undefined): string | undefined {
  const jid = Jid.tryParse(text);
  return jid === undefined || jid.isBare ? undefined : jid.toString();
}

/**
 * Jingle XML Streams over one authenticated client stream: `open()` asks a
 * peer (by full JID) for an end-to-end stream, `accept()` takes offers.
 * SOCKS5 is tried first when given (direct candidates, the server's
 * proxies), and when no candidate works the session falls back to IBB with
 * `transport-replace`. The stream inside has the two bare JIDs in its
 * headers and STARTTLS with trust on first use keyed on the peer's bare
 * JID; Jingle requests from anyone but the session's peer are refused
 * (`item-not-found`, `<unknown-session/>`), and those out of turn
 * `unexpected-request` (`<out-of-order/>`). Register handlers of other
 * Jingle applications on the stream before this one.
 *
 * @example An end-to-end stream over IBB between two clients
 * ```ts ignore
 * import { generateCertificate, KnownPeers } from "@xmpp-e2e/streams";
 * import { JingleStreams } from "@xmpp-e2e/streams/jingle";
 *
 * // `client`: an E2EStream logged in to the user's server (SASL, bind).
 * declare const client: import("@xmpp-e2e/streams").E2EStream;
 * const me = await generateCertificate({ names: ["romeo@montague.example"] });
 * const jingle = new JingleStreams(client, {
 *   socks5: {}, // SOCKS5 through the server's proxy, else IBB
 *   certificate: { cert: me.certPem, key: me.keyPem },
 *   knownPeers: await KnownPeers.open({ file: "known_peers.json", approve: () => true }),
 * });
 * const stream = await jingle.open("juliet@capulet.example/balcony");
 * console.log(stream.jingle.transport, stream.info.encrypted);
 * await stream.close(); // the stream inside, then session-terminate
 * ```
 */
export class JingleStreams {
  readonly #client: E2EStream;
  readonly #own: string;
  readonly #options: JingleStreamsOptions;
  readonly #transports: readonly JingleTransport[];
  readonly #ibb: InBandBytestreams;
  readonly #ownIbb: boolean;
  readonly #s5b: S5bSettings;
  readonly #timeoutMs: number;
  readonly #blockSize: number;
  readonly #maxSessions: number;
  readonly #sessions = new Map<string, JingleSession>();
  /** Sessions ended here whose session-terminate the peer has not acked. */
  #farewells = 0;
  readonly #openings = new Openings();
  readonly #unhandle: () => void;
  #handler: JingleOfferHandler | undefined;
  #closed: JingleError | undefined;

  /**
   * Answers Jingle requests on `client` from now on.
   *
   * @example Options that cannot work are refused at once
   * ```ts
   * import { E2EStream, initiate, KnownPeers, memoryPair, Session } from "@xmpp-e2e/streams";
   * import { JingleStreams } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const server = new Session({ role: "recipient", transport: b, from: "montague.example", tls: "off" });
   * const [client] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@montague.example", to: "montague.example", tls: "off" }),
   *   server.negotiate(),
   * ]);
   * const knownPeers = await KnownPeers.open();
   * assert.throws(
   *   () => new JingleStreams(client, { jid: "romeo@montague.example", certificate: { cert: "", key: "" }, knownPeers }),
   *   TypeError, // a bare JID
   * );
   * await Promise.all([client.close(), new E2EStream(server).closed]);
   * ```
   *
   * @param client The authenticated client stream.
   * @param options Identity, trust, transports, deadlines.
   * @throws {TypeError} When our JID is not a full JID, a transport is
   *   unknown, `s5b` is asked for without the `socks5` option, or the
   *   certificate's key is not its own.
   */
  constructor(client: E2EStream, options: JingleStreamsOptions) {
    const own = fullJid(options.jid ?? client.info.identity);
    if (own === undefined) {
      throw new TypeError(
        "Cannot use Jingle: our address is not a full JID (give jid, or bind a resource)",
      );
    }
    const transports = options.transports ??
      (options.socks5 ? ["s5b", "ibb"] : ["ibb"]);
    checkTransports(transports, options.socks5 !== undefined);
    checkKeyPair(
      options.certificate.cert,
      options.certificate.key,
      "The certificate for Jingle streams",
    );
    this.#client = client;
    this.#own = own;
    this.#options = options;
    this.#transports = transports;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#blockSize = options.blockSize ?? 4096;
    this.#maxSessions = options.maxSessions ?? 16;
    this.#ownIbb = !(options.ibb instanceof InBandBytestreams);
    this.#ibb = options.ibb instanceof InBandBytestreams
      ? options.ibb
      : new InBandBytestreams(client, {
        ...options.ibb,
        maxBlockSize: Math.max(
          options.ibb?.maxBlockSize ?? 16384,
          this.#blockSize,
        ),
      });
    this.#s5b = {
      backend: options.socks5 === undefined
        ? undefined
        : options.socks5.backend ?? SOCKS5,
      directAddresses: options.socks5?.directAddresses ?? [],
      proxies: options.socks5?.proxies ?? true,
      connectTimeoutMs: options.socks5?.connectTimeoutMs ?? 5000,
      waitTimeoutMs: this.#timeoutMs,
    };
    this.#unhandle = client.handle(
      "set",
      JINGLE_NS,
      "jingle",
      (request) => this.#onJingle(request),
    );
    void client.closed.then(() =>
      this.#end(
        new JingleError("stream-ended", "The client stream ended"),
        false,
      )
    );
  }

  /** Our full JID, as the sessions use it. */
  get jid(): string {
    return this.#own;
  }

  /**
   * Opens an end-to-end stream to a peer: Jingle session, bytestream
   * (SOCKS5, else IBB), then the stream inside with STARTTLS.
   *
   * @example Opening, and the peer declines
   * ```ts ignore
   * import { JingleError, JingleStreams } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * declare const jingle: JingleStreams;
   * await assert.rejects(
   *   jingle.open("juliet@capulet.example/balcony"),
   *   (error) => error instanceof JingleError && error.reason === "declined",
   * );
   * ```
   *
   * @param peer The peer's full JID.
   * @param options The bytestreams to offer, a signal.
   * @returns The stream, negotiated and encrypted.
   * @throws {JingleError} When the peer declines, does not answer, or no
   *   bytestream works.
   * @throws {CertificateError} When the peer's certificate is refused
   *   (`PeerChangedError` when it is not the one pinned for its bare JID).
   * @throws {TypeError} When `peer` is not a full JID.
   * @throws {LimitError} When sessions and offers already fill
   *   `maxSessions` places.
   */
  async open(
    peer: string,
    options: JingleOpenOptions = {},
  ): Promise<JingleStream> {
    if (this.#closed !== undefined) throw this.#closed;
    const to = fullJid(peer);
    if (to === undefined) {
      throw new TypeError(`Cannot open: "${peer}" is not a full JID`);
    }
    const transports = options.transports ?? this.#transports;
    checkTransports(transports, this.#s5b.backend !== undefined);
    if (this.#sessions.size >= this.#maxSessions) {
      throw new LimitError(
        "maxSessions",
        this.#maxSessions,
        "Cannot open: Jingle sessions and offers fill every place",
      );
    }
    const signal = options.signal;
    signal?.throwIfAborted();
    const session = this.#session("initiator", to, randomId());
    const opening = this.#openings.add(session);
    let cancelled: Promise<void> | undefined;
    const cancel = () => {
      cancelled = (opening.adopted?.session ?? session).terminate("cancel");
      opening.notify?.();
    };
    signal?.addEventListener("abort", cancel, { once: true });
    try {
      let stream: JingleStream;
      try {
        stream = await initiatorFlow(this.#context(session, transports));
      } catch (error) {
        if (isTieBreak(error)) opening.lostTie = true;
        if (!opening.lostTie && opening.adopted === undefined) throw error;
        stream = await overruled(opening, this.#timeoutMs, signal);
      }
      signal?.throwIfAborted();
      return stream;
    } catch (error) {
      if (signal?.aborted) {
        await cancelled; // the peer has been told
        throw signal.reason;
      }
      throw error;
    } finally {
      this.#openings.delete(opening);
      signal?.removeEventListener("abort", cancel);
    }
  }

  /**
   * Takes offers from now on: `handler` decides about each. Without a
   * handler, offers are refused (`service-unavailable`).
   *
   * @example Accepting from one peer, declining the rest
   * ```ts ignore
   * import { JingleStreams } from "@xmpp-e2e/streams/jingle";
   *
   * declare const jingle: JingleStreams;
   * jingle.accept(async (offer) => {
   *   if (offer.from !== "romeo@montague.example/orchard") return offer.decline();
   *   const stream = await offer.accept();
   *   stream.stanzas$.subscribe((stanza) => console.log(stanza.toString()));
   * });
   * ```
   *
   * @param handler Decides about each offer.
   * @returns A function that stops taking offers.
   */
  accept(handler: JingleOfferHandler): () => void {
    this.#handler = handler;
    return () => {
      if (this.#handler === handler) this.#handler = undefined;
    };
  }

  /**
   * Ends every session (`gone`) and stops answering Jingle requests.
   * Idempotent.
   *
   * @example Closing
   * ```ts ignore
   * import { JingleStreams } from "@xmpp-e2e/streams/jingle";
   *
   * declare const jingle: JingleStreams;
   * await jingle.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#end(
      new JingleError("stream-ended", "Jingle was closed here"),
      true,
    );
  }

  async #end(error: JingleError, say: boolean): Promise<void> {
    if (this.#closed !== undefined) return;
    this.#closed = error;
    this.#unhandle();
    const sessions = [...this.#sessions.values()];
    await Promise.all(
      sessions.map((s) =>
        say ? s.terminate("gone", error) : Promise.resolve(s.abandon(error))
      ),
    );
    if (this.#ownIbb) this.#ibb.close();
  }

  #session(
    role: "initiator" | "responder",
    peer: string,
    sid: string,
  ): JingleSession {
    const k = key(peer, sid);
    const session: JingleSession = new JingleSession({
      client: this.#client,
      sid,
      role,
      own: this.#own,
      peer,
      requestTimeoutMs: this.#timeoutMs,
      release: () => {
        if (this.#sessions.get(k) === session) this.#sessions.delete(k);
        const farewell = session.farewell;
        if (farewell === undefined) return;
        this.#farewells++;
        void farewell.then(() => this.#farewells--);
      },
    });
    this.#sessions.set(k, session);
    return session;
  }

  #context(
    session: JingleSession,
    transports: readonly JingleTransport[],
  ): FlowContext {
    return {
      session,
      ibb: this.#ibb,
      transports,
      s5b: this.#s5b,
      blockSize: this.#blockSize,
      timeoutMs: this.#timeoutMs,
      knownPeers: this.#options.knownPeers,
      certificate: this.#options.certificate,
      stream: this.#options.stream ?? {},
    };
  }

  #onJingle(request: Element): IqAnswer {
    const from = fullJid(request.attrs.from);
    if (from === undefined) {
      return new StanzaError("bad-request", {
        text: "A Jingle request comes from a full JID",
      });
    }
    let parsed: JingleRequest;
    try {
      parsed = readJingle(request);
    } catch (error) {
      if (error instanceof StanzaError) return error;
      throw error;
    }
    if (parsed.action === "session-initiate") {
      return this.#onInitiate(request, from, parsed);
    }
    const session = this.#sessions.get(key(from, parsed.sid));
    if (session === undefined || session.isEnded) return unknownSession();
    if (parsed.action === "session-info") {
      const jingle = request.getChild("jingle", JINGLE_NS)!;
      return jingle.elements().length === 0
        ? iqResult(request)
        : unsupportedInfo();
    }
    return session.deliver(parsed) ?? iqResult(request);
  }

  #onInitiate(
    request: Element,
    from: string,
    offered: JingleRequest,
  ): IqAnswer {
    // Another Jingle application's: its own handler may answer.
    if (!offered.xmlstream) return undefined;
    if (
      offered.initiator !== undefined && fullJid(offered.initiator) !== from
    ) {
      return new StanzaError("bad-request", {
        text: "The initiator is not the sender",
      });
    }
    const content = request.getChild("jingle", JINGLE_NS)!.getChild(
      "content",
      JINGLE_NS,
    );
    if (!content?.elements().some((e) => e.name === "transport")) {
      return new StanzaError("bad-request", {
        text: "The content has no transport",
      });
    }
    const rival = this.#openings.rival(from, offered.sid);
    if (rival === "ours") return tieBreak();
    if (this.#sessions.has(key(from, offered.sid))) {
      return outOfOrder("This session exists already");
    }
    const handler = this.#handler;
    if (handler === undefined && rival === undefined) {
      return new StanzaError("service-unavailable");
    }
    // A session-terminate the peer leaves unanswered holds one of the
    // client stream's pending requests until its deadline: offers count
    // those too, or peers that never answer would take them all.
    if (this.#sessions.size + this.#farewells >= this.#maxSessions) {
      return new StanzaError("resource-constraint", { type: "wait" });
    }
    const session = this.#session("responder", from, offered.sid);
    if (rival !== undefined) {
      // Our own open() to this peer takes the peer's session as its own.
      const stream = new Promise((resolve) => setTimeout(resolve, 0))
        .then(() => this.#adopt(session, offered));
      stream.catch(() => {});
      rival.adopted = { session, stream };
      rival.notify?.();
      return iqResult(request);
    }
    // Acknowledged first; the application decides after.
    setTimeout(() => void this.#decide(session, offered, handler!), 0);
    return iqResult(request);
  }

  /** Takes the peer's offer for an open() of ours that it overruled. */
  async #adopt(
    session: JingleSession,
    offered: JingleRequest,
  ): Promise<JingleStream> {
    const kind = offered.transport?.kind;
    if (
      kind === undefined ||
      (kind === "ibb" && !this.#transports.includes("ibb"))
    ) {
      const error = new JingleError(
        "failed-transport",
        "The peer's session-initiate offers no transport both ends can use",
      );
      await session.terminate("unsupported-transports", error);
      throw error;
    }
    return await responderFlow(
      this.#context(session, this.#transports),
      offered,
    );
  }

  async #decide(
    session: JingleSession,
    offered: JingleRequest,
    handler: JingleOfferHandler,
  ): Promise<void> {
    // A transport this end does not know, or does not take: acknowledged,
    // then ended (XEP-0166, Termination).
    const kind = offered.transport?.kind;
    if (
      kind === undefined ||
      (kind === "ibb" && !this.#transports.includes("ibb"))
    ) {
      await session.terminate("unsupported-transports");
      return;
    }
    let decided = false;
    const timer = setTimeout(() => {
      if (decided) return;
      decided = true;
      void session.terminate("timeout");
    }, this.#timeoutMs);
    void session.ended.then(() => clearTimeout(timer));
    const offer: JingleOffer = {
      from: session.peer,
      sid: session.sid,
      transport: kind,
      accept: () => {
        if (decided) {
          return Promise.reject(
            session.isEnded
              ? new JingleError("stream-ended", "The offer is no longer open")
              : new TypeError("Cannot accept: the offer was decided already"),
          );
        }
        decided = true;
        clearTimeout(timer);
        return responderFlow(this.#context(session, this.#transports), offered);
      },
      decline: async (reason: JingleReason = "decline") => {
        if (decided) return;
        decided = true;
        clearTimeout(timer);
        await session.terminate(
          reason,
          new JingleError("declined", "Declined here", { condition: reason }),
        );
      },
    };
    try {
      await handler(offer);
    } catch {
      if (!decided) {
        await offer.decline("general-error");
        return;
      }
    }
    if (!decided) await offer.decline();
  }
}

function checkTransports(
  transports: readonly string[],
  socks5: boolean,
): void {
  if (
    transports.length === 0 ||
    transports.some((t) => t !== "s5b" && t !== "ibb") ||
    new Set(transports).size !== transports.length
  ) {
    throw new TypeError(
      'Cannot use Jingle: transports are "s5b" and "ibb", each at most once',
    );
  }
  if (transports.includes("s5b") && !socks5) {
    throw new TypeError("Cannot use Jingle: s5b needs the socks5 option");
  }
  if (transports.includes("ibb") && transports.at(-1) !== "ibb") {
    throw new TypeError("Cannot use Jingle: ibb comes last (XEP-0247)");
  }
}
