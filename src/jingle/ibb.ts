/**
 * In-Band Bytestreams (XEP-0047): a byte stream carried in iq stanzas over
 * an existing stream, as a `Transport` that a whole end-to-end
 * stream can run over.
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import type { E2EStream } from "../endpoint/e2e_stream.ts";
import { StanzaError } from "../stanza/error.ts";
import type { IqAnswer } from "../stanza/iq_router.ts";
import { checkIqTimeout } from "../stanza/iq_tracker.ts";
import { iq, iqResult } from "../stanza/stanza.ts";
import { xml } from "../stanza/xml.ts";
import { TransportError } from "../transport/transport.ts";
import { IbbError } from "./ibb_error.ts";
import {
  IBB_NS,
  ibbErrorOf,
  IbbSession,
  type IbbTransport,
} from "./_ibb_session.ts";

export { IBB_NS, type IbbTransport };

/** The block size {@linkcode InBandBytestreams.open} asks for by default. */
export const DEFAULT_IBB_BLOCK_SIZE = 4096;

/** What {@linkcode InBandBytestreams} takes. */
export interface IbbOptions {
  /** The block size asked for when opening, 1 to 65,535. Default 4,096. */
  blockSize?: number;
  /**
   * The largest block size accepted from a peer that opens; a larger one is
   * answered `resource-constraint`. Default 16,384.
   */
  maxBlockSize?: number;
  /**
   * Most data packets sent and not yet acknowledged, per session, 1 to 16:
   * past it, writes wait for acknowledgements. Default 4.
   */
  window?: number;
  /**
   * Bytes received and not yet read past which acknowledgements are held
   * back until reads catch up, per session: what a peer can make us keep is
   * this plus its window of blocks. A peer that sends on without waiting
   * (XEP-0047 does not make it wait) past 16 held acknowledgements of a
   * session, or 32 of all the sessions on the stream, has that session
   * ended with `overflow`, so that it cannot stall the carrying stream.
   * Default 65,536.
   */
  readBufferLimit?: number;
  /**
   * Deadline of each open, data and close request, in ms (`Infinity` for
   * none); the stream's `iqTimeoutMs` by default. A peer whose reader lags
   * for longer holds an acknowledgement past it, and the session ends with a
   * `timeout` error, as a stream whose writes stall does.
   */
  timeoutMs?: number;
}

/** What {@linkcode InBandBytestreams.open} takes. */
export interface IbbOpenOptions {
  /** The peer's address; none over an end-to-end stream. */
  to?: string;
  /** The block size asked for, in place of the option's. */
  blockSize?: number;
  /**
   * The stanzas that carry the data (XEP-0047 `stanza`): `iq` (the
   * default), each acknowledged, which gives backpressure; or `message`,
   * never acknowledged, for peers that ask for it.
   */
  stanza?: "iq" | "message";
  /**
   * Gives up waiting for the peer's answer. A peer that accepted all the
   * same keeps its side until its own deadlines end it.
   */
  signal?: AbortSignal;
}

/** What {@linkcode InBandBytestreams.expect} takes. */
export interface IbbExpectOptions {
  /** The only address the open may come from; any when omitted. */
  from?: string;
  /** Gives up waiting. */
  signal?: AbortSignal;
}

interface Expectation {
  from: string | undefined;
  resolve: (transport: IbbTransport) => void;
  reject: (error: Error) => void;
}

function sessionKey(peer: string | undefined, sid: string): string {
  return `${peer ?? ""}\n${sid}`;
}

function checkSize(value: number, name: string, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(
      `Cannot use ${name} ${value}: it must be an integer from 1 to ${max}`,
    );
  }
  return value;
}

/**
 * In-Band Bytestreams over one {@linkcode E2EStream}: opens sessions
 * ({@linkcode InBandBytestreams.open}) and accepts the ones it expects
 * ({@linkcode InBandBytestreams.expect}); every other open is declined
 * (`not-acceptable`), data or close for an unknown session is answered
 * `item-not-found`. Each session is an {@linkcode IbbTransport}: data goes
 * as base64 in iq sets, each acknowledged, with sequence numbers that wrap
 * after 65,535; or, when the opener asks for it (`stanza: "message"`), in
 * messages, not acknowledged, a peer that sends more than
 * `readBufferLimit` unread bytes ending the session (`overflow`). There is no TLS inside it (`canStartTls` is false; see
 * `withTls`). Make one per stream: it answers every IBB request on it.
 *
 * @example A byte stream both ways over an end-to-end stream
 * ```ts
 * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
 * import { InBandBytestreams } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = memoryPair();
 * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
 *   recipient.negotiate(),
 * ]);
 * const juliet = new E2EStream(recipient);
 *
 * const expected = new InBandBytestreams(juliet).expect("balcony");
 * const mine = await new InBandBytestreams(romeo).open("balcony");
 * const hers = await expected;
 * await mine.write(new TextEncoder().encode("Wherefore"));
 * assert.equal(new TextDecoder().decode((await hers.read())!), "Wherefore");
 * mine.close();
 * assert.equal(await hers.read(), null);
 * await Promise.all([mine.closed, hers.closed]);
 * await Promise.all([romeo.close(), juliet.closed]);
 * ```
 */
export class InBandBytestreams {
  readonly #stream: E2EStream;
  readonly #blockSize: number;
  readonly #maxBlockSize: number;
  readonly #window: number;
  readonly #held = { count: 0 }; // acknowledgements held back, all sessions
  readonly #readBufferLimit: number;
  readonly #timeoutMs: number | undefined;
  readonly #sessions = new Map<string, IbbSession>();
  readonly #expected = new Map<string, Expectation>();
  readonly #unhandle: (() => void)[];
  // Watches stanzas$ only while a session carries data in messages: the
  // first subscriber gets what arrived before it, which is the
  // application's to take.
  #messages: { unsubscribe(): void } | undefined;
  #messageSessions = 0;
  #ended: IbbError | TransportError | undefined;

  /**
   * Answers IBB requests on `stream` from now on.
   *
   * @example Limits of one's own
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import { InBandBytestreams } from "@xmpp-e2e/streams/jingle";
   *
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const ibb = new InBandBytestreams(romeo, { blockSize: 8192, window: 2 });
   * ibb.close();
   * await Promise.all([romeo.close(), recipient.closed]);
   * ```
   *
   * @param stream The stream the sessions are carried over.
   * @param options Block sizes, window, read buffer, deadline.
   * @throws {RangeError} When an option is out of range.
   */
  constructor(stream: E2EStream, options: IbbOptions = {}) {
    this.#stream = stream;
    this.#blockSize = checkSize(
      options.blockSize ?? DEFAULT_IBB_BLOCK_SIZE,
      "blockSize",
      0xffff,
    );
    this.#maxBlockSize = checkSize(
      options.maxBlockSize ?? 16384,
      "maxBlockSize",
      0xffff,
    );
    this.#window = checkSize(options.window ?? 4, "window", 16);
    this.#readBufferLimit = checkSize(
      options.readBufferLimit ?? 65536,
      "readBufferLimit",
      2 ** 30,
    );
    this.#timeoutMs = options.timeoutMs === undefined
      ? undefined
      : checkIqTimeout(options.timeoutMs);
    this.#unhandle = [
      stream.handle("set", IBB_NS, "open", (request) => this.#onOpen(request)),
      stream.handle("set", IBB_NS, "data", (request) => this.#onData(request)),
      stream.handle(
        "set",
        IBB_NS,
        "close",
        (request) => this.#onClose(request),
      ),
    ];
    void stream.closed.then(() =>
      this.#end(
        new IbbError(
          "stream-ended",
          "The stream carrying the bytestream ended",
        ),
      )
    );
  }

  /**
   * Opens a session: asks the peer, and resolves once it accepted.
   *
   * @example Opening, declined
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import { IbbError, InBandBytestreams } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   * new InBandBytestreams(juliet); // expects nothing: declines
   * await assert.rejects(
   *   new InBandBytestreams(romeo).open("unasked"),
   *   (error) => error instanceof IbbError && error.reason === "declined",
   * );
   * await Promise.all([romeo.close(), juliet.closed]);
   * ```
   *
   * @param sid The session id (agreed beforehand, by Jingle say).
   * @param options The peer's address, a block size, a signal.
   * @returns The open session.
   * @throws {IbbError} When the peer declines (`declined`, `block-size`,
   *   `rejected`), does not answer (`timeout`), or the stream ends.
   * @throws {TypeError} When the sid is empty or already in use.
   * @throws {RangeError} When the block size is out of range.
   */
  async open(sid: string, options: IbbOpenOptions = {}): Promise<IbbTransport> {
    if (this.#ended !== undefined) throw this.#ended;
    if (sid === "") throw new TypeError("Cannot open: the sid is empty");
    const blockSize = checkSize(
      options.blockSize ?? this.#blockSize,
      "blockSize",
      0xffff,
    );
    const key = sessionKey(options.to, sid);
    if (this.#sessions.has(key)) {
      throw new TypeError(`Cannot open: session "${sid}" is already open`);
    }
    const stanza = options.stanza ?? "iq";
    if (stanza !== "iq" && stanza !== "message") {
      throw new TypeError('Cannot open: stanza is "iq" or "message"');
    }
    // Known before the peer accepts: its data may come right after.
    const session = this.#session(options.to, sid, blockSize, stanza);
    const request = iq(
      { type: "set", to: options.to },
      xml("open", {
        xmlns: IBB_NS,
        sid,
        "block-size": blockSize,
        stanza,
      }),
    );
    try {
      await this.#stream.request(request, {
        ...(this.#timeoutMs !== undefined
          ? { timeoutMs: this.#timeoutMs }
          : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
      });
    } catch (error) {
      session.abandon();
      if (options.signal?.aborted) throw options.signal.reason;
      throw ibbErrorOf(error, "Cannot open the bytestream");
    }
    return session;
  }

  /**
   * Waits for the peer to open session `sid`, and accepts it then.
   *
   * @example Waiting for the peer's open
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import { InBandBytestreams } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const juliet = new E2EStream(recipient);
   * const waiting = new InBandBytestreams(juliet, { maxBlockSize: 4096 }).expect("s1");
   * const mine = await new InBandBytestreams(romeo).open("s1", { blockSize: 4096 });
   * assert.equal((await waiting).blockSize, 4096);
   * mine.close();
   * await mine.closed;
   * await Promise.all([romeo.close(), juliet.closed]);
   * ```
   *
   * @param sid The session id.
   * @param options Who may open it, a signal.
   * @returns The session, once opened.
   * @throws {IbbError} When the stream ends first (`stream-ended`).
   * @throws {TypeError} When `sid` is empty or already expected.
   */
  expect(sid: string, options: IbbExpectOptions = {}): Promise<IbbTransport> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    if (sid === "") {
      return Promise.reject(new TypeError("Cannot expect: the sid is empty"));
    }
    if (this.#expected.has(sid)) {
      return Promise.reject(
        new TypeError(`Cannot expect: session "${sid}" is already expected`),
      );
    }
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const aborted = () => {
        this.#expected.delete(sid);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", aborted, { once: true });
      this.#expected.set(sid, {
        from: options.from,
        resolve: (transport) => {
          signal?.removeEventListener("abort", aborted);
          resolve(transport);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", aborted);
          reject(error);
        },
      });
    });
  }

  /**
   * Stops answering IBB requests: closes every session, and what waits in
   * {@linkcode InBandBytestreams.expect} rejects. Idempotent.
   *
   * @example Stopping
   * ```ts
   * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
   * import { InBandBytestreams } from "@xmpp-e2e/streams/jingle";
   * import { TransportError } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const [a, b] = memoryPair();
   * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
   * const [romeo] = await Promise.all([
   *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
   *   recipient.negotiate(),
   * ]);
   * const ibb = new InBandBytestreams(romeo);
   * const waiting = ibb.expect("s1");
   * ibb.close();
   * await assert.rejects(waiting, TransportError);
   * await Promise.all([romeo.close(), recipient.closed]);
   * ```
   */
  close(): void {
    this.#end(new TransportError("In-Band Bytestreams were closed here"));
  }

  #end(error: IbbError | TransportError): void {
    if (this.#ended !== undefined) return;
    this.#ended = error;
    for (const unhandle of this.#unhandle) unhandle();
    this.#messages?.unsubscribe();
    this.#messages = undefined;
    const expected = [...this.#expected.values()];
    this.#expected.clear();
    for (const expectation of expected) expectation.reject(error);
    for (const session of [...this.#sessions.values()]) {
      if (error instanceof IbbError) session.fail(error, false);
      else session.close();
    }
  }

  #session(
    peer: string | undefined,
    sid: string,
    blockSize: number,
    stanza: "iq" | "message",
  ) {
    const key = sessionKey(peer, sid);
    const session = new IbbSession({
      stream: this.#stream,
      sid,
      peer,
      blockSize,
      stanza,
      window: this.#window,
      readBufferLimit: this.#readBufferLimit,
      held: this.#held,
      timeoutMs: this.#timeoutMs,
      release: () => {
        if (this.#sessions.get(key) === session) this.#sessions.delete(key);
        if (stanza === "message" && --this.#messageSessions === 0) {
          this.#messages?.unsubscribe();
          this.#messages = undefined;
        }
      },
    });
    if (stanza === "message" && this.#messageSessions++ === 0) {
      this.#messages = this.#stream.stanzas$.subscribe({
        next: (stanza) => this.#onMessage(stanza),
        error: () => {},
      });
    }
    this.#sessions.set(key, session);
    return session;
  }

  #onOpen(request: Element): IqAnswer {
    const open = request.getChild("open", IBB_NS)!;
    const sid = open.attrs.sid ?? "";
    const sizeText = open.attrs["block-size"] ?? "";
    const blockSize = /^[1-9][0-9]{0,4}$/.test(sizeText) ? Number(sizeText) : 0;
    if (sid === "" || blockSize < 1 || blockSize > 0xffff) {
      return new StanzaError("bad-request", {
        text: "An open needs a sid and a block-size from 1 to 65535",
      });
    }
    const stanza = open.attrs.stanza ?? "iq";
    if (stanza !== "iq" && stanza !== "message") {
      return new StanzaError("bad-request", {
        text: 'The stanza attribute is "iq" or "message"',
      });
    }
    const from = request.attrs.from;
    const expectation = this.#expected.get(sid);
    if (
      expectation === undefined ||
      (expectation.from !== undefined && expectation.from !== from) ||
      this.#sessions.has(sessionKey(from, sid))
    ) {
      return new StanzaError("not-acceptable");
    }
    if (blockSize > this.#maxBlockSize) {
      return new StanzaError("resource-constraint", {
        type: "modify",
        text: `The block size can be at most ${this.#maxBlockSize}`,
      });
    }
    this.#expected.delete(sid);
    expectation.resolve(this.#session(from, sid, blockSize, stanza));
    return iqResult(request);
  }

  #onData(request: Element): IqAnswer | Promise<IqAnswer> {
    const data = request.getChild("data", IBB_NS)!;
    const session = this.#find(request, data);
    if (session === undefined) return unknown();
    return session.receive(request, data);
  }

  #onClose(request: Element): IqAnswer {
    const session = this.#find(request, request.getChild("close", IBB_NS)!);
    if (session === undefined) return unknown();
    return session.peerClose(request);
  }

  #onMessage(stanza: Element): void {
    if (stanza.name !== "message") return;
    const data = stanza.getChild("data", IBB_NS);
    if (data === undefined) return;
    const session = this.#find(stanza, data);
    if (session === undefined) return; // no such session: dropped
    if (stanza.attrs.type === "error") {
      session.fail(
        new IbbError("rejected", "The peer refused a data message"),
        false,
      );
    } else {
      session.receiveMessage(data);
    }
  }

  #find(request: Element, payload: Element): IbbSession | undefined {
    const sid = payload.attrs.sid ?? "";
    return this.#sessions.get(sessionKey(request.attrs.from, sid));
  }
}

function unknown(): StanzaError {
  return new StanzaError("item-not-found", {
    text: "No such bytestream session",
  });
}
