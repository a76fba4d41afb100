/**
 * The stanza tier of `@xmpp-e2e/streams`: building and reading message,
 * presence and iq stanzas (RFC 6120, RFC 6121), JIDs (RFC 7622), stanza
 * errors, and matching iq replies to requests.
 *
 * | export | what it does |
 * | --- | --- |
 * | {@linkcode xml} | element builder with namespace inheritance |
 * | {@linkcode message}, {@linkcode presence}, {@linkcode iq} | stanza builders (`jabber:client` by default) |
 * | {@linkcode iqResult}, {@linkcode iqError} | replies to an iq request |
 * | {@linkcode randomId} | unguessable stanza ids |
 * | {@linkcode Message}, {@linkcode Presence}, {@linkcode Iq}, {@linkcode asStanza} | typed views over inbound stanzas |
 * | {@linkcode stanzas} | RxJS operator: frames or elements to typed stanza views |
 * | {@linkcode Jid}, {@linkcode jid}, {@linkcode JidError} | addresses: parse, format, compare |
 * | {@linkcode stanzaError}, {@linkcode StanzaError}, {@linkcode STANZA_ERROR_CONDITIONS} | stanza errors, both ways |
 * | {@linkcode IqTracker} | waits for iq replies from the right peer, with deadlines |
 * | {@linkcode unhandledIqReply} | the `service-unavailable` answer to an unhandled request |
 * | {@linkcode IqRouter} | routes inbound requests by type, payload name and namespace; answers pings and disco#info itself |
 * | {@linkcode pingIq}, {@linkcode answerPing}, {@linkcode PING_NS} | XEP-0199 ping |
 * | {@linkcode discoInfoIq}, {@linkcode discoInfoResult}, {@linkcode parseDiscoInfo}, {@linkcode DISCO_INFO_NS} | XEP-0030 `disco#info` |
 * | {@linkcode versionIq}, {@linkcode versionResult}, {@linkcode parseSoftwareVersion}, {@linkcode VERSION_NS} | XEP-0092 software version |
 *
 * @example Asking the peer and answering it
 * ```ts
 * import { iq, iqResult, IqTracker, unhandledIqReply, xml } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const tracker = new IqTracker({ timeoutMs: 5000 });
 * const request = iq({ type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" }));
 * const reply = tracker.request(request);
 *
 * // The peer's side: it knows ping, and nothing else.
 * const answer = request.getChild("ping", "urn:xmpp:ping")
 *   ? iqResult(request)
 *   : unhandledIqReply(request)!;
 *
 * assert.ok(tracker.handle(answer));
 * assert.equal((await reply).attrs.id, request.attrs.id);
 * ```
 *
 * @module
 */

export { isNcName, xml } from "./xml.ts";
export type { XmlAttrValue, XmlChild } from "./xml.ts";
export { Jid, jid, JidError, MAX_JID_PART_BYTES } from "./jid.ts";
export type { JidPart } from "./jid.ts";
export {
  CLIENT_NS,
  iq,
  iqError,
  iqResult,
  message,
  presence,
  randomId,
  SERVER_NS,
} from "./stanza.ts";
export type {
  Address,
  IqOptions,
  IqType,
  MessageOptions,
  MessageType,
  PresenceOptions,
  PresenceShow,
  PresenceType,
  StanzaOptions,
} from "./stanza.ts";
export {
  DEFAULT_ERROR_TYPES,
  STANZA_ERROR_CONDITIONS,
  STANZA_ERROR_NS,
  STANZA_ERROR_TYPES,
  StanzaError,
  stanzaError,
} from "./error.ts";
export type {
  StanzaErrorCondition,
  StanzaErrorOptions,
  StanzaErrorType,
} from "./error.ts";
export {
  asStanza,
  Iq,
  Message,
  Presence,
  STANZA_NAMESPACES,
  StanzaView,
} from "./view.ts";
export {
  DEFAULT_IQ_TIMEOUT_MS,
  IqTracker,
  unhandledIqReply,
} from "./iq_tracker.ts";
export type { IqRequestOptions, IqTrackerOptions } from "./iq_tracker.ts";
export { stanzas } from "./stanzas.ts";
export type { StanzaKind, StanzaViews } from "./stanzas.ts";
export { IqRouter } from "./iq_router.ts";
export type {
  DiscoOptions,
  IqAnswer,
  IqRouteHandler,
  IqRouterOptions,
} from "./iq_router.ts";
export { answerPing, PING_NS, pingIq } from "./ping.ts";
export {
  DEFAULT_IDENTITY,
  DISCO_INFO_NS,
  discoInfoIq,
  discoInfoResult,
  parseDiscoInfo,
} from "./service_discovery.ts";
export type { DiscoIdentity, DiscoInfo } from "./service_discovery.ts";
export {
  parseSoftwareVersion,
  VERSION_NS,
  versionIq,
  versionResult,
} from "./software_version.ts";
export type { SoftwareVersion } from "./software_version.ts";
