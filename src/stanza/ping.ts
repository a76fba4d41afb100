/**
 * XMPP Ping (XEP-0199): the request, and the answer every endpoint gives.
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import { iq, iqResult } from "./stanza.ts";
import { xml } from "./xml.ts";

/** The namespace of XEP-0199 pings, also its service discovery feature. */
export const PING_NS = "urn:xmpp:ping";

/**
 * Builds an XEP-0199 ping: an iq `get` holding `<ping xmlns='urn:xmpp:ping'/>`.
 *
 * @param to The address pinged; none (the stream peer) when omitted.
 * @returns The request, with a fresh id.
 *
 * @example A ping to the stream peer
 * ```ts
 * import { pingIq } from "@xmpp-e2e/streams/stanza";
 * import { serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const ping = pingIq();
 * assert.match(serialize(ping), /^<iq xmlns='jabber:client' type='get' id='[^']+'><ping xmlns='urn:xmpp:ping'\/><\/iq>$/);
 * ```
 */
export function pingIq(to?: string): Element {
  return iq({ type: "get", to }, xml("ping", { xmlns: PING_NS }));
}

/**
 * The answer to a ping (XEP-0199 section 4.2): an empty `result`.
 *
 * @param request An inbound iq.
 * @returns The `result`, or `undefined` when `request` is no ping `get`.
 *
 * @example Answering a ping
 * ```ts
 * import { answerPing, pingIq } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const request = pingIq();
 * assert.equal(answerPing(request)?.attrs.type, "result");
 * assert.equal(answerPing(answerPing(request)!), undefined);
 * ```
 */
export function answerPing(request: Element): Element | undefined {
  if (request.attrs.type !== "get" || request.attrs.id === undefined) {
    return undefined;
  }
  if (request.getChild("ping", PING_NS) === undefined) return undefined;
  return iqResult(request);
}
