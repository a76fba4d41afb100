// SCRAM channel binding for the SASL feature: which types this end can bind
// with, XEP-0440's advertisement of them, and the initiator's choice of type
// and GS2 flag (RFC 5802 section 6, RFC 9266 section 3, XEP-0440 section 4).
// Private module.

import { Element } from "../xml/element.ts";
import { NegotiationError } from "../stream/errors.ts";
import type { ChannelBindingType, TlsInfo } from "../transport/transport.ts";
import { endPointBinding } from "../transport/_channel_binding.ts";
import { pemToDer } from "../transport/certificate.ts";

/**
 * The XEP-0440 namespace.
 *
 * @example The XEP-0440 namespace
 * ```ts
 * import { SASL_CB_NS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SASL_CB_NS, "urn:xmpp:sasl-cb:0");
 * ```
 */
export const SASL_CB_NS = "urn:xmpp:sasl-cb:0";

/** Binding types, strongest first (XEP-0440 section 4: above all, not only tls-server-end-point). */
const PREFERENCE: readonly ChannelBindingType[] = [
  "tls-exporter",
  "tls-unique",
  "tls-server-end-point",
];

/**
 * How the initiator binds: `"auto"`, `"required"`, or one type to bind
 * with whatever the peer advertises.
 */
export type SaslChannelBinding = "auto" | "required" | ChannelBindingType;

/**
 * The types this end can bind the channel with, strongest first: those the
 * transport computes (`TlsInfo.channelBindings`) and, failing that,
 * `tls-server-end-point` from the server's certificate: the peer's on the
 * initiator when the transport says nothing about channel binding, our own
 * (`certificatePem`) on the recipient.
 */
export function bindingTypes(
  info: TlsInfo | undefined,
  role: "initiator" | "recipient",
  certificatePem?: string,
): ChannelBindingType[] {
  if (info === undefined) return [];
  const types = Object.keys(info.channelBindings ?? {});
  if (serverCertificate(info, role, certificatePem) !== undefined) {
    types.push("tls-server-end-point");
  }
  return PREFERENCE.filter((t) => types.includes(t));
}

/** The data of `type` (one of {@linkcode bindingTypes}). */
export async function bindingData(
  type: ChannelBindingType,
  info: TlsInfo,
  role: "initiator" | "recipient",
  certificatePem?: string,
): Promise<Uint8Array> {
  const given = info.channelBindings?.[type];
  if (given !== undefined) return given;
  return await endPointBinding(serverCertificate(info, role, certificatePem)!);
}

function serverCertificate(
  info: TlsInfo,
  role: "initiator" | "recipient",
  certificatePem: string | undefined,
): Uint8Array | undefined {
  if (info.channelBindings?.["tls-server-end-point"] !== undefined) {
    return undefined; // the transport's own
  }
  if (role === "recipient") {
    return certificatePem === undefined ? undefined : pemToDer(certificatePem);
  }
  // A transport that fills channelBindings said what it has; only a TlsInfo
  // made elsewhere leaves us the peer's certificate to hash.
  return info.channelBindings === undefined ? info.peerCertificate : undefined;
}

/** XEP-0440: the types the peer advertised, or undefined if it did not. */
export function advertisedTypes(
  features: Element | undefined,
): string[] | undefined {
  const element = features?.getChild("sasl-channel-binding", SASL_CB_NS);
  if (element === undefined) return undefined;
  return element.getChildren("channel-binding", SASL_CB_NS)
    .map((e) => e.attrs.type ?? "")
    .filter((type) => type !== "");
}

/** XEP-0440: the `<sasl-channel-binding/>` feature listing `types`. */
export function advertisement(types: readonly string[]): Element {
  return new Element(
    "sasl-channel-binding",
    SASL_CB_NS,
    {},
    types.map((type) =>
      new Element("channel-binding", SASL_CB_NS, { type }, [])
    ),
  );
}

/** The initiator's channel binding for this exchange. */
export interface BindingChoice {
  /** The type a -PLUS mechanism binds with; undefined when none may. */
  type: ChannelBindingType | undefined;
  /** Why no -PLUS mechanism may be used, when `type` is undefined. */
  why: string;
  /**
   * Only the -PLUS mechanisms (and EXTERNAL, ANONYMOUS when listed) may be
   * used: the caller required binding.
   */
  required: boolean;
}

/**
 * Chooses the type a -PLUS mechanism binds with.
 *
 * - The peer advertised its types (XEP-0440): the strongest type both ends
 *   have. None in common while -PLUS is offered and `tls-server-end-point`,
 *   which every server must advertise, is missing: the list was tampered
 *   with, and authentication stops (XEP-0440 business rule 6).
 * - It did not: only the type RFC 5802 section 6.1 (TLS 1.2: `tls-unique`)
 *   or RFC 9266 section 3 (TLS 1.3: `tls-exporter`) makes the default, which
 *   a server that binds must implement. Never `tls-server-end-point`, which
 *   nothing obliges such a server to know.
 * - `policy` names a type: that one, advertised or not.
 *
 * @throws {NegotiationError} When authentication must stop: binding is
 * required (or a type named) and impossible, or the list was tampered with.
 */
export function chooseBinding(o: {
  ours: readonly ChannelBindingType[];
  advertised: readonly string[] | undefined;
  offeredPlus: boolean;
  protocol: string | undefined;
  policy: SaslChannelBinding;
}): BindingChoice {
  const required = o.policy !== "auto";
  const stop = (why: string) =>
    new NegotiationError("sasl", `Cannot bind the channel: ${why}`);
  let type: ChannelBindingType | undefined;
  let why: string;
  if (o.ours.length === 0) {
    why = "this transport exposes no channel-binding data";
  } else if (o.policy !== "auto" && o.policy !== "required") {
    if (!o.ours.includes(o.policy)) {
      throw stop(
        `this transport cannot compute ${o.policy} (only ${o.ours.join(", ")})`,
      );
    }
    type = o.policy;
    why = "";
  } else if (o.advertised !== undefined) {
    type = o.ours.find((t) => o.advertised!.includes(t));
    why = `no channel-binding type in common (the peer advertises ${
      o.advertised.join(", ") || "none"
    }; this transport computes ${o.ours.join(", ")})`;
    if (
      type === undefined && o.offeredPlus &&
      !o.advertised.includes("tls-server-end-point")
    ) {
      throw new NegotiationError(
        "sasl",
        `Cannot authenticate: the peer offers -PLUS mechanisms but advertises (XEP-0440) only channel-binding types this transport cannot compute (${
          o.advertised.join(", ") || "none"
        }) and not tls-server-end-point, which every server must: the list may have been tampered with`,
      );
    }
  } else {
    const fallback = defaultType(o.protocol);
    type = fallback !== undefined && o.ours.includes(fallback)
      ? fallback
      : undefined;
    why = fallback === undefined
      ? "the peer does not advertise its channel-binding types (XEP-0440), and the TLS version, which decides the default type, is unknown"
      : `the peer does not advertise its channel-binding types (XEP-0440), and this transport cannot compute ${fallback}, the default type for ${o.protocol} (it computes ${
        o.ours.join(", ")
      })`;
  }
  if (type === undefined && required) throw stop(why);
  if (type !== undefined && required && !o.offeredPlus) {
    throw stop("the peer offers no -PLUS mechanism");
  }
  return { type, why, required };
}

/** The default channel-binding type for a TLS version (RFC 5802, RFC 9266). */
function defaultType(
  protocol: string | undefined,
): ChannelBindingType | undefined {
  if (protocol === "TLSv1.3") return "tls-exporter";
  if (protocol !== undefined && /^TLSv1(\.[012])?$/.test(protocol)) {
    return "tls-unique";
  }
  return undefined;
}
