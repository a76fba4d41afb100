/**
 * Matching iq replies to iq requests (RFC 6120 section 8.2.3), with
 * deadlines, and the default answer to requests that nobody handles.
 *
 * @module
 */

import { TimeoutError } from "../stream/errors.ts";
import type { Element } from "../xml/element.ts";
import { StanzaError } from "./error.ts";
import { Jid } from "./jid.ts";
import { iqError } from "./stanza.ts";
import { STANZA_NAMESPACES } from "./view.ts";

/**
 * The default deadline of an iq request, in milliseconds.
 *
 * @example The value
 * ```ts
 * import { DEFAULT_IQ_TIMEOUT_MS } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_IQ_TIMEOUT_MS, 30_000);
 * ```
 */
export const DEFAULT_IQ_TIMEOUT_MS = 30_000;

// setTimeout fires at once beyond this delay.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What {@linkcode IqTracker} takes. */
export interface IqTrackerOptions {
  /**
   * The deadline of each request, in milliseconds; `Infinity` for none.
   * {@linkcode DEFAULT_IQ_TIMEOUT_MS} when omitted.
   */
  timeoutMs?: number | undefined;
  /**
   * The address the stream peer is known by (from its stream header or its
   * certificate), if any: a client's server is known by its domain. A reply
   * without `from` matches a request to this address, and a reply from this
   * address matches a request without `to`.
   */
  streamPeer?: string | Jid | undefined;
  /**
   * This end's own address, if known: the full JID resource binding gave,
   * or the `from` of our stream header. A request without `to` is answered
   * by one's own server on behalf of the account (RFC 6120 section 10.3.3),
   * so its reply may come from our bare or full JID or our server's domain
   * as well; a request to our own bare JID may be answered without `from`
   * (section 8.1.2.1). Set it later with {@linkcode IqTracker.setOwnAddress}
   * when it is only known then.
   */
  ownAddress?: string | Jid | undefined;
}

/** What {@linkcode IqTracker.request} takes besides the iq. */
export interface IqRequestOptions {
  /** This request's deadline, in place of the tracker's. */
  timeoutMs?: number | undefined;
  /** Gives up waiting (rejecting with the signal's reason) when aborted. */
  signal?: AbortSignal | undefined;
}

interface Pending {
  /** The address the request went to (normalised), undefined for none. */
  to: string | undefined;
  resolve: (reply: Element) => void;
  reject: (reason: unknown) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Checks an iq deadline (internal to the package).
 *
 * @param ms The deadline in milliseconds.
 * @returns It, when positive and at most 2^31 - 1, or `Infinity`.
 * @throws {RangeError} Otherwise.
 */
export function checkIqTimeout(ms: number): number {
  if (!(ms > 0) || (ms !== Infinity && ms > MAX_TIMER_MS)) {
    throw new RangeError(
      `Cannot track iq: a timeout of ${ms} ms is not a positive number up to ${MAX_TIMER_MS} or Infinity`,
    );
  }
  return ms;
}

function isIq(element: Element): boolean {
  return element.name === "iq" && STANZA_NAMESPACES.includes(element.ns);
}

/**
 * Tracks iq requests until their reply, error or deadline. The caller sends
 * each request itself, and feeds every inbound stanza to
 * {@linkcode IqTracker.handle}.
 *
 * A reply matches a request when it has the request's id and comes from an
 * address that may answer it (RFC 6120 sections 8.1.2.1 and 10.3.3), so
 * that no other entity can answer by guessing ids:
 *
 * - A request without `to` goes to the stream peer, or, on a client's
 *   stream, is handled by its server for the account. Its reply may have
 *   no `from`, or come from the stream peer (`streamPeer`: a server's
 *   domain), from our own bare or full JID, or from our own domain
 *   (`ownAddress`).
 * - A request with `to` is answered by that address only: a full JID by
 *   that full JID, a bare JID by that bare JID (the server answers for an
 *   account at its bare JID, section 10.5.3.2; a full JID of it does not
 *   answer for it). A reply without `from` also matches a request to the
 *   stream peer or to our own bare JID, which may answer without one.
 *
 * Addresses compare as JIDs, in their normal form (RFC 7622: localpart and
 * domain without case, the resource with it; an invalid one compares as
 * the raw string).
 *
 * @example A request and its reply
 * ```ts
 * import { iq, iqResult, IqTracker, xml } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const tracker = new IqTracker({ timeoutMs: 1000 });
 * const request = iq({ type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" }));
 * const reply = tracker.request(request); // then send `request`
 * assert.equal(tracker.handle(iqResult(request)), true); // the peer's answer
 * assert.equal((await reply).attrs.type, "result");
 * assert.equal(tracker.pending, 0);
 * ```
 */
export class IqTracker {
  readonly #timeoutMs: number;
  readonly #streamPeer: string | undefined;
  // Our own address as normalised: the full JID (if it has a resource),
  // the bare JID, and the domain (of an account JID).
  #ownFull: string | undefined;
  #ownBare: string | undefined;
  #ownDomain: string | undefined;
  readonly #pending = new Map<string, Pending[]>();
  #count = 0;
  #closed: { reason: Error } | undefined;

  /**
   * Makes a tracker.
   *
   * @example A tracker with a short deadline
   * ```ts
   * import { iq, IqTracker, TimeoutError, xml } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const tracker = new IqTracker({ timeoutMs: 20 });
   * const request = iq({ type: "get", to: "juliet@pronto" }, xml("ping", { xmlns: "urn:xmpp:ping" }));
   * await assert.rejects(tracker.request(request), TimeoutError); // nobody answered
   * ```
   *
   * @param options The deadline, the stream peer's address and ours.
   * @throws {RangeError} When the timeout is not positive.
   */
  constructor(options: IqTrackerOptions = {}) {
    this.#timeoutMs = checkIqTimeout(
      options.timeoutMs ?? DEFAULT_IQ_TIMEOUT_MS,
    );
    this.#streamPeer = options.streamPeer === undefined
      ? undefined
      : addressKey(options.streamPeer);
    this.setOwnAddress(options.ownAddress);
  }

  /**
   * Sets this end's own address once it is known (the JID bound by
   * resource binding, say); see {@linkcode IqTrackerOptions.ownAddress}.
   * Requests already pending match by it from now on.
   *
   * @param address Our address, or `undefined` for none.
   *
   * @example A roster get without `to`, answered by our own server
   * ```ts
   * import { iq, IqTracker, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const tracker = new IqTracker({ streamPeer: "montague.example" });
   * tracker.setOwnAddress("romeo@montague.example/orchard");
   * const get = iq({ type: "get" }, xml("query", { xmlns: "jabber:iq:roster" }));
   * const reply = tracker.request(get);
   * const forged = iq({ type: "result", id: get.attrs.id, from: "tybalt@capulet.example" });
   * assert.equal(tracker.handle(forged), false);
   * const ours = iq({ type: "result", id: get.attrs.id, from: "romeo@montague.example" });
   * assert.equal(tracker.handle(ours), true);
   * assert.equal(await reply, ours);
   * ```
   */
  setOwnAddress(address: string | Jid | undefined): void {
    const jid = address === undefined
      ? undefined
      : typeof address === "string"
      ? Jid.tryParse(address)
      : address;
    if (jid === undefined) {
      this.#ownFull = this.#ownDomain = undefined;
      this.#ownBare = typeof address === "string" ? address : undefined;
      return;
    }
    this.#ownFull = jid.isBare ? undefined : jid.toString();
    this.#ownBare = jid.bare.toString();
    this.#ownDomain = jid.local === undefined ? undefined : jid.domain;
  }

  /**
   * How many requests wait for a reply.
   *
   * @returns The count.
   *
   * @example Counting
   * ```ts
   * import { IqTracker } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new IqTracker().pending, 0);
   * ```
   */
  get pending(): number {
    return this.#count;
  }

  /**
   * Registers a request and waits for its reply. Send the iq yourself.
   *
   * @param iq The iq `get` or `set`, with an id.
   * @param peer The address the request goes to, which the reply must come
   *   from (see the class notes); the iq's `to` when omitted.
   * @param options A deadline for this request, an abort signal.
   * @returns The `result` iq. Rejects with a {@linkcode StanzaError} on an
   *   `error` reply, a `TimeoutError` (operation `"iq"`) at the deadline,
   *   the close reason after {@linkcode IqTracker.close}, the signal's reason
   *   on abort, or a `TypeError` when the iq is not a request with an id or
   *   the same id is already pending for a request that a reply could
   *   match too.
   *
   * @example A request that times out
   * ```ts
   * import { iq, IqTracker, xml } from "@xmpp-e2e/streams/stanza";
   * import { TimeoutError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const tracker = new IqTracker({ timeoutMs: 10 });
   * const request = iq({ type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" }));
   * await assert.rejects(tracker.request(request), TimeoutError);
   * ```
   */
  request(
    iq: Element,
    peer: string | Jid | undefined = iq.attrs.to,
    options: IqRequestOptions = {},
  ): Promise<Element> {
    if (this.#closed) return Promise.reject(this.#closed.reason);
    const { id, type } = iq.attrs;
    if (!isIq(iq) || (type !== "get" && type !== "set") || id === undefined) {
      return Promise.reject(
        new TypeError("Cannot track iq: only an iq get or set with an id"),
      );
    }
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    let ms: number;
    try {
      ms = checkIqTimeout(options.timeoutMs ?? this.#timeoutMs);
    } catch (error) {
      return Promise.reject(error);
    }
    const to = peer === undefined ? undefined : addressKey(peer);
    const list = this.#pending.get(id) ?? [];
    const answers = this.#answerers(to);
    if (
      list.some((entry) =>
        this.#answerers(entry.to).some((a) => answers.includes(a))
      )
    ) {
      return Promise.reject(
        new TypeError(`Cannot track iq: id "${id}" is already pending`),
      );
    }
    return new Promise<Element>((resolve, reject) => {
      const entry: Pending = {
        to,
        resolve,
        reject,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (ms !== Infinity) {
        entry.timer = setTimeout(() => {
          entry.timer = undefined;
          this.#settle(id, entry);
          reject(new TimeoutError("iq", ms));
        }, ms);
      }
      if (signal) {
        entry.onAbort = () => {
          this.#settle(id, entry);
          reject(signal.reason);
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      list.push(entry);
      this.#pending.set(id, list);
      this.#count++;
    });
  }

  /**
   * Offers an inbound stanza. A `result` or `error` iq that matches a
   * pending request (id and sender, see the class notes) is consumed: the
   * request resolves with it, or rejects with its {@linkcode StanzaError}.
   *
   * @param stanza Any inbound stanza.
   * @param from The address it came from; its `from` attribute when
   *   omitted.
   * @returns Whether the stanza was consumed. An unconsumed reply should be
   *   dropped, never answered.
   *
   * @example A reply from the wrong peer is not consumed
   * ```ts
   * import { iq, IqTracker, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const tracker = new IqTracker();
   * const request = iq({ type: "get", to: "juliet@capulet.example" }, xml("ping", { xmlns: "urn:xmpp:ping" }));
   * const reply = tracker.request(request);
   * const forged = iq({ type: "result", id: request.attrs.id, from: "tybalt@capulet.example" });
   * assert.equal(tracker.handle(forged), false);
   * const real = iq({ type: "result", id: request.attrs.id, from: "juliet@capulet.example" });
   * assert.equal(tracker.handle(real), true);
   * assert.equal(await reply, real);
   * ```
   */
  handle(
    stanza: Element,
    from: string | Jid | undefined = stanza.attrs.from,
  ): boolean {
    const { id, type } = stanza.attrs;
    if (!isIq(stanza) || (type !== "result" && type !== "error")) return false;
    if (id === undefined) return false;
    const list = this.#pending.get(id);
    if (list === undefined) return false;
    const sender = from === undefined ? NO_FROM : addressKey(from);
    const entry = list.find((candidate) =>
      this.#answerers(candidate.to).includes(sender)
    );
    if (entry === undefined) return false;
    this.#settle(id, entry);
    if (type === "result") entry.resolve(stanza);
    else entry.reject(StanzaError.fromElement(stanza));
    return true;
  }

  /**
   * Rejects every pending request with `reason` and clears every timer.
   * Later requests reject with the same reason. Calling it again does
   * nothing.
   *
   * @param reason Why, such as the stream's end.
   *
   * @example Closing with requests pending
   * ```ts
   * import { iq, IqTracker, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const tracker = new IqTracker();
   * const reply = tracker.request(iq({ type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
   * tracker.close(new Error("Stream closed"));
   * await assert.rejects(reply, /Stream closed/);
   * assert.equal(tracker.pending, 0);
   * ```
   */
  close(reason: Error): void {
    if (this.#closed) return;
    this.#closed = { reason };
    const entries = [...this.#pending.entries()];
    for (const [id, list] of entries) {
      for (const entry of [...list]) {
        this.#settle(id, entry);
        entry.reject(reason);
      }
    }
  }

  /**
   * Who may answer a request to `to` (normalised; undefined for none): the
   * senders whose reply matches it, `NO_FROM` standing for a reply without
   * `from`.
   */
  #answerers(to: string | undefined): string[] {
    const answerers: (string | undefined)[] = to === undefined
      ? [
        NO_FROM,
        this.#streamPeer,
        this.#ownBare,
        this.#ownFull,
        this.#ownDomain,
      ]
      : to === this.#streamPeer || to === this.#ownBare
      ? [to, NO_FROM]
      : [to];
    return answerers.filter((a): a is string => a !== undefined);
  }

  /** Forgets a request: its timer, its abort listener, its entry. */
  #settle(id: string, entry: Pending): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.onAbort) {
      entry.signal?.removeEventListener("abort", entry.onAbort);
    }
    const list = this.#pending.get(id);
    const index = list?.indexOf(entry) ?? -1;
    if (list === undefined || index < 0) return;
    list.splice(index, 1);
    if (list.length === 0) this.#pending.delete(id);
    this.#count--;
  }
}

// Stands for a reply without `from`: U+0000 is no XML character, so no
// `from` attribute holds it.
const NO_FROM = "\u0000";

/** An address as compared: the normalised JID, or the raw string. */
function addressKey(address: string | Jid): string {
  if (typeof address !== "string") return address.toString();
  return Jid.tryParse(address)?.toString() ?? address;
}

/**
 * The reply to an inbound iq that nothing handled: for a `get` or `set`,
 * the `service-unavailable` error of RFC 6120 section 8.4; for anything
 * else (`result`, `error`, no id, not an iq) `undefined`, since replies are
 * never answered.
 *
 * @param iq The inbound stanza.
 * @returns The error reply to send, or `undefined`.
 *
 * @example Answering an unknown request
 * ```ts
 * import { unhandledIqReply } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument, serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const request = parseDocument(
 *   "<iq xmlns='jabber:client' type='get' id='q'><query xmlns='urn:unknown'/></iq>",
 * );
 * assert.equal(
 *   serialize(unhandledIqReply(request)!),
 *   "<iq xmlns='jabber:client' type='error' id='q'><error type='cancel'>" +
 *     "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
 * );
 * assert.equal(unhandledIqReply(parseDocument("<iq xmlns='jabber:client' type='result' id='q'/>")), undefined);
 * ```
 */
export function unhandledIqReply(iq: Element): Element | undefined {
  const { id, type } = iq.attrs;
  if (!isIq(iq) || (type !== "get" && type !== "set") || id === undefined) {
    return undefined;
  }
  return iqError(iq, "service-unavailable");
}
