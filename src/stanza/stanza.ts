/**
 * Builders for the three stanzas of RFC 6120 (message, presence, iq) and
 * for iq replies.
 *
 * @module
 */

import { streamId } from "../stream/header.ts";
import { CLIENT_NS } from "../stream/constants.ts";
import type { Element } from "../xml/element.ts";
import {
  StanzaError,
  stanzaError,
  type StanzaErrorCondition,
  type StanzaErrorType,
} from "./error.ts";
import type { Jid } from "./jid.ts";
import { xml, type XmlChild } from "./xml.ts";

export { CLIENT_NS };

/**
 * The content namespace of server-to-server streams.
 *
 * @example The value
 * ```ts
 * import { SERVER_NS } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SERVER_NS, "jabber:server");
 * ```
 */
export const SERVER_NS = "jabber:server";

/** An address given to a builder: a string or a {@linkcode Jid}. */
export type Address = string | Jid;

/** The attributes every stanza builder takes. */
export interface StanzaOptions {
  /** The recipient; omitted on an end-to-end stream means the peer. */
  to?: Address | undefined;
  /** The sender; usually omitted on an end-to-end stream. */
  from?: Address | undefined;
  /** The stanza id. */
  id?: string | undefined;
  /** The default language of the stanza's text (`xml:lang`). */
  lang?: string | undefined;
  /** The stanza namespace; {@linkcode CLIENT_NS} when omitted. */
  ns?: string | undefined;
}

/** The message types of RFC 6121 section 5.2.2. */
export type MessageType =
  | "chat"
  | "error"
  | "groupchat"
  | "headline"
  | "normal";

/** What {@linkcode message} takes. */
export interface MessageOptions extends StanzaOptions {
  /** The message type; absent means `normal`. */
  type?: MessageType | undefined;
  /** The text of a `<body/>` child. */
  body?: string | undefined;
  /** The text of a `<subject/>` child. */
  subject?: string | undefined;
  /** The text of a `<thread/>` child. */
  thread?: string | undefined;
}

/** The presence types of RFC 6121 section 4.7.1 (absent means available). */
export type PresenceType =
  | "error"
  | "probe"
  | "subscribe"
  | "subscribed"
  | "unavailable"
  | "unsubscribe"
  | "unsubscribed";

/** The `<show/>` values of RFC 6121 section 4.7.2.1. */
export type PresenceShow = "away" | "chat" | "dnd" | "xa";

/** What {@linkcode presence} takes. */
export interface PresenceOptions extends StanzaOptions {
  /** The presence type; absent means available. */
  type?: PresenceType | undefined;
  /** The availability sub-state. */
  show?: PresenceShow | undefined;
  /** The text of a `<status/>` child. */
  status?: string | undefined;
  /** The priority, an integer from -128 to 127. */
  priority?: number | undefined;
}

/** The iq types of RFC 6120 section 8.2.3. */
export type IqType = "get" | "set" | "result" | "error";

/** What {@linkcode iq} takes. */
export interface IqOptions extends StanzaOptions {
  /** The iq type. */
  type: IqType;
}

/**
 * A fresh stanza id: 128 random bits, base64url without padding (22
 * characters), from the Web Crypto random source, so ids cannot be guessed.
 *
 * @returns The id.
 *
 * @example Two ids differ
 * ```ts
 * import { randomId } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.match(randomId(), /^[A-Za-z0-9_-]{22}$/);
 * assert.notEqual(randomId(), randomId());
 * ```
 */
export function randomId(): string {
  return streamId(); // the same 128 random bits, base64url
}

function address(value: Address | undefined): string | undefined {
  return value === undefined ? undefined : value.toString();
}

function stanza(
  name: string,
  options: StanzaOptions & { type?: string | undefined },
  children: XmlChild[],
): Element {
  return xml(name, {
    xmlns: options.ns ?? CLIENT_NS,
    to: address(options.to),
    from: address(options.from),
    type: options.type,
    id: options.id,
    "xml:lang": options.lang,
  }, ...children);
}

/**
 * Builds a `<message/>` stanza. Children without their own namespace take
 * the stanza's (see {@linkcode xml}).
 *
 * @param options Addresses, type, id, language, body, subject and thread.
 * @param children More children, after body, subject and thread.
 * @returns The stanza.
 *
 * @example A chat message
 * ```ts
 * import { message } from "@xmpp-e2e/streams/stanza";
 * import { serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   serialize(message({ to: "juliet@capulet.example", type: "chat", body: "Art thou there?" })),
 *   "<message xmlns='jabber:client' to='juliet@capulet.example' type='chat'>" +
 *     "<body>Art thou there?</body></message>",
 * );
 * ```
 */
export function message(
  options: MessageOptions = {},
  ...children: XmlChild[]
): Element {
  return stanza("message", options, [
    options.subject !== undefined && xml("subject", null, options.subject),
    options.body !== undefined && xml("body", null, options.body),
    options.thread !== undefined && xml("thread", null, options.thread),
    children,
  ]);
}

/**
 * Builds a `<presence/>` stanza.
 *
 * @param options Addresses, type, id, language, show, status and priority.
 * @param children More children, after show, status and priority.
 * @returns The stanza.
 * @throws {RangeError} When the priority is not an integer from -128 to 127.
 *
 * @example Available, away
 * ```ts
 * import { presence } from "@xmpp-e2e/streams/stanza";
 * import { serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   serialize(presence({ show: "away", status: "Walking", priority: 5 })),
 *   "<presence xmlns='jabber:client'><show>away</show><status>Walking</status>" +
 *     "<priority>5</priority></presence>",
 * );
 * ```
 */
export function presence(
  options: PresenceOptions = {},
  ...children: XmlChild[]
): Element {
  const { priority } = options;
  if (
    priority !== undefined &&
    (!Number.isInteger(priority) || priority < -128 || priority > 127)
  ) {
    throw new RangeError(
      `Cannot build presence: priority ${priority} is not an integer from -128 to 127`,
    );
  }
  return stanza("presence", options, [
    options.show !== undefined && xml("show", null, options.show),
    options.status !== undefined && xml("status", null, options.status),
    priority !== undefined && xml("priority", null, priority),
    children,
  ]);
}

/**
 * Builds an `<iq/>` stanza, checking the payload rules of RFC 6120 section
 * 8.2.3: a `get` or `set` holds exactly one child element, a `result` zero
 * or one, an `error` an `<error/>` child. Without an `id`, a
 * {@linkcode randomId} is used.
 *
 * @param options Type, addresses, id, language.
 * @param children The payload.
 * @returns The stanza.
 * @throws {TypeError} When the payload breaks the rules above, or the type
 *   is not an iq type.
 *
 * @example A version query
 * ```ts
 * import { iq, xml } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const request = iq({ type: "get" }, xml("query", { xmlns: "jabber:iq:version" }));
 * assert.equal(request.attrs.type, "get");
 * assert.equal(request.attrs.id?.length, 22);
 * assert.throws(() => iq({ type: "get" }), TypeError);
 * ```
 */
export function iq(options: IqOptions, ...children: XmlChild[]): Element {
  const element = stanza("iq", { ...options, id: options.id ?? randomId() }, [
    children,
  ]);
  const count = element.elements().length;
  switch (options.type) {
    case "get":
    case "set":
      if (count !== 1) {
        throw new TypeError(
          `Cannot build iq: type '${options.type}' needs exactly one child element, not ${count}`,
        );
      }
      break;
    case "result":
      if (count > 1) {
        throw new TypeError(
          `Cannot build iq: type 'result' holds at most one child element, not ${count}`,
        );
      }
      break;
    case "error":
      if (element.getChild("error") === undefined) {
        throw new TypeError(
          "Cannot build iq: type 'error' needs an <error/> child",
        );
      }
      break;
    default:
      throw new TypeError(
        `Cannot build iq: '${options.type}' is not an iq type`,
      );
  }
  return element;
}

function requestOf(request: Element, what: string): Element {
  const type = request.attrs.type;
  if (request.name !== "iq" || (type !== "get" && type !== "set")) {
    throw new TypeError(
      `Cannot build ${what}: only an iq of type 'get' or 'set' is answered`,
    );
  }
  if (request.attrs.id === undefined) {
    throw new TypeError(`Cannot build ${what}: the request has no id`);
  }
  return request;
}

/**
 * Builds the `result` reply to an iq request: same id and namespace, `to`
 * and `from` swapped (an absent address stays absent).
 *
 * @param request The iq `get` or `set` being answered.
 * @param payload At most one child element.
 * @returns The reply.
 * @throws {TypeError} When `request` is not an iq `get` or `set` with an
 *   id, or the payload holds more than one element.
 *
 * @example Answering a request
 * ```ts
 * import { iqResult } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument, serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const request = parseDocument(
 *   "<iq xmlns='jabber:client' type='get' id='v1' from='romeo@montague.example'>" +
 *     "<ping xmlns='urn:xmpp:ping'/></iq>",
 * );
 * assert.equal(
 *   serialize(iqResult(request)),
 *   "<iq xmlns='jabber:client' to='romeo@montague.example' type='result' id='v1'/>",
 * );
 * ```
 */
export function iqResult(request: Element, ...payload: XmlChild[]): Element {
  requestOf(request, "iq result");
  return iq({
    type: "result",
    id: request.attrs.id,
    to: request.attrs.from,
    from: request.attrs.to,
    ns: request.ns,
  }, ...payload);
}

/**
 * Builds the `error` reply to an iq request: same id and namespace, `to`
 * and `from` swapped, an `<error/>` child (see {@linkcode stanzaError}).
 * The request's payload is not echoed.
 *
 * @param request The iq `get` or `set` being answered.
 * @param condition The condition, or a {@linkcode StanzaError} to send
 *   back as it is.
 * @param type The error type; the condition's default when omitted.
 * @param text Human-readable text.
 * @returns The reply.
 * @throws {TypeError} When `request` is not an iq `get` or `set` with an id.
 *
 * @example Refusing a request
 * ```ts
 * import { iqError } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument, serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const request = parseDocument(
 *   "<iq xmlns='jabber:client' type='set' id='s1'><query xmlns='jabber:iq:roster'/></iq>",
 * );
 * assert.equal(
 *   serialize(iqError(request, "not-allowed")),
 *   "<iq xmlns='jabber:client' type='error' id='s1'><error type='cancel'>" +
 *     "<not-allowed xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
 * );
 * ```
 */
export function iqError(
  request: Element,
  condition: StanzaErrorCondition | StanzaError,
  type?: StanzaErrorType,
  text?: string,
): Element {
  requestOf(request, "iq error");
  const error = condition instanceof StanzaError
    ? condition.toElement()
    : stanzaError(condition, { type, text });
  return iq({
    type: "error",
    id: request.attrs.id,
    to: request.attrs.from,
    from: request.attrs.to,
    ns: request.ns,
  }, error);
}
