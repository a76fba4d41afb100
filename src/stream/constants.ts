/**
 * Namespaces and names of the RFC 6120 stream layer.
 *
 * @module
 */

/** The stream namespace (the `stream:` prefix). */
export const STREAMS_NS = "http://etherx.jabber.org/streams";
/**
 * The default content namespace of end-to-end streams (XEP-0246 uses jabber:client).
 *
 * @example The default stanza namespace
 * ```ts
 * import { CLIENT_NS, message } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(message({ body: "hi" }).ns, CLIENT_NS);
 * ```
 */
export const CLIENT_NS = "jabber:client";
/** The STARTTLS namespace. */
export const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
