/**
 * Stanza errors (RFC 6120 section 8.3): the conditions, the `<error/>`
 * builder and the {@linkcode StanzaError} class.
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import { xml } from "./xml.ts";

/**
 * The namespace of stanza error conditions and of their `<text/>`.
 *
 * @example The value
 * ```ts
 * import { STANZA_ERROR_NS } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.equal(STANZA_ERROR_NS, "urn:ietf:params:xml:ns:xmpp-stanzas");
 * ```
 */
export const STANZA_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-stanzas";

/**
 * Every stanza error condition of RFC 6120 section 8.3.3.
 *
 * @example The value
 * ```ts
 * import { STANZA_ERROR_CONDITIONS } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.ok(STANZA_ERROR_CONDITIONS.includes("service-unavailable"));
 * ```
 */
export const STANZA_ERROR_CONDITIONS = [
  "bad-request",
  "conflict",
  "feature-not-implemented",
  "forbidden",
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "not-acceptable",
  "not-allowed",
  "not-authorized",
  "policy-violation",
  "recipient-unavailable",
  "redirect",
  "registration-required",
  "remote-server-not-found",
  "remote-server-timeout",
  "resource-constraint",
  "service-unavailable",
  "subscription-required",
  "undefined-condition",
  "unexpected-request",
] as const;

/** One RFC 6120 stanza error condition. */
export type StanzaErrorCondition = typeof STANZA_ERROR_CONDITIONS[number];

/**
 * The error types of RFC 6120 section 8.3.2.
 *
 * @example The value
 * ```ts
 * import { STANZA_ERROR_TYPES } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual([...STANZA_ERROR_TYPES].sort(), ["auth", "cancel", "continue", "modify", "wait"]);
 * ```
 */
export const STANZA_ERROR_TYPES = [
  "auth",
  "cancel",
  "continue",
  "modify",
  "wait",
] as const;

/** One RFC 6120 stanza error type: what the sender may do about it. */
export type StanzaErrorType = typeof STANZA_ERROR_TYPES[number];

/**
 * The error type RFC 6120 section 8.3.3 gives (or uses in its example) for
 * each condition; used when no type is given, or a received one is invalid.
 *
 * @example The value
 * ```ts
 * import { DEFAULT_ERROR_TYPES } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_ERROR_TYPES["service-unavailable"], "cancel");
 * ```
 */
export const DEFAULT_ERROR_TYPES: Readonly<
  Record<StanzaErrorCondition, StanzaErrorType>
> = Object.freeze({
  "bad-request": "modify",
  "conflict": "cancel",
  "feature-not-implemented": "cancel",
  "forbidden": "auth",
  "gone": "cancel",
  "internal-server-error": "cancel",
  "item-not-found": "cancel",
  "jid-malformed": "modify",
  "not-acceptable": "modify",
  "not-allowed": "cancel",
  "not-authorized": "auth",
  "policy-violation": "modify",
  "recipient-unavailable": "wait",
  "redirect": "modify",
  "registration-required": "auth",
  "remote-server-not-found": "cancel",
  "remote-server-timeout": "wait",
  "resource-constraint": "wait",
  "service-unavailable": "cancel",
  "subscription-required": "auth",
  "undefined-condition": "cancel",
  "unexpected-request": "wait",
});

const CONDITIONS: ReadonlySet<string> = new Set(STANZA_ERROR_CONDITIONS);
const TYPES: ReadonlySet<string> = new Set(STANZA_ERROR_TYPES);

/** What goes into an `<error/>` besides its condition. */
export interface StanzaErrorOptions {
  /** The error type; {@linkcode DEFAULT_ERROR_TYPES} when omitted. */
  type?: StanzaErrorType | undefined;
  /** Human-readable text, sent as `<text/>`. */
  text?: string | undefined;
  /** The language of `text` (`xml:lang`). */
  lang?: string | undefined;
  /** The entity that generated the error (`by`). */
  by?: string | undefined;
  /** For `gone` and `redirect`: the new address, an XMPP URI. */
  uri?: string | undefined;
  /** An application-specific condition element (in its own namespace). */
  application?: Element | undefined;
}

/**
 * Builds the `<error/>` child of an error stanza. The element itself has no
 * namespace of its own: placed in a stanza built by `xml()` or the stanza
 * builders, it takes the stanza's namespace.
 *
 * @param condition The RFC 6120 condition.
 * @param options Type, text, `by`, URI and application condition.
 * @returns The `<error/>` element.
 *
 * @example An error child with text
 * ```ts
 * import { stanzaError, xml } from "@xmpp-e2e/streams/stanza";
 * import { serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const message = xml(
 *   "message",
 *   { xmlns: "jabber:client", type: "error" },
 *   stanzaError("item-not-found", { text: "No such node", lang: "en" }),
 * );
 * assert.equal(
 *   serialize(message),
 *   "<message xmlns='jabber:client' type='error'><error type='cancel'>" +
 *     "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
 *     "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>No such node</text>" +
 *     "</error></message>",
 * );
 * ```
 */
export function stanzaError(
  condition: StanzaErrorCondition,
  options: StanzaErrorOptions = {},
): Element {
  if (!CONDITIONS.has(condition)) {
    throw new TypeError(`Cannot build error: unknown condition "${condition}"`);
  }
  const type = options.type ?? DEFAULT_ERROR_TYPES[condition];
  if (!TYPES.has(type)) {
    throw new TypeError(`Cannot build error: unknown type "${type}"`);
  }
  const uri = condition === "gone" || condition === "redirect"
    ? options.uri
    : undefined;
  return xml(
    "error",
    { type, by: options.by },
    xml(condition, { xmlns: STANZA_ERROR_NS }, uri),
    options.text !== undefined &&
      xml(
        "text",
        { xmlns: STANZA_ERROR_NS, "xml:lang": options.lang },
        options.text,
      ),
    options.application,
  );
}

/**
 * A stanza error: received in an error stanza ({@linkcode StanzaError.fromElement}),
 * or made to be sent ({@linkcode StanzaError.toElement}). An iq request
 * answered with an error rejects with one.
 *
 * @example Reading an iq error
 * ```ts
 * import { StanzaError } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const error = StanzaError.fromElement(parseDocument(
 *   "<iq xmlns='jabber:client' type='error' id='1'><error type='cancel'>" +
 *     "<feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
 *     "</error></iq>",
 * ));
 * assert.equal(error.condition, "feature-not-implemented");
 * assert.equal(error.type, "cancel");
 * assert.equal(error.stanza?.attrs.id, "1");
 * ```
 */
export class StanzaError extends Error {
  /** The RFC 6120 condition (`undefined-condition` when none was understood). */
  readonly condition: StanzaErrorCondition;
  /** The error type. */
  readonly type: StanzaErrorType;
  /** The human-readable text, if any. */
  readonly text: string | undefined;
  /** The language of the text, if given. */
  readonly lang: string | undefined;
  /** The entity that generated the error, if given. */
  readonly by: string | undefined;
  /** For `gone` and `redirect`: the new address, if given. */
  readonly uri: string | undefined;
  /** The application-specific condition element, if any. */
  readonly application: Element | undefined;
  /** The error stanza this was read from, if any. */
  readonly stanza: Element | undefined;

  /**
   * Makes a stanza error.
   *
   * @example An error to answer with
   * ```ts
   * import { StanzaError } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const error = new StanzaError("item-not-found", { text: "No such item" });
   * assert.equal(error.type, "cancel"); // the condition's default type
   * assert.equal(error.toElement().name, "error");
   * ```
   *
   * @param condition The RFC 6120 condition.
   * @param options Type (defaults per condition), text and the rest; the
   *   stanza it came from; a cause.
   */
  constructor(
    condition: StanzaErrorCondition,
    options: StanzaErrorOptions & {
      stanza?: Element | undefined;
      cause?: unknown;
    } = {},
  ) {
    const type = options.type ?? DEFAULT_ERROR_TYPES[condition];
    super(
      `Stanza error <${condition}/> (${type})${
        options.text ? `: ${options.text}` : ""
      }`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "StanzaError";
    this.condition = condition;
    this.type = type;
    this.text = options.text;
    this.lang = options.lang;
    this.by = options.by;
    this.uri = options.uri;
    this.application = options.application;
    this.stanza = options.stanza;
  }

  /**
   * Reads a stanza error from an error stanza, or from its `<error/>`
   * child. Tolerant: a missing `<error/>` or an unknown condition gives
   * `undefined-condition`; a missing or invalid type gives the condition's
   * default type.
   *
   * @param element The error stanza (`type='error'`), or its `<error/>`.
   * @returns The error.
   *
   * @example Reading the condition and text
   * ```ts
   * import { StanzaError } from "@xmpp-e2e/streams/stanza";
   * import { parseDocument } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const error = StanzaError.fromElement(parseDocument(
   *   "<error xmlns='jabber:client' type='wait'>" +
   *     "<resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
   *     "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>Busy</text></error>",
   * ));
   * assert.equal(error.condition, "resource-constraint");
   * assert.equal(error.text, "Busy");
   * assert.equal(error.stanza, undefined);
   * ```
   */
  static fromElement(element: Element): StanzaError {
    const isError = element.name === "error" && element.ns !== STANZA_ERROR_NS;
    const stanza = isError ? undefined : element;
    const error = isError ? element : element.getChild("error");
    if (error === undefined) {
      return new StanzaError("undefined-condition", { stanza });
    }
    let condition: StanzaErrorCondition | undefined;
    let conditionElement: Element | undefined;
    let textElement: Element | undefined;
    let application: Element | undefined;
    for (const child of error.elements()) {
      if (child.ns !== STANZA_ERROR_NS) application ??= child;
      else if (child.name === "text") textElement ??= child;
      else if (conditionElement === undefined) {
        conditionElement = child;
        condition = CONDITIONS.has(child.name)
          ? child.name as StanzaErrorCondition
          : "undefined-condition";
      }
    }
    condition ??= "undefined-condition";
    const rawType = error.attrs.type;
    const type = rawType !== undefined && TYPES.has(rawType)
      ? rawType as StanzaErrorType
      : DEFAULT_ERROR_TYPES[condition];
    const uri = (condition === "gone" || condition === "redirect") &&
        conditionElement?.text()
      ? conditionElement.text()
      : undefined;
    return new StanzaError(condition, {
      type,
      text: textElement?.text(),
      lang: textElement?.attrs["xml:lang"],
      by: error.attrs.by,
      uri,
      application,
      stanza,
    });
  }

  /**
   * Builds the `<error/>` child that carries this error (see
   * {@linkcode stanzaError}).
   *
   * @returns The `<error/>` element.
   *
   * @example Sending a caught error back
   * ```ts
   * import { StanzaError } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const element = new StanzaError("forbidden", { text: "No" }).toElement();
   * assert.equal(element.attrs.type, "auth");
   * assert.equal(element.elements()[0]?.name, "forbidden");
   * ```
   */
  toElement(): Element {
    return stanzaError(this.condition, {
      type: this.type,
      text: this.text,
      lang: this.lang,
      by: this.by,
      uri: this.uri,
      application: this.application,
    });
  }
}
