/**
 * Typed, read-only views over inbound stanzas. Views are tolerant: a value
 * that is absent or invalid reads as `undefined` (or the RFC default), and
 * the raw attribute stays on {@linkcode StanzaView.element}.
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import { StanzaError } from "./error.ts";
import { Jid } from "./jid.ts";
import {
  CLIENT_NS,
  type IqType,
  type MessageType,
  type PresenceShow,
  type PresenceType,
  SERVER_NS,
} from "./stanza.ts";

const MESSAGE_TYPES: ReadonlySet<string> = new Set<MessageType>([
  "chat",
  "error",
  "groupchat",
  "headline",
  "normal",
]);
const PRESENCE_TYPES: ReadonlySet<string> = new Set<PresenceType>([
  "error",
  "probe",
  "subscribe",
  "subscribed",
  "unavailable",
  "unsubscribe",
  "unsubscribed",
]);
const SHOWS: ReadonlySet<string> = new Set<PresenceShow>([
  "away",
  "chat",
  "dnd",
  "xa",
]);
const IQ_TYPES: ReadonlySet<string> = new Set<IqType>([
  "get",
  "set",
  "result",
  "error",
]);

/**
 * The namespaces whose message, presence and iq elements are stanzas.
 *
 * @example The value
 * ```ts
 * import { STANZA_NAMESPACES } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(STANZA_NAMESPACES, ["jabber:client", "jabber:server"]);
 * ```
 */
export const STANZA_NAMESPACES: readonly string[] = Object.freeze([
  CLIENT_NS,
  SERVER_NS,
]);

/**
 * What every stanza view reads: addresses, id, language, error.
 *
 * @example Every view reads addresses, id, language and error alike
 * ```ts
 * import { asStanza, message, type StanzaView } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const view: StanzaView = asStanza(message({ from: "romeo@forza", id: "m1", body: "hi" }))!;
 * assert.equal(view.kind, "message");
 * assert.equal(view.from?.toString(), "romeo@forza");
 * assert.equal(view.id, "m1");
 * ```
 */
export abstract class StanzaView {
  /** Which stanza this is. */
  abstract readonly kind: "message" | "presence" | "iq";
  /** The stanza itself. */
  readonly element: Element;

  /**
   * Wraps a stanza, checking its name and namespace.
   *
   * @param element The stanza.
   * @param name The stanza name expected.
   * @throws {TypeError} When the element is not that stanza in
   *   `jabber:client` or `jabber:server`.
   */
  protected constructor(element: Element, name: string) {
    if (element.name !== name || !STANZA_NAMESPACES.includes(element.ns)) {
      throw new TypeError(
        `Cannot read stanza: <${element.name}/> in "${element.ns}" is not a ${name} stanza`,
      );
    }
    this.element = element;
  }

  /**
   * The `to` address, or `undefined` when absent or not a valid JID.
   *
   * @example The addressee, parsed
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.to?.resource, "balcony");
   * ```
   */
  get to(): Jid | undefined {
    return Jid.tryParse(this.element.attrs.to);
  }

  /**
   * The `to` attribute as received.
   *
   * @example The addressee as written
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.rawTo, "juliet@pronto/balcony");
   * ```
   */
  get rawTo(): string | undefined {
    return this.element.attrs.to;
  }

  /**
   * The `from` address, or `undefined` when absent or not a valid JID.
   *
   * @example The sender, parsed
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.from?.domain, "forza");
   * ```
   */
  get from(): Jid | undefined {
    return Jid.tryParse(this.element.attrs.from);
  }

  /**
   * The `from` attribute as received.
   *
   * @example The sender as written
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.rawFrom, "romeo@forza");
   * ```
   */
  get rawFrom(): string | undefined {
    return this.element.attrs.from;
  }

  /**
   * The stanza id, if any.
   *
   * @example The id
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.id, "m1");
   * ```
   */
  get id(): string | undefined {
    return this.element.attrs.id;
  }

  /**
   * The stanza's own `xml:lang`, if any (not inherited from the stream).
   *
   * @example The language
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.lang, "en");
   * ```
   */
  get lang(): string | undefined {
    return this.element.attrs["xml:lang"];
  }

  /**
   * The error, when the stanza is of type `error`.
   *
   * @example An error reply, read
   * ```ts
   * import { iq, iqError, Iq, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const request = iq({ type: "get", from: "romeo@forza" }, xml("query", { xmlns: "urn:example" }));
   * const view = new Iq(iqError(request, "item-not-found"));
   * assert.equal(view.error?.condition, "item-not-found");
   * ```
   */
  get error(): StanzaError | undefined {
    return this.element.attrs.type === "error"
      ? StanzaError.fromElement(this.element)
      : undefined;
  }
}

/**
 * A view over an inbound `<message/>`.
 *
 * @example Reading a message
 * ```ts
 * import { Message } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const view = new Message(parseDocument(
 *   "<message xmlns='jabber:client' from='juliet@capulet.example/balcony' type='chat'>" +
 *     "<body>Hi</body></message>",
 * ));
 * assert.equal(view.type, "chat");
 * assert.equal(view.body, "Hi");
 * assert.equal(view.from?.resource, "balcony");
 * ```
 */
export class Message extends StanzaView {
  /** Always `"message"`. */
  readonly kind = "message" as const;

  /**
   * Wraps a message.
   *
   * @example Wrapping a message, and refusing what is not one
   * ```ts
   * import { message, Message, presence } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Message(message({ body: "hi" })).body, "hi");
   * assert.throws(() => new Message(presence()), TypeError);
   * ```
   *
   * @param element The stanza.
   * @throws {TypeError} When it is not a `<message/>` stanza.
   */
  constructor(element: Element) {
    super(element, "message");
  }

  /**
   * The type; `normal` when absent or unknown (RFC 6121 section 5.2.2).
   *
   * @example The type, "normal" when absent
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.type, "chat");
   * ```
   */
  get type(): MessageType {
    const type = this.element.attrs.type;
    return type !== undefined && MESSAGE_TYPES.has(type)
      ? type as MessageType
      : "normal";
  }

  /**
   * The text of the first `<body/>`, if any.
   *
   * @example The body
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.body, "hi");
   * ```
   */
  get body(): string | undefined {
    return this.element.getChildText("body", this.element.ns);
  }

  /**
   * The text of the first `<subject/>`, if any.
   *
   * @example The subject
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.subject, "Greetings");
   * ```
   */
  get subject(): string | undefined {
    return this.element.getChildText("subject", this.element.ns);
  }

  /**
   * The text of the `<thread/>`, if any.
   *
   * @example The thread
   * ```ts
   * import { message, Message } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Message(message({ to: "juliet@pronto/balcony", from: "romeo@forza", id: "m1", lang: "en", type: "chat", body: "hi", subject: "Greetings", thread: "t1" }));
   * assert.equal(view.thread, "t1");
   * ```
   */
  get thread(): string | undefined {
    return this.element.getChildText("thread", this.element.ns);
  }
}

/**
 * A view over an inbound `<presence/>`.
 *
 * @example Reading a presence
 * ```ts
 * import { Presence } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const view = new Presence(parseDocument(
 *   "<presence xmlns='jabber:client'><show>dnd</show><priority>-1</priority></presence>",
 * ));
 * assert.equal(view.type, undefined);
 * assert.equal(view.show, "dnd");
 * assert.equal(view.priority, -1);
 * ```
 */
export class Presence extends StanzaView {
  /** Always `"presence"`. */
  readonly kind = "presence" as const;

  /**
   * Wraps a presence.
   *
   * @example Wrapping a presence
   * ```ts
   * import { presence, Presence } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Presence(presence({ type: "unavailable" })).type, "unavailable");
   * ```
   *
   * @param element The stanza.
   * @throws {TypeError} When it is not a `<presence/>` stanza.
   */
  constructor(element: Element) {
    super(element, "presence");
  }

  /**
   * The type; `undefined` means available (or an unknown type).
   *
   * @example Available when absent
   * ```ts
   * import { presence, Presence } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Presence(presence({ show: "away", status: "In the orchard", priority: 5 }));
   * assert.equal(view.type, undefined);
   * ```
   */
  get type(): PresenceType | undefined {
    const type = this.element.attrs.type;
    return type !== undefined && PRESENCE_TYPES.has(type)
      ? type as PresenceType
      : undefined;
  }

  /**
   * The `<show/>` value, or `undefined` when absent or unknown.
   *
   * @example The show
   * ```ts
   * import { presence, Presence } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Presence(presence({ show: "away", status: "In the orchard", priority: 5 }));
   * assert.equal(view.show, "away");
   * ```
   */
  get show(): PresenceShow | undefined {
    const show = this.element.getChildText("show", this.element.ns)?.trim();
    return show !== undefined && SHOWS.has(show)
      ? show as PresenceShow
      : undefined;
  }

  /**
   * The text of the first `<status/>`, if any.
   *
   * @example The status
   * ```ts
   * import { presence, Presence } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Presence(presence({ show: "away", status: "In the orchard", priority: 5 }));
   * assert.equal(view.status, "In the orchard");
   * ```
   */
  get status(): string | undefined {
    return this.element.getChildText("status", this.element.ns);
  }

  /**
   * The priority; 0 when absent or not an integer from -128 to 127.
   *
   * @example The priority
   * ```ts
   * import { presence, Presence } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Presence(presence({ show: "away", status: "In the orchard", priority: 5 }));
   * assert.equal(view.priority, 5);
   * ```
   */
  get priority(): number {
    const text = this.element.getChildText("priority", this.element.ns)
      ?.trim();
    if (text === undefined || !/^[+-]?\d{1,3}$/.test(text)) return 0;
    const value = Number(text);
    return value >= -128 && value <= 127 ? value : 0;
  }
}

/**
 * A view over an inbound `<iq/>`.
 *
 * @example Reading a request
 * ```ts
 * import { Iq } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const view = new Iq(parseDocument(
 *   "<iq xmlns='jabber:client' type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
 * ));
 * assert.equal(view.type, "get");
 * assert.equal(view.payload?.ns, "urn:xmpp:ping");
 * ```
 */
export class Iq extends StanzaView {
  /** Always `"iq"`. */
  readonly kind = "iq" as const;

  /**
   * Wraps an iq.
   *
   * @example Wrapping an iq
   * ```ts
   * import { iq, Iq, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Iq(iq({ type: "set" }, xml("query", { xmlns: "jabber:iq:roster" }))).type, "set");
   * ```
   *
   * @param element The stanza.
   * @throws {TypeError} When it is not an `<iq/>` stanza.
   */
  constructor(element: Element) {
    super(element, "iq");
  }

  /**
   * The type, or `undefined` when absent or not an iq type.
   *
   * @example The type
   * ```ts
   * import { iq, Iq, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(new Iq(iq({ type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" }))).type, "get");
   * ```
   */
  get type(): IqType | undefined {
    const type = this.element.attrs.type;
    return type !== undefined && IQ_TYPES.has(type)
      ? type as IqType
      : undefined;
  }

  /**
   * The first child element other than `<error/>`, if any.
   *
   * @example The child element
   * ```ts
   * import { iq, Iq, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const view = new Iq(iq({ type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" })));
   * assert.equal(view.payload?.ns, "urn:xmpp:ping");
   * ```
   */
  get payload(): Element | undefined {
    return this.element.elements().find((child) =>
      !child.is("error", this.element.ns)
    );
  }
}

/**
 * Wraps an element in the view that fits it.
 *
 * @param element A depth-1 element from the stream.
 * @returns A {@linkcode Message}, {@linkcode Presence} or {@linkcode Iq}, or
 *   `undefined` when the element is not a stanza in `jabber:client` or
 *   `jabber:server`.
 *
 * @example Dispatching on the kind
 * ```ts
 * import { asStanza } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const view = asStanza(parseDocument("<message xmlns='jabber:client'><body>x</body></message>"));
 * assert.equal(view?.kind === "message" && view.body, "x");
 * assert.equal(asStanza(parseDocument("<message xmlns='urn:other'/>")), undefined);
 * ```
 */
export function asStanza(
  element: Element,
): Message | Presence | Iq | undefined {
  if (!STANZA_NAMESPACES.includes(element.ns)) return undefined;
  switch (element.name) {
    case "message":
      return new Message(element);
    case "presence":
      return new Presence(element);
    case "iq":
      return new Iq(element);
    default:
      return undefined;
  }
}
