/**
 * Resource binding (RFC 6120 section 7), the initiator's side: the client
 * feature a server such as Prosody expects after SASL. End-to-end streams do
 * not need it; the recipient's side is not implemented (it is never offered).
 *
 * @module
 */

import { Element } from "../xml/element.ts";
import { CLIENT_NS } from "../stream/constants.ts";
import { NegotiationError } from "../stream/errors.ts";
import { streamId } from "../stream/header.ts";
import type { StreamFeature } from "./feature.ts";

/** The resource binding namespace. */
export const BIND_NS = "urn:ietf:params:xml:ns:xmpp-bind";

/**
 * The key under which the bind feature keeps the bound JID in the
 * negotiation context's per-stream state (`context.state`).
 */
export const BOUND_JID = "bind";

/**
 * The bind feature for an initiator: binds `resource` (or one the server
 * picks) and sets the stream's identity to the full JID the server returns.
 *
 * @param options The resource to ask for, if any.
 * @returns The feature.
 */
export function bind(options: { resource?: string } = {}): StreamFeature {
  return {
    name: "bind",
    ns: BIND_NS,
    offer() {
      return undefined; // the recipient's side is not implemented
    },
    mandatory() {
      return false;
    },
    starts() {
      return false;
    },
    receive() {
      return Promise.reject(
        new NegotiationError(
          "bind",
          "Resource binding is not offered by this end",
        ),
      );
    },
    wanted(_offered, context) {
      return !context.state.has(BOUND_JID);
    },
    async initiate(_offered, context) {
      const id = streamId();
      const request = new Element(
        "bind",
        BIND_NS,
        {},
        options.resource === undefined
          ? []
          : [new Element("resource", BIND_NS, {}, [options.resource])],
      );
      await context.send(
        new Element("iq", CLIENT_NS, { type: "set", id }, [request]),
      );
      const answer = await context.receive();
      if (!answer.is("iq", CLIENT_NS) || answer.attrs.id !== id) {
        throw new NegotiationError(
          "bind",
          `Expected the bind result, got <${answer.name}/>`,
        );
      }
      const jid = answer.getChild("bind", BIND_NS)?.getChildText(
        "jid",
        BIND_NS,
      );
      if (answer.attrs.type !== "result" || jid === undefined) {
        throw new NegotiationError(
          "bind",
          "The server refused to bind a resource",
        );
      }
      context.state.set(BOUND_JID, jid);
      context.authenticated(jid);
      return false;
    },
  };
}
