/**
 * Service Discovery information (XEP-0030 `disco#info`): who an entity is
 * (identities) and what it supports (features).
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import { iq, iqError, iqResult } from "./stanza.ts";
import { xml } from "./xml.ts";

/** The namespace of XEP-0030 information requests, also a feature. */
export const DISCO_INFO_NS = "http://jabber.org/protocol/disco#info";

/** One identity of an entity (XEP-0030 section 3.1). */
export interface DiscoIdentity {
  /** The category, such as `client` (see the XMPP registry). */
  category: string;
  /** The type within the category, such as `pc`. */
  type: string;
  /** A natural-language name, if any. */
  name?: string | undefined;
  /** The language of `name` (`xml:lang`), if given. */
  lang?: string | undefined;
}

/** What a `disco#info` result says. */
export interface DiscoInfo {
  /** The identities, at least one. */
  identities: DiscoIdentity[];
  /** The features (namespaces), the `disco#info` one included. */
  features: string[];
}

/** The identity an endpoint of this package gives by default. */
export const DEFAULT_IDENTITY: Readonly<DiscoIdentity> = Object.freeze({
  category: "client",
  type: "pc",
});

/**
 * Builds a `disco#info` request.
 *
 * @param to The address asked; none (the stream peer) when omitted.
 * @param node A node to ask about, if any.
 * @returns The request, with a fresh id.
 *
 * @example Asking the stream peer
 * ```ts
 * import { discoInfoIq } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const request = discoInfoIq();
 * assert.equal(request.getChild("query", "http://jabber.org/protocol/disco#info")?.attrs.node, undefined);
 * ```
 */
export function discoInfoIq(to?: string, node?: string): Element {
  return iq({ type: "get", to }, xml("query", { xmlns: DISCO_INFO_NS, node }));
}

/**
 * Answers a `disco#info` request: a `result` listing the identities and
 * the features (the `disco#info` feature always among them, each once, in
 * code-point order). A request about a node gets `item-not-found`: the
 * entity itself has no nodes.
 *
 * @param request The request.
 * @param info The identities (at least one) and features.
 * @returns The reply.
 * @throws {TypeError} When `request` is not an iq `get` or `set` with an id,
 *   or no identity is given.
 *
 * @example Answering with an identity and two features
 * ```ts
 * import { discoInfoIq, discoInfoResult, parseDiscoInfo } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const reply = discoInfoResult(discoInfoIq(), {
 *   identities: [{ category: "client", type: "pc", name: "Balcony" }],
 *   features: ["urn:xmpp:ping"],
 * });
 * assert.deepEqual(parseDiscoInfo(reply).features, [
 *   "http://jabber.org/protocol/disco#info",
 *   "urn:xmpp:ping",
 * ]);
 * ```
 */
export function discoInfoResult(request: Element, info: DiscoInfo): Element {
  if (info.identities.length === 0) {
    throw new TypeError(
      "Cannot answer disco#info: an entity has at least one identity",
    );
  }
  const query = request.getChild("query", DISCO_INFO_NS);
  if (query?.attrs.node !== undefined) {
    return iqError(request, "item-not-found");
  }
  const features = [...new Set([DISCO_INFO_NS, ...info.features])].sort();
  return iqResult(
    request,
    xml(
      "query",
      { xmlns: DISCO_INFO_NS },
      info.identities.map((identity) =>
        xml("identity", {
          category: identity.category,
          type: identity.type,
          name: identity.name,
          "xml:lang": identity.lang,
        })
      ),
      features.map((feature) => xml("feature", { var: feature })),
    ),
  );
}

/**
 * Reads a `disco#info` result. Identities without a category or type and
 * features without `var` are skipped.
 *
 * @param reply The `result` iq (or its `<query/>`).
 * @returns The identities and features, in document order.
 * @throws {TypeError} When the reply holds no `disco#info` query.
 *
 * @example Reading a result
 * ```ts
 * import { parseDiscoInfo } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const info = parseDiscoInfo(parseDocument(
 *   "<iq xmlns='jabber:client' type='result' id='d'>" +
 *     "<query xmlns='http://jabber.org/protocol/disco#info'>" +
 *     "<identity category='client' type='pc'/><feature var='urn:xmpp:ping'/></query></iq>",
 * ));
 * assert.deepEqual(info, {
 *   identities: [{ category: "client", type: "pc" }],
 *   features: ["urn:xmpp:ping"],
 * });
 * ```
 */
export function parseDiscoInfo(reply: Element): DiscoInfo {
  const query = reply.is("query", DISCO_INFO_NS)
    ? reply
    : reply.getChild("query", DISCO_INFO_NS);
  if (query === undefined) {
    throw new TypeError(
      "Cannot read disco#info: the reply holds no disco#info query",
    );
  }
  const identities: DiscoIdentity[] = [];
  for (const child of query.getChildren("identity", DISCO_INFO_NS)) {
    const { category, type, name } = child.attrs;
    const lang = child.attrs["xml:lang"];
    if (category === undefined || type === undefined) continue;
    identities.push({
      category,
      type,
      ...(name !== undefined ? { name } : {}),
      ...(lang !== undefined ? { lang } : {}),
    });
  }
  const features = query.getChildren("feature", DISCO_INFO_NS)
    .map((child) => child.attrs.var)
    .filter((v): v is string => v !== undefined);
  return { identities, features };
}
