/**
 * Software Version (XEP-0092): asking a peer which software it runs, and
 * answering with what the application says.
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import { iq, iqResult } from "./stanza.ts";
import { xml } from "./xml.ts";

/** The namespace of XEP-0092, also its service discovery feature. */
export const VERSION_NS = "jabber:iq:version";

/** What an entity says it runs (XEP-0092 section 3). */
export interface SoftwareVersion {
  /** The software's name. */
  name: string;
  /** Its version. */
  version: string;
  /**
   * The operating system; left out unless given (the XEP advises against
   * disclosing it by default).
   */
  os?: string | undefined;
}

/**
 * Builds a software version request: an iq `get` holding
 * `<query xmlns='jabber:iq:version'/>`.
 *
 * @param to The address asked; none (the stream peer) when omitted.
 * @returns The request, with a fresh id.
 *
 * @example Asking the stream peer
 * ```ts
 * import { versionIq } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.equal(versionIq().getChild("query", "jabber:iq:version")?.name, "query");
 * ```
 */
export function versionIq(to?: string): Element {
  return iq({ type: "get", to }, xml("query", { xmlns: VERSION_NS }));
}

/**
 * Builds the `result` to a software version request.
 *
 * @param request The request.
 * @param software What to say: name, version and, only if given, the OS.
 * @returns The reply.
 * @throws {TypeError} When `request` is not an iq `get` or `set` with an id.
 *
 * @example Answering without the OS
 * ```ts
 * import { versionIq, versionResult } from "@xmpp-e2e/streams/stanza";
 * import { serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const reply = versionResult(versionIq(), { name: "balcony", version: "1.0" });
 * assert.match(serialize(reply), /<query xmlns='jabber:iq:version'><name>balcony<\/name><version>1.0<\/version><\/query>/);
 * ```
 */
export function versionResult(
  request: Element,
  software: SoftwareVersion,
): Element {
  return iqResult(
    request,
    xml(
      "query",
      { xmlns: VERSION_NS },
      xml("name", null, software.name),
      xml("version", null, software.version),
      software.os !== undefined && xml("os", null, software.os),
    ),
  );
}

/**
 * Reads the answer to a software version request. Tolerant: a missing
 * name or version reads as an empty string.
 *
 * @param reply The `result` iq (or its `<query/>`).
 * @returns What the peer runs.
 * @throws {TypeError} When the reply holds no `jabber:iq:version` query.
 *
 * @example Reading a reply
 * ```ts
 * import { parseSoftwareVersion } from "@xmpp-e2e/streams/stanza";
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const reply = parseDocument(
 *   "<iq xmlns='jabber:client' type='result' id='v'><query xmlns='jabber:iq:version'>" +
 *     "<name>Exodus</name><version>0.7.0.4</version><os>Windows-XP 5.01.2600</os></query></iq>",
 * );
 * assert.deepEqual(parseSoftwareVersion(reply), { name: "Exodus", version: "0.7.0.4", os: "Windows-XP 5.01.2600" });
 * ```
 */
export function parseSoftwareVersion(reply: Element): SoftwareVersion {
  const query = reply.is("query", VERSION_NS)
    ? reply
    : reply.getChild("query", VERSION_NS);
  if (query === undefined) {
    throw new TypeError(
      "Cannot read software version: the reply holds no jabber:iq:version query",
    );
  }
  const os = query.getChildText("os", VERSION_NS);
  return {
    name: query.getChildText("name", VERSION_NS) ?? "",
    version: query.getChildText("version", VERSION_NS) ?? "",
    ...(os !== undefined ? { os } : {}),
  };
}
