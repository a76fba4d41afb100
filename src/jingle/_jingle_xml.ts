// The Jingle (XEP-0166) wire format as used here: one content, an XML
// stream description (XEP-0247), an IBB (XEP-0261) or SOCKS5 (XEP-0260)
// transport; building the iqs and reading them strictly.

import type { Element } from "../xml/element.ts";
import { StanzaError } from "../stanza/error.ts";
import { iq } from "../stanza/stanza.ts";
import { xml } from "../stanza/xml.ts";
import type { JingleReason } from "./jingle_error.ts";

export type { JingleReason };

export const JINGLE_NS = "urn:xmpp:jingle:1";
export const JINGLE_ERRORS_NS = "urn:xmpp:jingle:errors:1";
export const XMLSTREAM_NS = "urn:xmpp:jingle:apps:xmlstream:0";
export const JINGLE_IBB_NS = "urn:xmpp:jingle:transports:ibb:1";
export const JINGLE_S5B_NS = "urn:xmpp:jingle:transports:s5b:1";
/** The name of the one content of a session. */
export const CONTENT_NAME = "xmlstream";

/** The Jingle actions this engine reads. */
export const ACTIONS = [
  "session-initiate",
  "session-accept",
  "session-terminate",
  "session-info",
  "transport-info",
  "transport-replace",
  "transport-accept",
  "transport-reject",
  "content-accept",
  "content-add",
  "content-modify",
  "content-reject",
  "content-remove",
  "description-info",
  "security-info",
] as const;
export type Action = (typeof ACTIONS)[number];

/** The reasons of XEP-0166 (section 7.4). */
export const REASONS: readonly JingleReason[] = [
  "alternative-session",
  "busy",
  "cancel",
  "connectivity-error",
  "decline",
  "expired",
  "failed-application",
  "failed-transport",
  "general-error",
  "gone",
  "incompatible-parameters",
  "media-error",
  "security-error",
  "success",
  "timeout",
  "unsupported-applications",
  "unsupported-transports",
];

/** A SOCKS5 candidate (XEP-0260 section 2.2). */
export interface Candidate {
  cid: string;
  host: string;
  port: number;
  jid: string;
  priority: number;
  type: "direct" | "assisted" | "tunnel" | "proxy";
}

/** A transport as offered or accepted. */
export type TransportDesc =
  | {
    kind: "ibb";
    sid: string;
    blockSize: number;
    /** Data in messages (XEP-0047 `stanza`); iq when absent. */
    stanza?: "message";
  }
  | {
    kind: "s5b";
    sid: string;
    dstaddr: string | undefined;
    candidates: Candidate[];
  };

/** What a transport-info of XEP-0260 says. */
export type S5bInfo =
  | { kind: "candidate-used"; cid: string }
  | { kind: "candidate-error" }
  | { kind: "activated"; cid: string }
  | { kind: "proxy-error" };

/** One Jingle request, read. */
export interface JingleRequest {
  action: Action;
  sid: string;
  initiator: string | undefined;
  /** The transport of the one content, if it has one. */
  transport: TransportDesc | undefined;
  /** For transport-info over SOCKS5. */
  info: S5bInfo | undefined;
  /** Whether the content describes an XML stream. */
  xmlstream: boolean;
  reason: JingleReason | undefined;
  /** The reason's text, if any. */
  text: string | undefined;
}

const TYPES = new Set(["direct", "assisted", "tunnel", "proxy"]);
const UINT = /^(0|[1-9][0-9]{0,9})$/;

function bad(text: string): StanzaError {
  return new StanzaError("bad-request", { text });
}

function uint(value: string | undefined, max: number): number | undefined {
  if (value === undefined || !UINT.test(value)) return undefined;
  const n = Number(value);
  return n <= max ? n : undefined;
}

function readCandidate(element: Element): Candidate {
  const { cid, host, jid } = element.attrs;
  const port = uint(element.attrs.port, 0xffff);
  const priority = uint(element.attrs.priority, 0xffffffff);
  const type = element.attrs.type ?? "direct";
  if (
    !cid || !host || !jid || port === undefined || port === 0 ||
    priority === undefined || !TYPES.has(type)
  ) {
    throw bad("A candidate needs cid, host, jid, port, priority and a type");
  }
  return { cid, host, jid, port, priority, type: type as Candidate["type"] };
}

function readTransport(transport: Element): TransportDesc | undefined {
  const sid = transport.attrs.sid;
  if (transport.ns === JINGLE_IBB_NS) {
    const blockSize = uint(transport.attrs["block-size"], 0xffff);
    if (!sid || blockSize === undefined || blockSize === 0) {
      throw bad("An IBB transport needs a sid and a block-size");
    }
    const stanza = transport.attrs.stanza ?? "iq";
    if (stanza !== "iq" && stanza !== "message") {
      throw bad('The stanza attribute is "iq" or "message"');
    }
    return stanza === "message"
      ? { kind: "ibb", sid, blockSize, stanza }
      : { kind: "ibb", sid, blockSize };
  }
  if (transport.ns === JINGLE_S5B_NS) {
    if (!sid) throw bad("A SOCKS5 transport needs a sid");
    if ((transport.attrs.mode ?? "tcp") !== "tcp") {
      throw new StanzaError("feature-not-implemented", {
        text: "Only the tcp mode is supported",
      });
    }
    const candidates = transport.getChildren("candidate", JINGLE_S5B_NS).map(
      readCandidate,
    );
    if (candidates.length > 16) throw bad("Too many candidates");
    return {
      kind: "s5b",
      sid,
      dstaddr: transport.attrs.dstaddr,
      candidates,
    };
  }
  return undefined;
}

function readInfo(transport: Element): S5bInfo | undefined {
  if (transport.ns !== JINGLE_S5B_NS) return undefined;
  const used = transport.getChild("candidate-used", JINGLE_S5B_NS);
  if (used !== undefined) {
    if (!used.attrs.cid) throw bad("candidate-used needs a cid");
    return { kind: "candidate-used", cid: used.attrs.cid };
  }
  if (transport.getChild("candidate-error", JINGLE_S5B_NS)) {
    return { kind: "candidate-error" };
  }
  const activated = transport.getChild("activated", JINGLE_S5B_NS);
  if (activated !== undefined) {
    if (!activated.attrs.cid) throw bad("activated needs a cid");
    return { kind: "activated", cid: activated.attrs.cid };
  }
  if (transport.getChild("proxy-error", JINGLE_S5B_NS)) {
    return { kind: "proxy-error" };
  }
  return undefined;
}

/**
 * Reads a Jingle iq set.
 *
 * @throws {StanzaError} `bad-request` (or `feature-not-implemented`) when
 *   it is malformed.
 */
export function readJingle(request: Element): JingleRequest {
  const jingle = request.getChild("jingle", JINGLE_NS)!;
  const action = jingle.attrs.action as Action;
  const sid = jingle.attrs.sid;
  if (!ACTIONS.includes(action)) throw bad("Unknown Jingle action");
  if (!sid) throw bad("A Jingle request needs a sid");
  const contents = jingle.getChildren("content", JINGLE_NS);
  if (contents.length > 1) {
    throw new StanzaError("feature-not-implemented", {
      text: "One content per session only",
    });
  }
  const content = contents[0];
  const transportElement = content?.elements().find((e) =>
    e.name === "transport"
  );
  const reasonElement = jingle.getChild("reason", JINGLE_NS);
  const condition = reasonElement?.elements().find((e) =>
    e.ns === JINGLE_NS && (REASONS as readonly string[]).includes(e.name)
  )?.name as JingleReason | undefined;
  return {
    action,
    sid,
    initiator: jingle.attrs.initiator,
    transport: transportElement === undefined
      ? undefined
      : action === "transport-info"
      ? undefined
      : readTransport(transportElement),
    info: transportElement !== undefined && action === "transport-info"
      ? readInfo(transportElement)
      : undefined,
    xmlstream: content?.getChild("description", XMLSTREAM_NS) !== undefined,
    reason: reasonElement === undefined
      ? undefined
      : condition ?? "general-error",
    text: reasonElement?.getChildText("text", JINGLE_NS),
  };
}

/** The `<transport/>` element of a transport. */
export function transportElement(desc: TransportDesc): Element {
  if (desc.kind === "ibb") {
    return xml("transport", {
      xmlns: JINGLE_IBB_NS,
      "block-size": desc.blockSize,
      sid: desc.sid,
      ...(desc.stanza !== undefined ? { stanza: desc.stanza } : {}),
    });
  }
  return xml(
    "transport",
    {
      xmlns: JINGLE_S5B_NS,
      sid: desc.sid,
      ...(desc.dstaddr !== undefined ? { dstaddr: desc.dstaddr } : {}),
    },
    ...desc.candidates.map((c) =>
      xml("candidate", {
        cid: c.cid,
        host: c.host,
        jid: c.jid,
        port: c.port,
        priority: c.priority,
        type: c.type,
      })
    ),
  );
}

/** The `<transport/>` of a transport-info of XEP-0260. */
export function infoElement(sid: string, info: S5bInfo): Element {
  const child = info.kind === "candidate-used" || info.kind === "activated"
    ? xml(info.kind, { cid: info.cid })
    : xml(info.kind);
  return xml("transport", { xmlns: JINGLE_S5B_NS, sid }, child);
}

/** What a Jingle iq of ours carries. */
export interface JingleIqOptions {
  to: string;
  from: string;
  action: Action;
  sid: string;
  initiator?: string;
  responder?: string;
  /** The content's transport; with `description`, the XEP-0247 one too. */
  transport?: Element;
  description?: boolean;
  reason?: JingleReason;
}

/** Builds a Jingle iq set. */
export function jingleIq(options: JingleIqOptions): Element {
  const children: Element[] = [];
  if (options.transport !== undefined) {
    children.push(
      xml(
        "content",
        { creator: "initiator", name: CONTENT_NAME },
        ...(options.description
          ? [xml("description", { xmlns: XMLSTREAM_NS })]
          : []),
        options.transport,
      ),
    );
  }
  if (options.reason !== undefined) {
    children.push(xml("reason", null, xml(options.reason)));
  }
  return iq(
    { type: "set", to: options.to, from: options.from },
    xml(
      "jingle",
      {
        xmlns: JINGLE_NS,
        action: options.action,
        sid: options.sid,
        ...(options.initiator !== undefined
          ? { initiator: options.initiator }
          : {}),
        ...(options.responder !== undefined
          ? { responder: options.responder }
          : {}),
      },
      ...children,
    ),
  );
}

/** `item-not-found` with Jingle's `<unknown-session/>`. */
export function unknownSession(): StanzaError {
  return new StanzaError("item-not-found", {
    type: "cancel",
    application: xml("unknown-session", { xmlns: JINGLE_ERRORS_NS }),
  });
}

/** `unexpected-request` with Jingle's `<out-of-order/>`. */
export function outOfOrder(text: string): StanzaError {
  return new StanzaError("unexpected-request", {
    type: "wait",
    text,
    application: xml("out-of-order", { xmlns: JINGLE_ERRORS_NS }),
  });
}

/** `conflict` with Jingle's `<tie-break/>`. */
export function tieBreak(): StanzaError {
  return new StanzaError("conflict", {
    type: "cancel",
    application: xml("tie-break", { xmlns: JINGLE_ERRORS_NS }),
  });
}

/** Whether a failed request of ours was refused with `<tie-break/>`. */
export function isTieBreak(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if (e instanceof StanzaError) {
      return e.condition === "conflict" &&
        e.application?.name === "tie-break" &&
        e.application.ns === JINGLE_ERRORS_NS;
    }
  }
  return false;
}

/**
 * XEP-0166's tie-break of two simultaneous session-initiates: the one with
 * the lower sid (octet order) overrules the other, and on equal sids the
 * one sent by the lower JID.
 *
 * @returns Whether ours overrules theirs.
 */
export function oursWinsTie(
  ours: { sid: string; jid: string },
  theirs: { sid: string; jid: string },
): boolean {
  const bySid = compareOctets(ours.sid, theirs.sid);
  return bySid !== 0 ? bySid < 0 : compareOctets(ours.jid, theirs.jid) < 0;
}

/** RFC 4790's i;octet: the UTF-8 bytes, compared one by one. */
function compareOctets(a: string, b: string): number {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i]! - y[i]!;
  }
  return x.length - y.length;
}

/** `feature-not-implemented` with Jingle's `<unsupported-info/>`. */
export function unsupportedInfo(): StanzaError {
  return new StanzaError("feature-not-implemented", {
    type: "modify",
    application: xml("unsupported-info", { xmlns: JINGLE_ERRORS_NS }),
  });
}
