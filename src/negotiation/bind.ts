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

/**
 * The resource binding namespace.
 *
 * @example The namespace
 * ```ts
 * import { BIND_NS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(BIND_NS, "urn:ietf:params:xml:ns:xmpp-bind");
 * ```
 */
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
 * @example Binding a resource with a server (its side written out here)
 * ```ts
 * import {
 *   bind,
 *   BIND_NS,
 *   CLIENT_NS,
 *   initiate,
 *   memoryPair,
 *   Session,
 *   type StreamFeature,
 *   xml,
 * } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * // The server's side, as a server such as Prosody does it.
 * const server: StreamFeature = {
 *   name: "bind",
 *   ns: BIND_NS,
 *   offer: () => xml("bind", { xmlns: BIND_NS }),
 *   mandatory: () => true, // the recipient waits for it
 *   starts: (element) => element.name === "iq" && element.getChild("bind", BIND_NS) !== undefined,
 *   async receive(request, context) {
 *     const resource = request.getChild("bind", BIND_NS)?.getChildText("resource", BIND_NS);
 *     await context.send(
 *       xml("iq", { xmlns: CLIENT_NS, type: "result", id: request.attrs.id },
 *         xml("bind", { xmlns: BIND_NS }, xml("jid", null, `romeo@forza/${resource}`))),
 *     );
 *     return false;
 *   },
 *   wanted: () => false,
 *   initiate: () => Promise.resolve(false),
 * };
 * const [a, b] = memoryPair();
 * const juliet = new Session({ role: "recipient", transport: b, from: "forza", tls: "off", features: [server] });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, to: "forza", tls: "off", features: [bind({ resource: "balcony" })] }),
 *   juliet.negotiate(),
 * ]);
 * assert.equal(romeo.info.identity, "romeo@forza/balcony");
 * await romeo.close();
 * ```
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
