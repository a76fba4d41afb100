/**
 * The RFC 6120 stream layer for one end of an end-to-end stream: header
 * exchange, feature negotiation with restarts, stanzas, stream errors and
 * the ordered close, over any {@linkcode Transport}.
 *
 * @module
 */

/**
 * RxJS's types are documented by the rxjs package: `@ignore` tells
 * `deno doc --lint` not to ask this package to export them.
 * @ignore
 */
import { Observable, Subject } from "rxjs";
import { debugPrinter } from "./debug_trace.ts";
import type { Element } from "../xml/element.ts";
import type { StreamFrame } from "../xml/events.ts";
import { XmlError } from "../xml/errors.ts";
import { DEFAULT_LIMITS, type ParserLimits } from "../xml/limits.ts";
import { escapeText, serialize } from "../xml/serialize.ts";
import type {
  NegotiationContext,
  SaslInfo,
  StreamFeature,
} from "../negotiation/feature.ts";
import { BOUND_JID } from "../negotiation/bind.ts";
import { startTls, type TlsPolicy } from "../negotiation/starttls.ts";
import {
  type TlsInfo,
  type Transport,
  TransportError,
} from "../transport/transport.ts";
import { CLIENT_NS, STREAMS_NS } from "./constants.ts";
import {
  NegotiationError,
  STREAM_ERROR_CONDITIONS,
  STREAM_ERROR_NS,
  StreamClosedError,
  StreamError,
  type StreamErrorCondition,
  TimeoutError,
} from "./errors.ts";
import {
  CLOSE_TAG,
  openTag,
  readHeader,
  type StreamHeader,
  streamId,
} from "./header.ts";
import { FrameReader } from "./reader.ts";
import { acceptsNoVersion, type AdmitCheck } from "./legacy.ts";
import { normalizeAddress, sameAddress } from "./address.ts";
import { DEFAULT_SEND_QUEUE_BYTES, WriteQueue } from "./writer.ts";

/** Options of one end of a stream. */
export interface SessionOptions {
  /** Which end this is. */
  role: "initiator" | "recipient";
  /** The transport, connected. */
  transport: Transport;
  /** This end's address (`from` of our header). */
  from?: string;
  /**
   * The peer's address (`to` of the initiator's header). The recipient must
   * answer from this address: a header with another `from` ends the stream
   * with `invalid-from`.
   */
  to?: string;
  /**
   * The addresses a recipient answers to. A header whose `to` is none of
   * them ends the stream with `host-unknown` (RFC 6120 section 4.9.3.6).
   * Default: `from` alone, when it is given (a header without `to` is
   * accepted).
   */
  addresses?: string[];
  /** Content namespace. Default `jabber:client`. */
  ns?: string;
  /** `xml:lang` of our header. */
  lang?: string;
  /** Start our header with an XML declaration. Default true. */
  declaration?: boolean;
  /** TLS policy. Default `"required"`. */
  tls?: TlsPolicy;
  /**
   * Tolerate the link-local clients deployed before XEP-0174 asked for
   * version 1.0 (libpurple's Bonjour, Gajim's zeroconf, telepathy-salut):
   * a header without `version` (then no features and no TLS, so only
   * under `tls: "optional"` or `"off"`), an initiator's own empty
   * `<stream:features/>`, a connection closed without `</stream:stream>`
   * (the stream ends `{ clean: false }` with no error), and a connection
   * closed right after `</stream:stream>`. A peer that offers STARTTLS
   * still gets it. Default false.
   */
  legacy?: boolean;
  /**
   * Recipient: asked with the initiator's first header, before anything is
   * answered. `false` ends the stream with `invalid-from` (the claimed
   * address is not one admitted from there); `{ tls }` sets the TLS policy
   * of this stream. A check that throws ends it with
   * `internal-server-error`, the thrown error as the cause.
   */
  admit?: AdmitCheck;
  /** Features negotiated after STARTTLS (such as SASL), in order. */
  features?: StreamFeature[];
  /** Parser limits once the stream is open. Default {@linkcode DEFAULT_LIMITS}. */
  limits?: Partial<ParserLimits>;
  /**
   * Parser limits while the stream negotiates (headers, STARTTLS, SASL):
   * before it is open, the peer is not authenticated yet and has no reason
   * to send anything large. Default {@linkcode PRE_AUTH_LIMITS}, each
   * lowered to the matching entry of `limits` if that is smaller.
   */
  preAuthLimits?: Partial<ParserLimits>;
  /** Deadline for the whole negotiation, in ms. Default 30,000. */
  negotiationTimeoutMs?: number;
  /** Deadline for the peer's `</stream:stream>` after ours, in ms. Default 10,000. */
  closeTimeoutMs?: number;
  /**
   * Checks what TLS negotiated, right after the handshake and before
   * anything else is said: throw to refuse the peer (a pinned or known
   * certificate that does not match). `peer` is the address the peer is
   * known by at that point (checked against the headers so far): the `to`
   * asked for, on the initiator; the `from` of the peer's header, on the
   * recipient. The stream then ends with that error.
   */
  verifyTls?: (
    tls: TlsInfo,
    peer: string | undefined,
  ) => void | Promise<void>;
  /**
   * Deadline for each stream header of the peer, from when it is due (the
   * connection, or a restart), in ms: a peer that connects and says nothing,
   * or trickles its header, is cut early. Default 10,000.
   */
  headerTimeoutMs?: number;
  /**
   * Deadline for a stanza to arrive whole once its first byte came, in ms: a
   * peer cannot hold a stream (or reset the idle timer) by trickling a
   * stanza. `policy-violation` past it. Default 30,000.
   */
  stanzaTimeoutMs?: number;
  /**
   * Bytes of UTF-8 queued for a transport that does not keep up (a peer
   * that reads slowly or not at all) above which `send()` waits for room,
   * and reading from the peer pauses: a peer that does not read our replies
   * cannot make us read more of its requests. Default 1 MiB
   * ({@linkcode DEFAULT_SEND_QUEUE_BYTES}).
   */
  sendQueueLimit?: number;
  /**
   * Bytes of stanzas kept for the first subscriber of `stanzas$` before
   * reading pauses (a stanza larger than this is still kept when nothing
   * else is). Default 64 KiB.
   */
  receiveBufferLimit?: number;
  /**
   * Longest time reading may stay paused, in ms: while the peer does not
   * read what we send (no byte written meanwhile: `connection-timeout`),
   * or while what it sent is not taken (no subscriber to `stanzas$`, iq
   * handlers busy: `resource-constraint`). The stream then ends with that
   * stream error, and its connection is freed. Default 10,000.
   */
  stallTimeoutMs?: number;
  /**
   * Called each time negotiation moves on: a header received, TLS in place,
   * a feature element received. A listener uses it to tell a peer that
   * negotiates from one that stalls.
   */
  onNegotiationStep?: () => void;
  /**
   * Once open, send a whitespace keepalive (RFC 6120 section 4.6.1) when
   * nothing was written for this many ms. Default: none.
   */
  keepaliveMs?: number;
  /**
   * Once open, end the stream with `connection-timeout` when nothing was
   * received for this many ms (a dead or silent peer). Default: none.
   */
  idleTimeoutMs?: number;
}

/** How a stream ended. */
export interface CloseResult {
  /** Both `</stream:stream>` were exchanged and nothing failed. */
  clean: boolean;
  /** Why it was not clean. */
  error?: Error;
}

/** One line of the raw XML trace. */
export interface TraceEntry {
  /** `"in"` for bytes from the peer, `"out"` for ours. */
  direction: "in" | "out";
  /** The text (inbound bytes decoded for display). */
  text: string;
  /** Whether TLS protected it. */
  tls: boolean;
}

/** The state of a stream. */
export type SessionState = "negotiating" | "open" | "closing" | "closed";

/**
 * The default parser limits while a stream negotiates: what a peer that has
 * not authenticated yet can make us hold. Stream headers, features, STARTTLS
 * and SASL elements are a few hundred bytes (the largest, a SCRAM
 * client-final with channel binding, is under 1 KiB).
 *
 * @example Smaller limits until the stream is open
 * ```ts
 * import { DEFAULT_LIMITS, PRE_AUTH_LIMITS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.ok(PRE_AUTH_LIMITS.maxStanzaBytes < DEFAULT_LIMITS.maxStanzaBytes);
 * assert.equal(PRE_AUTH_LIMITS.maxStanzaBytes, 16_384);
 * ```
 */
export const PRE_AUTH_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxStanzaBytes: 16_384,
  maxDepth: 16,
  maxAttributes: 32,
  maxNameLength: 256,
});

const TLS_POLICIES: readonly unknown[] = ["required", "optional", "off"];
const DEFAULT_RECEIVE_BUFFER_BYTES = 64 * 1024;
const DEFAULT_HEADER_TIMEOUT_MS = 10_000;
const DEFAULT_STANZA_TIMEOUT_MS = 30_000;
const DEFAULT_STALL_TIMEOUT_MS = 10_000;

/** Why reading is paused. */
type PauseCause = "unread" | "unconsumed" | "busy";

/**
 * One end of an XML stream. Call {@linkcode Session.negotiate} once; then
 * stanzas flow until either end closes.
 *
 * @example The stream layer over any transport, both roles
 * ```ts
 * import { memoryPair, message, Session } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = memoryPair();
 * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
 * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
 * import { firstValueFrom } from "rxjs";
 *
 * const heard = firstValueFrom(juliet.stanzas$);
 * await romeo.send(message({ to: "juliet@pronto", body: "Art thou not Romeo?" }));
 * assert.equal((await heard).getChildText("body"), "Art thou not Romeo?");
 * assert.deepEqual(await romeo.close(), { clean: true });
 * ```
 */
export class Session {
  readonly #options: SessionOptions;
  readonly #transport: Transport;
  readonly #reader: FrameReader;
  readonly #writer: WriteQueue;
  #features: StreamFeature[];
  #policy: TlsPolicy;
  #peerFeaturesIgnorable = false; // legacy: an initiator's features, once
  #peerCloseSeen = false; // the peer's </stream:stream> came
  readonly #ns: string;
  readonly #stanzas = new Subject<Element>();
  readonly #trace = new Subject<TraceEntry>();
  readonly #closed: Promise<CloseResult>;
  #resolveClosed!: (result: CloseResult) => void;
  #state: SessionState = "negotiating";
  #tls: TlsInfo | undefined;
  #header: StreamHeader | undefined;
  #id: string | undefined;
  #closeSent = false;
  #closeTimer: ReturnType<typeof setTimeout> | undefined;
  #buffer: Element[] | undefined = [];
  #bufferBytes = 0;
  #loop: Promise<void> | undefined;
  #closing: Promise<CloseResult> | undefined;
  #resumeReading: (() => void) | undefined;
  #busy: (() => boolean)[] = [];
  #paused = false; // the read loop waits in #gate()
  #stallTimer: ReturnType<typeof setTimeout> | undefined;
  #stanzaTimer: ReturnType<typeof setTimeout> | undefined;
  #stanzaTimerOn = false; // open, reading, and a stanza partly read
  #stanzaSince = 0; // Date.now() when the stanza being read began, or 0
  #intercept: ((stanza: Element) => boolean) | undefined;
  #failure: Error | undefined; // the error the stream is ending with
  readonly #featureState = new Map<string, unknown>();
  #liveness: ReturnType<typeof setInterval> | undefined;
  #lastRead = 0;
  #lastWrite = 0;
  #headerSent = false; // our header of the current stream is out
  #answeredAs: string | undefined; // which of our addresses the peer asked for
  #refused: Error | undefined; // what verifyTls threw
  #identity: string | undefined;
  #sasl: SaslInfo | undefined;

  /**
   * Makes one end of a stream over a connected transport.
   *
   * @example A session starts negotiating
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a] = memoryPair();
   * const session = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * assert.equal(session.state, "negotiating");
   * await session.close(); // abandons the negotiation
   * ```
   *
   * @param options Role, transport, addresses, policy and limits.
   */
  constructor(options: SessionOptions) {
    this.#options = options;
    this.#transport = options.transport;
    this.#ns = options.ns ?? CLIENT_NS;
    this.#policy = options.tls ?? "required";
    this.#features = [];
    this.#setPolicy(this.#policy);
    const traceDecoder = new TextDecoder();
    this.#reader = new FrameReader(
      this.#transport,
      preAuthLimits(options),
      (chunk) => {
        if (this.#trace.observed) {
          this.#traced("in", traceDecoder.decode(chunk, { stream: true }));
        }
      },
      (midUnit) => this.#onProgress(midUnit),
    );
    this.#writer = new WriteQueue(
      this.#transport,
      options.sendQueueLimit ?? DEFAULT_SEND_QUEUE_BYTES,
      (text) => {
        // Only keepalives read the time of the last write.
        if (options.keepaliveMs !== undefined) this.#lastWrite = Date.now();
        this.#traced("out", text);
      },
      (failure) => this.#onWritten(failure),
    );
    this.#closed = new Promise((resolve) => this.#resolveClosed = resolve);
    // XMPP_E2E_DEBUG: every stream's trace on stderr, SASL redacted.
    const debug = debugPrinter(options.role);
    if (debug !== undefined) this.#trace.subscribe(debug);
  }

  #setPolicy(policy: TlsPolicy): void {
    if (policy !== "off" && !this.#transport.canStartTls) {
      throw new NegotiationError(
        "starttls",
        'This transport cannot do TLS: pass tls: "off" to use it in plaintext',
      );
    }
    this.#policy = policy;
    this.#features = [startTls(policy), ...(this.#options.features ?? [])];
  }

  /** Which end this is. */
  get role(): "initiator" | "recipient" {
    return this.#options.role;
  }

  /**
   * The state: negotiating, open, closing, closed.
   *
   * @example From negotiating to closed
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * assert.equal(romeo.state, "negotiating");
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   * assert.equal(romeo.state, "open");
   * await romeo.close();
   * assert.equal(romeo.state, "closed");
   * ```
   */
  get state(): SessionState {
    return this.#state;
  }

  /**
   * The peer's last stream header.
   *
   * @example The peer's header
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.equal(romeo.peerHeader?.from, "juliet@pronto");
   * assert.equal(juliet.peerHeader?.from, "romeo@forza");
   * await romeo.close();
   * ```
   */
  get peerHeader(): StreamHeader | undefined {
    return this.#header;
  }

  /**
   * The stream id of the current stream (set by the recipient).
   *
   * @example The recipient's stream id, on both ends
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.ok(juliet.id !== undefined);
   * assert.equal(romeo.id, juliet.id);
   * await romeo.close();
   * ```
   */
  get id(): string | undefined {
    return this.#id;
  }

  /**
   * What TLS negotiated, once in place.
   *
   * @example No TLS without STARTTLS
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.equal(romeo.tls, undefined); // plaintext, as asked
   * await romeo.close();
   * ```
   */
  get tls(): TlsInfo | undefined {
    return this.#tls;
  }

  /**
   * The identity a feature (SASL) authenticated: the peer's on the
   * recipient, this end's on the initiator; undefined without authentication.
   *
   * @example No identity without SASL
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.equal(juliet.identity, undefined);
   * await romeo.close();
   * ```
   */
  get identity(): string | undefined {
    return this.#identity;
  }

  /**
   * This end's own address: on an initiator that bound a resource, the
   * full JID the server bound; else the `from` of our stream header.
   *
   * @example Our header's from
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.equal(romeo.ownAddress, "romeo@forza");
   * await romeo.close();
   * ```
   */
  get ownAddress(): string | undefined {
    const bound = this.#featureState.get(BOUND_JID);
    return this.#options.role === "initiator" && typeof bound === "string"
      ? bound
      : this.#options.from;
  }

  /**
   * How SASL authenticated the stream (mechanism, channel binding);
   * undefined without SASL.
   *
   * @example No SASL, no SASL info
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.equal(romeo.sasl, undefined);
   * await romeo.close();
   * ```
   */
  get sasl(): SaslInfo | undefined {
    return this.#sasl;
  }

  /**
   * Resolves once the stream has ended, with whether it ended cleanly.
   *
   * @example Waiting for the end
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * const ended = juliet.closed;
   * await romeo.close();
   * assert.deepEqual(await ended, { clean: true });
   * ```
   */
  get closed(): Promise<CloseResult> {
    return this.#closed;
  }

  /**
   * Inbound stanzas. Those that arrive before the first subscription are
   * kept for it. Completes when the peer closes; errors with the
   * `StreamError` (or other error) that ended the stream.
   *
   * @example Inbound stanzas
   * ```ts
   * import { memoryPair, presence, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   * import { firstValueFrom } from "rxjs";
   *
   * const first = firstValueFrom(juliet.stanzas$);
   * await romeo.send(presence({ to: "juliet@pronto" }));
   * assert.equal((await first).name, "presence");
   * await romeo.close();
   * ```
   */
  get stanzas$(): Observable<Element> {
    return new Observable<Element>((subscriber) => {
      const buffered = this.#buffer;
      if (buffered !== undefined) {
        this.#buffer = undefined;
        this.#bufferBytes = 0;
        for (const stanza of buffered) subscriber.next(stanza);
        this.#wake();
      }
      return this.#stanzas.subscribe(subscriber);
    });
  }

  /**
   * Sees every inbound stanza first, before `stanzas$` (and whether anyone
   * subscribed): a layer above uses it to match iq replies. A stanza for
   * which it returns `true` is consumed and not delivered.
   *
   * @example Taking some stanzas before stanzas$ does
   * ```ts
   * import { memoryPair, message, presence, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   * import { firstValueFrom } from "rxjs";
   *
   * let presences = 0;
   * juliet.intercept((stanza) => stanza.name === "presence" && ++presences > 0);
   * const first = firstValueFrom(juliet.stanzas$);
   * await romeo.send(presence({ to: "juliet@pronto" }));
   * await romeo.send(message({ to: "juliet@pronto", body: "hi" }));
   * assert.equal((await first).name, "message"); // the presence was taken
   * assert.equal(presences, 1);
   * await romeo.close();
   * ```
   *
   * @param intercept The function, or `undefined` to remove it.
   */
  intercept(intercept: ((stanza: Element) => boolean) | undefined): void {
    this.#intercept = intercept;
  }

  /**
   * Pauses reading from the peer while `busy()` holds (a layer above that
   * works through what was delivered, such as iq handlers, and takes no more
   * while it is full). Reading that stays paused longer than the stall
   * deadline ends the stream with `resource-constraint`.
   *
   * @example Holding reading while busy
   * ```ts
   * import { memoryPair, message, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   * import { firstValueFrom } from "rxjs";
   *
   * let busy = true;
   * const wake = juliet.pauseWhile(() => busy);
   * const first = firstValueFrom(juliet.stanzas$);
   * await romeo.send(message({ to: "juliet@pronto", body: "wait for me" }));
   * busy = false;
   * wake(); // reading resumes
   * assert.equal((await first).getChildText("body"), "wait for me");
   * await romeo.close();
   * ```
   *
   * @param busy Asked before each stanza is read.
   * @returns Call it when `busy()` may have turned false.
   */
  pauseWhile(busy: () => boolean): () => void {
    // A copy in no more room than it takes (a push would give it 17).
    this.#busy = [...this.#busy, busy];
    return () => this.#wake();
  }

  /**
   * The raw XML, both ways, as it crosses the transport.
   *
   * @example The raw XML, both ways
   * ```ts
   * import { memoryPair, message, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * const seen: string[] = [];
   * juliet.trace$.subscribe((entry) => seen.push(`${entry.direction} ${entry.text}`));
   * await romeo.send(message({ to: "juliet@pronto", body: "hi" }));
   * await romeo.close();
   * assert.ok(seen.some((line) => line.startsWith("in <message")));
   * assert.ok(seen.includes("out </stream:stream>"));
   * ```
   */
  get trace$(): Observable<TraceEntry> {
    return this.#trace.asObservable();
  }

  /**
   * Opens the stream: headers, features, STARTTLS, restarts, until stanzas
   * may flow. Then reading goes on in the background.
   *
   * @example Both ends negotiate at once
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.equal(romeo.state, "open");
   * assert.equal(juliet.peerAddress, "romeo@forza");
   * await romeo.close();
   * ```
   *
   * @throws {StreamError} When the peer's header or input is bad (the stream
   * error was sent) or the peer sent a stream error.
   * @throws {NegotiationError} When a mandatory feature failed.
   * @throws {TimeoutError} When negotiation took longer than its deadline.
   */
  async negotiate(): Promise<void> {
    const ms = this.#options.negotiationTimeoutMs ?? 30_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError("negotiation", ms)), ms);
    });
    const work = this.#negotiate();
    work.catch(() => {}); // after a timeout, its failure is not news
    try {
      const first = await Promise.race([work, deadline]);
      this.#state = "open";
      this.#reader.setLimits(fullLimits(this.#options));
      this.#startLiveness();
      this.#stanzaTimerOn = true;
      this.#onProgress(this.#reader.midUnit);
      // A stanza that ended negotiation goes the way of the ones after it,
      // once whoever negotiated took the stream (and intercepts iqs).
      this.#loop = this.#readLoop(first);
    } catch (error) {
      await this.#fail(error);
      // Bad XML was answered with a stream error: report that one.
      throw this.#failure ?? error;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Sends an element (a stanza).
   *
   * @example Sending once open
   * ```ts
   * import { memoryPair, message, Session, StreamClosedError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * await romeo.send(message({ to: "juliet@pronto", body: "hi" }));
   * await romeo.close();
   * await assert.rejects(romeo.send(message({ body: "too late" })), StreamClosedError);
   * ```
   *
   * @param element The element, in the stream's content namespace.
   * @returns Resolves once it was written to the transport.
   */
  send(element: Element): Promise<void> {
    if (this.#state !== "open") {
      return Promise.reject(new StreamClosedError(this.#state));
    }
    let text: string;
    try {
      text = serialize(element, this.#ns);
    } catch (error) {
      return Promise.reject(error);
    }
    const written = this.#writer.write(text);
    if (this.#writer.full) this.#watchStall(false);
    return written;
  }

  /**
   * Sends an element nobody waits for (a reply, say): as
   * {@linkcode Session.send}, without a promise, so that a queue full of
   * them while the peer does not read holds their text and little more.
   *
   * @example Answering without waiting
   * ```ts
   * import { memoryPair, message, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * const failures: unknown[] = [];
   * romeo.post(message({ to: "juliet@pronto", body: "hi" }), (e) => failures.push(e));
   * await romeo.close();
   * assert.deepEqual(failures, []);
   * ```
   *
   * @param element The element, in the stream's content namespace.
   * @param onFailure Called (later) with the error when it cannot be
   *   written: the stream closed first (`StreamClosedError`), or the
   *   transport failed.
   * @throws {TypeError} When the element cannot be written as XML.
   */
  post(element: Element, onFailure: (error: unknown) => void): void {
    if (this.#state !== "open") {
      const error = new StreamClosedError(this.#state);
      queueMicrotask(() => onFailure(error));
      return;
    }
    this.#writer.post(serialize(element, this.#ns), onFailure);
    if (this.#writer.full) this.#watchStall(false);
  }

  /**
   * Ends the stream because a layer above failed it (an answer that could
   * not be sent, say): the stream error when it is one we owe, else our
   * close tag; then the transport closes. Does nothing once ending.
   *
   * @example Ending because a layer above failed
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * const result = await romeo.abort(new Error("The application gave up"));
   * assert.equal(result.clean, false);
   * await juliet.closed;
   * ```
   *
   * @param error Why.
   * @returns How it ended.
   */
  async abort(error: Error): Promise<CloseResult> {
    await this.#fail(error);
    return this.#closed;
  }

  /**
   * Closes the stream in order: pending writes go out, then
   * `</stream:stream>`; stanzas keep arriving until the peer's
   * `</stream:stream>` or the close deadline; then the transport closes.
   * Idempotent. Called while negotiating, it abandons the negotiation
   * (`negotiate()` rejects with a {@linkcode NegotiationError}) and the
   * stream ends unclean with that error.
   *
   * @example An ordered close
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * const [mine, hers] = await Promise.all([romeo.close(), juliet.closed]);
   * assert.deepEqual(mine, { clean: true });
   * assert.deepEqual(hers, { clean: true });
   * ```
   *
   * @returns How it ended.
   */
  close(): Promise<CloseResult> {
    if (this.#closing) return this.#closing;
    if (this.#state === "closed") return this.#closed;
    if (this.#state === "negotiating") {
      // Nothing to close in order yet: negotiation stops, `negotiate()`
      // rejects with this error, the peer gets our close tag.
      this.#closing = this.#fail(
        new NegotiationError(
          "close",
          "close() was called before the stream was open",
        ),
      ).then(() => this.#closed);
      return this.#closing;
    }
    this.#closing = (async () => {
      this.#state = "closing";
      this.#startCloseTimer();
      try {
        await this.#sendClose();
      } catch (error) {
        this.#finish({ clean: false, error: asError(error) });
      }
      this.#loop ??= this.#readLoop();
      return this.#closed;
    })();
    return this.#closing;
  }

  /**
   * Ends the stream with a stream error of our own (RFC 6120 section 4.9):
   * sends `<stream:error>` and `</stream:stream>`, then closes the transport.
   *
   * @example A stream error of ours
   * ```ts
   * import { memoryPair, Session, StreamError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * await romeo.error("conflict", "Another stream replaced this one");
   * const { error } = await juliet.closed;
   * assert.ok(error instanceof StreamError && error.condition === "conflict" && !error.sent);
   * ```
   *
   * @param condition Any RFC 6120 condition.
   * @param text An optional human-readable text.
   * @returns How it ended (never clean).
   */
  async error(
    condition: StreamErrorCondition,
    text?: string,
  ): Promise<CloseResult> {
    await this.#fail(new StreamError(condition, { sent: true, text }));
    return this.#closed;
  }

  /**
   * Ends the stream at once with a stream error of ours: the error is
   * written if the transport takes it right away (within 50 ms), then the
   * transport closes whatever the peer does. For a listener that must free
   * a connection now (admission control), not at the close deadline.
   *
   * @example Cutting a stream at once
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * const result = await juliet.cut("resource-constraint");
   * assert.equal(result.clean, false);
   * await romeo.closed;
   * ```
   *
   * @param condition Any RFC 6120 condition.
   * @param text An optional human-readable text.
   * @returns How it ended (never clean).
   */
  async cut(
    condition: StreamErrorCondition,
    text?: string,
  ): Promise<CloseResult> {
    await this.#fail(new StreamError(condition, { sent: true, text }), 50);
    return this.#closed;
  }

  // ------------------------------------------------------------ negotiation

  /** Runs headers and features; returns a stanza that arrived first, if any. */
  async #negotiate(): Promise<Element | undefined> {
    for (;;) {
      this.#headerSent = false;
      const restart = this.#options.role === "initiator"
        ? await this.#initiatorRound()
        : await this.#recipientRound();
      if (restart === false) return undefined;
      if (restart !== true) return restart;
      this.#reader.reset();
    }
  }

  /** One stream of the initiator; true when it must restart. */
  async #initiatorRound(): Promise<boolean> {
    this.#headerSent = true;
    await this.#writer.write(
      openTag(this.#ourHeader(undefined), this.#declaration()),
    );
    const header = await this.#receiveHeader();
    this.#id = header.id;
    if (header.version === undefined) {
      if (!acceptsNoVersion(this.#policy, this.#legacy)) {
        throw new NegotiationError(
          "starttls",
          "The peer sent no version (no stream features), so it cannot do TLS",
        );
      }
      return false;
    }
    const features = await this.#receiveElement();
    if (!features.is("features", STREAMS_NS)) {
      throw new StreamError("bad-format", {
        sent: true,
        text: "expected <stream:features/>",
      });
    }
    const context = this.#context(features);
    for (const feature of this.#features) {
      const offered = features.getChild(feature.name, feature.ns);
      if (offered === undefined) {
        if (feature.mandatory(context)) {
          throw new NegotiationError(
            feature.name,
            `The peer did not offer ${feature.name}, which this stream requires`,
          );
        }
        continue;
      }
      if (!feature.wanted(offered, context)) continue;
      if (await feature.initiate(offered, context)) return true;
    }
    return false;
  }

  /**
   * One stream of the recipient: true when it must restart, false when
   * negotiation is done, or the first stanza when one came right away.
   */
  async #recipientRound(): Promise<boolean | Element> {
    const first = this.#header === undefined;
    const header = await this.#receiveHeader();
    this.#id = streamId();
    if (first && this.#options.admit !== undefined) await this.#admit(header);
    this.#peerFeaturesIgnorable = this.#legacy;
    if (
      header.version === undefined &&
      !acceptsNoVersion(this.#policy, this.#legacy)
    ) {
      throw new StreamError("unsupported-version", {
        sent: true,
        text: "a stream without version cannot negotiate TLS",
      });
    }
    this.#headerSent = true;
    await this.#writer.write(
      openTag(this.#ourHeader(header), this.#declaration()),
    );
    if (header.version === undefined) return false;
    const context = this.#context();
    const offered = this.#features.filter((f) =>
      f.offer(context) !== undefined
    );
    const offers = offered.flatMap((f) =>
      [f.offer(context)!, ...(f.alongside?.(context) ?? [])].map((e) =>
        serialize(e, this.#ns)
      )
    );
    await this.#writer.write(
      offers.length === 0
        ? "<stream:features/>"
        : `<stream:features>${offers.join("")}</stream:features>`,
    );
    let pending = offered.filter((f) => f.mandatory(context));
    if (offered.length === 0) return false;
    if (pending.length === 0) {
      // Only voluntary features (STARTTLS under "optional"): the initiator
      // either starts one or sends its first stanza, which it may now, so
      // under the full limits.
      this.#reader.setLimits(fullLimits(this.#options));
    }
    for (;;) {
      const element = await this.#receiveElement();
      const feature = offered.find((f) => f.starts(element));
      if (feature === undefined && pending.length === 0) {
        this.#checkStanza(element);
        return element;
      }
      if (feature === undefined) {
        throw new StreamError("policy-violation", {
          sent: true,
          text: `${pending[0]!.name} must be negotiated first`,
        });
      }
      if (await feature.receive(element, context)) return true;
      pending = pending.filter((f) => f !== feature);
      if (pending.length === 0) return false;
    }
  }

  get #legacy(): boolean {
    return this.#options.legacy === true;
  }

  /** The admission check on the initiator's first header. */
  async #admit(header: StreamHeader): Promise<void> {
    let verdict;
    try {
      verdict = await this.#options.admit!(header);
    } catch (error) {
      throw new StreamError("internal-server-error", {
        sent: true,
        text: "the admission check failed",
        cause: error,
      });
    }
    if (verdict === true) return;
    if (
      typeof verdict !== "object" || verdict === null ||
      !TLS_POLICIES.includes(verdict.tls)
    ) {
      if (verdict !== false) {
        throw new StreamError("internal-server-error", {
          sent: true,
          text: "the admission check returned no verdict",
        });
      }
      throw new StreamError("invalid-from", {
        sent: true,
        text: header.from === undefined
          ? "a stream without from is not admitted"
          : `${header.from} is not admitted from here`,
      });
    }
    this.#setPolicy(verdict.tls);
  }

  /**
   * Legacy: the initiator's own `<stream:features/>` (telepathy-salut),
   * once per stream and before anything else it sends, is skipped.
   */
  #ignored(element: Element): boolean {
    if (!this.#peerFeaturesIgnorable) return false;
    this.#peerFeaturesIgnorable = false;
    return element.is("features", STREAMS_NS);
  }

  #ourHeader(peer: StreamHeader | undefined): StreamHeader {
    const o = this.#options;
    return {
      from: this.#answeredAs ?? o.from,
      to: peer ? peer.from : o.to,
      id: peer ? this.#id : undefined,
      version: peer && peer.version === undefined ? undefined : "1.0",
      lang: o.lang,
      ns: this.#ns,
    };
  }

  #declaration(): boolean {
    return this.#options.declaration ?? true;
  }

  #context(features?: Element): NegotiationContext {
    return {
      role: this.#options.role,
      tls: this.#tls !== undefined,
      canStartTls: this.#transport.canStartTls,
      tlsInfo: this.#tls,
      features,
      state: this.#featureState,
      authenticated: (identity, sasl) => {
        this.#identity = identity;
        if (sasl !== undefined) this.#sasl = sasl;
      },
      send: (element) => this.#writer.write(serialize(element, this.#ns)),
      receive: () => this.#receiveElement(),
      startTls: async () => {
        await this.#writer.drain();
        // Reading stopped at the frame that asked for TLS; whatever came
        // after it in plaintext is dropped with the parser. The new stream
        // negotiates again, under the smaller limits.
        this.#reader.setLimits(preAuthLimits(this.#options));
        this.#reader.reset();
        this.#tls = await this.#transport.startTls();
        // A new stream starts under TLS: anything we say now (an error)
        // comes inside a header of ours.
        this.#headerSent = false;
        this.#options.onNegotiationStep?.();
        try {
          await this.#options.verifyTls?.(this.#tls, this.peerAddress);
        } catch (error) {
          // The peer is told, under TLS, that it was refused.
          this.#refused = asError(error);
          throw this.#refused;
        }
      },
    };
  }

  async #receiveHeader(): Promise<StreamHeader> {
    const ms = this.#options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TimeoutError("the stream header", ms)),
        ms,
      );
    });
    let frame: StreamFrame | null;
    try {
      frame = await Promise.race([this.#reader.next(), deadline]);
    } finally {
      clearTimeout(timer);
    }
    if (frame === null) {
      throw new TransportError(
        "The peer closed the connection before its stream header",
      );
    }
    if (frame.type !== "header") {
      throw new StreamError("bad-format", {
        sent: true,
        text: "expected a stream header",
      });
    }
    const header = readHeader(frame.element, this.#ns);
    this.#checkAddresses(header);
    this.#header = header;
    this.#options.onNegotiationStep?.();
    return header;
  }

  /**
   * RFC 6120 section 4.7: the recipient answers only to addresses it serves,
   * and only from the address the initiator asked for.
   */
  #checkAddresses(header: StreamHeader): void {
    const o = this.#options;
    if (o.role === "initiator") {
      if (
        o.to !== undefined && header.from !== undefined &&
        !sameAddress(header.from, o.to)
      ) {
        throw new StreamError("invalid-from", {
          sent: true,
          text: `asked for ${o.to}, answered by ${header.from}`,
        });
      }
      return;
    }
    const served = o.addresses ?? (o.from === undefined ? [] : [o.from]);
    if (header.to !== undefined && served.length > 0) {
      const to = header.to;
      const ours = served.find((address) => sameAddress(address, to));
      if (ours === undefined) {
        // The error comes in a header from the address asked for (RFC 6120
        // section 4.9.3.6), so that the initiator reads the error, not a
        // header from someone it did not ask for.
        this.#answeredAs = to;
        throw new StreamError("host-unknown", {
          sent: true,
          text: `${to} is not served here`,
        });
      }
      this.#answeredAs = ours;
    }
    if (
      this.#header?.from !== undefined &&
      (header.from === undefined ||
        !sameAddress(header.from, this.#header.from))
    ) {
      // A restart may not change who the initiator claims to be.
      throw new StreamError("invalid-from", {
        sent: true,
        text: "the address changed at the stream restart",
      });
    }
  }

  /**
   * The address the peer is known by, normalised: on the initiator the `to`
   * it asked for (the recipient's headers answered from it, or from no
   * address); on the recipient the `from` of the initiator's header, as
   * claimed (what verified it, if anything, is the application's trust).
   *
   * @example Whom each end talks to
   * ```ts
   * import { memoryPair, Session } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const romeo = new Session({ role: "initiator", transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" });
   * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * await Promise.all([romeo.negotiate(), juliet.negotiate()]);
   *
   * assert.equal(romeo.peerAddress, "juliet@pronto");
   * assert.equal(juliet.peerAddress, "romeo@forza");
   * await romeo.close();
   * ```
   */
  get peerAddress(): string | undefined {
    const address = this.#options.role === "initiator"
      ? this.#options.to
      : this.#header?.from;
    return address === undefined ? undefined : normalizeAddress(address);
  }

  async #receiveElement(): Promise<Element> {
    let frame = await this.#reader.next();
    while (frame?.type === "element" && this.#ignored(frame.element)) {
      this.#options.onNegotiationStep?.();
      frame = await this.#reader.next();
    }
    if (frame === null) {
      throw new TransportError(
        "The peer closed the connection during negotiation",
      );
    }
    if (frame.type === "close") {
      // Answered in kind (RFC 6120 section 4.4), as once open.
      await this.#sendClose().catch(() => {});
      throw new StreamError("undefined-condition", {
        sent: false,
        text: "the peer closed the stream during negotiation",
      });
    }
    if (frame.type !== "element") {
      throw new StreamError("bad-format", {
        sent: true,
        text: "unexpected stream header",
      });
    }
    if (frame.element.is("error", STREAMS_NS)) {
      throw receivedError(frame.element);
    }
    if (this.#state === "negotiating") this.#options.onNegotiationStep?.();
    return frame.element;
  }

  // ---------------------------------------------------------------- stanzas

  async #readLoop(first?: Element): Promise<void> {
    try {
      // The first frame comes a few turns later, as it always did: whoever
      // negotiated takes the stream (and intercepts iqs) meanwhile.
      let starting = true;
      for (;;) {
        // After it, the gate and the frames of a chunk already read cost no
        // promise each: only a gate that holds, or a read, is awaited.
        if (starting) await this.#gate();
        else if (this.#pauseCause() !== undefined) await this.#gate();
        if (this.#state === "closed") return;
        let frame: StreamFrame | null | undefined;
        if (starting) {
          starting = false;
          frame = first === undefined
            ? await this.#reader.next()
            : await Promise.resolve({ type: "element", element: first });
          first = undefined;
        } else {
          frame = this.#reader.ready();
          if (frame === undefined) frame = await this.#reader.next();
        }
        if (frame === null) {
          // A legacy peer's way to end a stream (Gajim): no error.
          this.#finish(
            this.#legacy ? { clean: false } : {
              clean: false,
              error: new TransportError(
                "The peer closed the connection without </stream:stream>",
              ),
            },
          );
          return;
        }
        if (frame.type === "close") {
          await this.#peerClosed();
          return;
        }
        // Taken in a call of its own: while this loop waits, it holds no
        // stanza it delivered (the stanza would stay with an idle stream).
        this.#take(frame);
        frame = undefined;
      }
    } catch (error) {
      await this.#fail(error);
    }
  }

  /** A frame that is not a close: a stanza, to deliver. */
  #take(frame: Exclude<StreamFrame, { type: "close" }>): void {
    if (frame.type === "header") {
      throw new StreamError("bad-format", {
        sent: true,
        text: "unexpected stream header",
      });
    }
    const element = frame.element;
    if (this.#ignored(element)) return;
    if (element.is("error", STREAMS_NS)) throw receivedError(element);
    this.#checkStanza(element);
    this.#deliver(element, this.#reader.lastSize);
  }

  /** A depth-1 element that is no stanza ends the stream. */
  #checkStanza(element: Element): void {
    if (
      element.ns !== this.#ns ||
      (element.name !== "message" && element.name !== "presence" &&
        element.name !== "iq")
    ) {
      throw new StreamError("unsupported-stanza-type", {
        sent: true,
        text: `<${element.name} xmlns='${element.ns}'> is not a stanza`,
      });
    }
  }

  #deliver(stanza: Element, size: number): void {
    if (this.#intercept?.(stanza)) return;
    if (this.#buffer !== undefined) {
      this.#buffer.push(stanza);
      this.#bufferBytes += size;
    } else this.#stanzas.next(stanza);
  }

  /** Why reading must wait now, if it must. */
  #pauseCause(): PauseCause | undefined {
    if (this.#writer.full) return "unread";
    if (
      this.#buffer !== undefined && this.#buffer.length > 0 &&
      this.#bufferBytes >=
        (this.#options.receiveBufferLimit ?? DEFAULT_RECEIVE_BUFFER_BYTES)
    ) {
      return "unconsumed";
    }
    if (this.#busy.some((busy) => busy())) return "busy";
    return undefined;
  }

  /**
   * Waits while reading must pause: the peer does not read what we send,
   * what it sent is not taken, or a layer above is busy. Reading that stays
   * paused past the stall deadline ends the stream.
   */
  async #gate(): Promise<void> {
    if (this.#pauseCause() === undefined) return;
    // Paused by us, a stanza in progress is not the peer's delay.
    this.#stopStanzaTimer();
    this.#paused = true;
    this.#watchStall(false);
    try {
      while (this.#state !== "closed" && this.#pauseCause() !== undefined) {
        await new Promise<void>((resolve) => this.#resumeReading = resolve);
        this.#resumeReading = undefined;
      }
    } finally {
      this.#paused = false;
      this.#watchStall(false);
      this.#lastRead = Date.now(); // the idle deadline ran for us, not them
      this.#onProgress(this.#reader.midUnit);
    }
  }

  /** Reading may go on: the gate checks again. */
  #wake(): void {
    this.#resumeReading?.();
  }

  /**
   * What stalls the stream now: our queue stays full (the peer does not
   * read), or reading is paused for what the peer sent is not taken.
   */
  #stallCause(): PauseCause | undefined {
    if (this.#writer.full) return "unread";
    return this.#paused ? this.#pauseCause() : undefined;
  }

  /**
   * Arms the stall deadline when the stream stalls, clears it when it no
   * longer does; `progress` (a write completed) starts it again while the
   * peer reads, however slowly.
   */
  #watchStall(progress: boolean): void {
    if (this.#state === "closed") return;
    const cause = this.#stallCause();
    if (cause === undefined) {
      clearTimeout(this.#stallTimer);
      this.#stallTimer = undefined;
      return;
    }
    if (this.#stallTimer !== undefined && !(progress && cause === "unread")) {
      return;
    }
    clearTimeout(this.#stallTimer);
    const ms = this.#options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.#stallTimer = setTimeout(() => {
      this.#stallTimer = undefined;
      const cause = this.#stallCause();
      if (cause === undefined) return;
      if (cause === "unread") {
        // A peer that read nothing for so long will not read our error
        // either: the connection is freed now, not at the close deadline.
        void this.#fail(
          new StreamError("connection-timeout", {
            sent: true,
            text: `the peer read nothing of ours for ${ms} ms`,
          }),
          0,
        );
        return;
      }
      void this.#fail(
        new StreamError("resource-constraint", {
          sent: true,
          text: cause === "unconsumed"
            ? `received stanzas were not taken for ${ms} ms`
            : `received requests were not answered for ${ms} ms`,
        }),
      );
    }, ms);
  }

  /**
   * A transport write completed (the peer reads), or failed: then the
   * stream ends with that error, even while nothing reads.
   */
  #onWritten(failure?: unknown): void {
    if (failure !== undefined) {
      // Answering a legacy peer's close: see #peerClosed().
      if (this.#legacy && this.#peerCloseSeen) return;
      if (this.#state !== "closed") void this.#fail(failure);
      return;
    }
    this.#watchStall(true);
    this.#wake();
  }

  /**
   * The reader parsed a chunk or handed out a frame: a complete frame or
   * white space is activity (the idle deadline), a stanza partly read starts
   * the stanza deadline.
   */
  #onProgress(midUnit: boolean): void {
    if (!midUnit) {
      // Only the idle deadline reads the time (a clock read per frame is
      // a fair part of a small stanza's cost).
      if (this.#options.idleTimeoutMs !== undefined) {
        this.#lastRead = Date.now();
      }
      // No stanza is partly read: a timer still set finds none and stops
      // (clearing and setting one per stanza cost more than the stanza's
      // bookkeeping).
      this.#stanzaSince = 0;
      return;
    }
    if (!this.#stanzaTimerOn || this.#stanzaSince !== 0) return;
    if (this.#state !== "open" && this.#state !== "closing") return;
    this.#stanzaSince = Date.now();
    const ms = this.#options.stanzaTimeoutMs ?? DEFAULT_STANZA_TIMEOUT_MS;
    if (this.#stanzaTimer === undefined) this.#armStanzaTimer(ms, ms);
  }

  /**
   * The stanza deadline: `ms` after the stanza being read began. A timer
   * set for an earlier stanza sets itself again for the rest of the time.
   */
  #armStanzaTimer(delay: number, ms: number): void {
    this.#stanzaTimer = setTimeout(() => {
      this.#stanzaTimer = undefined;
      if (this.#stanzaSince === 0) return;
      const left = this.#stanzaSince + ms - Date.now();
      if (left > 0) {
        this.#armStanzaTimer(left, ms);
        return;
      }
      void this.#fail(
        new StreamError("policy-violation", {
          sent: true,
          text: `a stanza took more than ${ms} ms to arrive`,
        }),
      );
    }, delay);
  }

  #stopStanzaTimer(): void {
    clearTimeout(this.#stanzaTimer);
    this.#stanzaTimer = undefined;
    this.#stanzaSince = 0;
  }

  /** Keepalives and the dead-peer deadline, checked a few times a period. */
  #startLiveness(): void {
    const keepalive = this.#options.keepaliveMs;
    const idle = this.#options.idleTimeoutMs;
    if (keepalive === undefined && idle === undefined) return;
    const tick = Math.max(
      10,
      Math.min(keepalive ?? Infinity, idle ?? Infinity) / 4,
    );
    this.#lastRead = this.#lastWrite = Date.now();
    this.#liveness = setInterval(() => {
      const now = Date.now();
      // While we do not read (see #gate()), silence is ours.
      if (idle !== undefined && !this.#paused && now - this.#lastRead >= idle) {
        void this.#fail(
          new StreamError("connection-timeout", {
            sent: true,
            text: `nothing received for ${idle} ms`,
          }),
        );
        return;
      }
      if (
        keepalive !== undefined && this.#state === "open" &&
        now - this.#lastWrite >= keepalive
      ) {
        this.#writer.write(" ").catch(() => {});
      }
    }, tick);
  }

  /**
   * Bounds the rest of the stream's life by the close deadline: a peer that
   * stops reading cannot hold our close (or our stream error) forever.
   */
  #startCloseTimer(closeMs?: number): void {
    if (this.#state === "closed") return;
    if (this.#closeTimer !== undefined) {
      if (closeMs === undefined) return;
      clearTimeout(this.#closeTimer); // cut(): sooner than the deadline
    }
    const ms = closeMs ?? this.#options.closeTimeoutMs ?? 10_000;
    this.#closeTimer = setTimeout(() => {
      this.#finish({ clean: false, error: new TimeoutError("close", ms) });
    }, ms);
  }

  /** The peer sent `</stream:stream>`: answer in kind, then end. */
  async #peerClosed(): Promise<void> {
    this.#peerCloseSeen = true;
    if (this.#state === "open") this.#state = "closing";
    this.#startCloseTimer();
    try {
      await this.#sendClose();
    } catch (error) {
      // A legacy peer hangs up right after its close (libpurple): our
      // answer finding the connection gone is no failure.
      this.#finish(
        this.#legacy && this.#failure === undefined
          ? { clean: true }
          : { clean: false, error: asError(error) },
      );
      return;
    }
    this.#finish({ clean: true });
  }

  async #sendClose(): Promise<void> {
    if (this.#closeSent) return;
    this.#closeSent = true;
    await this.#writer.end(CLOSE_TAG);
  }

  /** Ends the stream after an error: a stream error if we owe one, then close. */
  async #fail(error: unknown, closeMs?: number): Promise<void> {
    if (this.#state === "closed" || this.#failure !== undefined) return;
    this.#failure = error instanceof XmlError
      ? new StreamError(error.condition, {
        sent: true,
        text: error.message,
        cause: error,
      })
      : asError(error);
    // What we owe the peer: a stream error for its bad input (the one
    // #failure already is) or our deadline, else (a failed negotiation) at
    // least our close tag.
    const failure = this.#failure;
    let owed: StreamError | undefined;
    if (failure instanceof StreamError && failure.sent) owed = failure;
    else if (failure === this.#refused) {
      owed = new StreamError("not-authorized", {
        sent: true,
        text: failure.message,
      });
    } else if (failure instanceof TimeoutError) {
      owed = new StreamError("connection-timeout", {
        sent: true,
        text: failure.message,
      });
    }
    const received = error instanceof StreamError && !error.sent;
    // A TransportError means the transport is gone, unless it is a
    // certificate refused by verifyTls over a transport that works.
    const gone = error instanceof TransportError && failure !== this.#refused;
    if (!this.#closeSent && !received && !gone) {
      this.#closeSent = true;
      const text = owed?.text === undefined
        ? ""
        : `<text xmlns='${STREAM_ERROR_NS}'>${escapeText(owed.text)}</text>`;
      // RFC 6120 section 4.9.1.1: even when the peer's header was the
      // problem, the error comes inside a stream of ours.
      let head = "";
      if (!this.#headerSent) {
        this.#headerSent = true;
        this.#id ??= streamId();
        const peer = this.#header ?? {
          from: undefined,
          to: undefined,
          id: undefined,
          version: "1.0",
          lang: undefined,
          ns: this.#ns,
        };
        head = openTag(this.#ourHeader(peer), this.#declaration());
      }
      const tail = head +
        (owed === undefined
          ? CLOSE_TAG
          : `<stream:error><${owed.condition} xmlns='${STREAM_ERROR_NS}'/>${text}</stream:error>${CLOSE_TAG}`);
      this.#startCloseTimer(closeMs);
      try {
        // What waits for room is dropped: the error goes out next.
        await this.#writer.end(tail, this.#failure);
      } catch {
        // The transport is gone; the error stands.
      }
    }
    this.#finish({ clean: false, error: this.#failure });
  }

  #finish(result: CloseResult): void {
    if (this.#state === "closed") return;
    // Once failing, the stream ends with that error, whatever comes after
    // (the peer hanging up on our stream error, say).
    if (this.#failure !== undefined) {
      result = { clean: false, error: this.#failure };
    }
    this.#state = "closed";
    clearTimeout(this.#closeTimer);
    clearInterval(this.#liveness);
    clearTimeout(this.#stallTimer);
    this.#stopStanzaTimer();
    this.#writer.abort(
      result.error ?? new StreamClosedError("closed"),
    );
    this.#wake();
    this.#transport.close();
    if (result.clean || result.error === undefined) this.#stanzas.complete();
    else this.#stanzas.error(result.error);
    this.#trace.complete();
    this.#resolveClosed(result);
  }

  #traced(direction: "in" | "out", text: string): void {
    if (this.#trace.observed) {
      this.#trace.next({ direction, text, tls: this.#tls !== undefined });
    }
  }
}

function receivedError(element: Element): StreamError {
  let condition: StreamErrorCondition = "undefined-condition";
  let text: string | undefined;
  for (const child of element.elements()) {
    if (child.ns !== STREAM_ERROR_NS) continue;
    if (child.name === "text") text = child.text();
    else if (
      (STREAM_ERROR_CONDITIONS as readonly string[]).includes(child.name)
    ) {
      condition = child.name as StreamErrorCondition;
    }
  }
  return new StreamError(condition, { sent: false, text });
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** The limits once open. */
function fullLimits(options: SessionOptions): ParserLimits {
  return { ...DEFAULT_LIMITS, ...options.limits };
}

/**
 * The limits while negotiating: those given, the others from
 * {@linkcode PRE_AUTH_LIMITS} but never above the full limit.
 */
function preAuthLimits(options: SessionOptions): Partial<ParserLimits> {
  const full = fullLimits(options);
  const limits = { ...options.preAuthLimits };
  for (const key of Object.keys(PRE_AUTH_LIMITS) as (keyof ParserLimits)[]) {
    limits[key] ??= Math.min(PRE_AUTH_LIMITS[key], full[key]);
  }
  return limits;
}
