/**
 * The `stanzas()` operator: from stream frames (or elements) to typed
 * stanza views.
 *
 * @module
 */

import { filter, map } from "rxjs";
import { Element } from "../xml/element.ts";
import type { StreamFrame } from "../xml/events.ts";
import type { Operator } from "../xml/operator.ts";
import { asStanza, type Iq, type Message, type Presence } from "./view.ts";

/** The view of each kind of stanza. */
export interface StanzaViews {
  /** A `<message/>`. */
  message: Message;
  /** A `<presence/>`. */
  presence: Presence;
  /** An `<iq/>`. */
  iq: Iq;
}

/** Which stanza: `message`, `presence` or `iq`. */
export type StanzaKind = keyof StanzaViews;

/**
 * Turns stream frames, or elements such as a stream's `stanzas$`, into
 * typed stanza views ({@linkcode Message}, {@linkcode Presence},
 * {@linkcode Iq}), one per stanza in `jabber:client` or `jabber:server`, in
 * order. Headers, closes and other depth-1 elements (stream features,
 * STARTTLS and SASL elements) are skipped. Given a kind, only that kind's
 * views come through, typed as such.
 *
 * @param kind Only stanzas of this kind; all three when omitted.
 * @returns An operator from frames or elements to views.
 *
 * @example The bodies of the messages of a stream
 * ```ts
 * import { parseFrames } from "@xmpp-e2e/streams/xml";
 * import { stanzas } from "@xmpp-e2e/streams/stanza";
 * import { from, lastValueFrom, map, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
 *     "<message><body>one</body></message><presence/><message><body>two</body></message>" +
 *     "</stream:stream>",
 * );
 * const bodies = await lastValueFrom(
 *   from([bytes]).pipe(parseFrames(), stanzas("message"), map((m) => m.body), toArray()),
 * );
 * assert.deepEqual(bodies, ["one", "two"]);
 * ```
 */
export function stanzas(): Operator<
  StreamFrame | Element,
  Message | Presence | Iq
>;
/**
 * Turns stream frames or elements into the views of one kind of stanza.
 *
 * @param kind `message`, `presence` or `iq`.
 * @returns An operator from frames or elements to views of that kind.
 */
export function stanzas<K extends StanzaKind>(
  kind: K,
): Operator<StreamFrame | Element, StanzaViews[K]>;
export function stanzas(
  kind?: StanzaKind,
): Operator<StreamFrame | Element, Message | Presence | Iq> {
  return (source) =>
    source.pipe(
      map((input) => {
        const element = input instanceof Element
          ? input
          : input.type === "element"
          ? input.element
          : undefined;
        return element === undefined ? undefined : asStanza(element);
      }),
      filter((view): view is Message | Presence | Iq =>
        view !== undefined && (kind === undefined || view.kind === kind)
      ),
    );
}
