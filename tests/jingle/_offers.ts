// The Jingle elements tests write by hand, playing a peer: namespaces and a
// session-initiate of the XML-stream application with any transport.

import { xml } from "../../src/stanza/xml.ts";
import type { Element } from "../../src/xml/element.ts";

export const JINGLE = "urn:xmpp:jingle:1";
export const XMLSTREAM = "urn:xmpp:jingle:apps:xmlstream:0";
export const IBB = "urn:xmpp:jingle:transports:ibb:1";
export const S5B = "urn:xmpp:jingle:transports:s5b:1";

/**
 * A `<jingle action='session-initiate'>` with the one content (the
 * XML-stream description) and `transport` in it; `attrs` go on the jingle
 * element (an initiator, or none).
 */
export function sessionInitiate(
  sid: string,
  transport: Element,
  attrs: Record<string, string> = {},
): Element {
  return xml(
    "jingle",
    { xmlns: JINGLE, action: "session-initiate", sid, ...attrs },
    xml(
      "content",
      { creator: "initiator", name: "xmlstream" },
      xml("description", { xmlns: XMLSTREAM }),
      transport,
    ),
  );
}
