/**
 * STARTTLS (RFC 6120 section 5) as a stream feature, both roles.
 *
 * @module
 */

import { Element } from "../xml/element.ts";
import { TLS_NS } from "../stream/constants.ts";
import { NegotiationError } from "../stream/errors.ts";
import type { NegotiationContext, StreamFeature } from "./feature.ts";

/**
 * How a stream treats TLS: `"required"` (the default: no stanza without
 * TLS, and an initiator whose peer offers no STARTTLS stops), `"optional"`
 * (use it when offered), or `"off"` (plaintext, chosen by name).
 */
export type TlsPolicy = "required" | "optional" | "off";

/**
 * The STARTTLS feature under a policy.
 *
 * @param policy The TLS policy.
 * @returns The feature: for a known policy, one frozen object every stream
 *   shares.
 *
 * @example The recipient's offer
 * ```ts
 * import { startTls } from "@xmpp-e2e/streams";
 * import { serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const offer = startTls("required").offer({
 *   role: "recipient",
 *   tls: false,
 *   canStartTls: true,
 *   tlsInfo: undefined,
 *   state: new Map(),
 *   authenticated() {},
 *   send: async () => {},
 *   receive: () => Promise.reject(new Error("unused")),
 *   startTls: async () => {},
 * });
 * assert.equal(
 *   serialize(offer!),
 *   "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>",
 * );
 * ```
 */
export function startTls(policy: TlsPolicy): StreamFeature {
  // One feature per policy, shared by every stream: it holds nothing else.
  return Object.hasOwn(SHARED, policy) ? SHARED[policy] : feature(policy);
}

function feature(policy: TlsPolicy): StreamFeature {
  return {
    name: "starttls",
    ns: TLS_NS,
    offer(context) {
      if (policy === "off" || context.tls || !context.canStartTls) {
        return undefined;
      }
      return new Element(
        "starttls",
        TLS_NS,
        {},
        policy === "required" ? [new Element("required", TLS_NS)] : [],
      );
    },
    mandatory(context) {
      return policy === "required" && !context.tls;
    },
    starts(element) {
      return element.is("starttls", TLS_NS);
    },
    async receive(_first, context) {
      if (!context.canStartTls || policy === "off") {
        await context.send(new Element("failure", TLS_NS));
        throw new NegotiationError(
          "starttls",
          "Cannot start TLS on this stream",
        );
      }
      await context.send(new Element("proceed", TLS_NS));
      await context.startTls();
      return true;
    },
    wanted(_offered, context) {
      return policy !== "off" && !context.tls && context.canStartTls;
    },
    async initiate(_offered, context: NegotiationContext) {
      await context.send(new Element("starttls", TLS_NS));
      const answer = await context.receive();
      if (answer.is("proceed", TLS_NS)) {
        await context.startTls();
        return true;
      }
      if (answer.is("failure", TLS_NS)) {
        throw new NegotiationError("starttls", "The peer refused STARTTLS");
      }
      throw new NegotiationError(
        "starttls",
        `Expected <proceed/> or <failure/>, got <${answer.name}/>`,
      );
    },
  };
}

const SHARED: Readonly<Record<TlsPolicy, StreamFeature>> = {
  required: Object.freeze(feature("required")),
  optional: Object.freeze(feature("optional")),
  off: Object.freeze(feature("off")),
};
