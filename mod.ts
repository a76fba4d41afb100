/**
 * `@xmpp-e2e/streams`: end-to-end XML streams
 * ({@link https://xmpp.org/extensions/xep-0246.html | XEP-0246}) for Deno,
 * RxJS first. Two endpoints open an XMPP stream (RFC 6120) straight to each
 * other, upgrade it with STARTTLS, exchange stanzas and close it in order.
 *
 * | export | what it does |
 * | --- | --- |
 * | {@linkcode initiate}, {@linkcode listen} | open a stream to a peer; accept streams from peers |
 * | {@linkcode E2EStream} | `stanzas$`, `send`, `request`, `handle`, `onIq`, `ping`, `discoInfo`, `softwareVersion`, `close`, `closed`, `info`, `trace$` |
 * | {@linkcode IqRouter}, {@linkcode pingIq}, {@linkcode discoInfoIq}, {@linkcode versionIq} | iq routing with built-in answers: XEP-0199 ping, XEP-0030 `disco#info`, XEP-0092 software version |
 * | {@linkcode message}, {@linkcode presence}, {@linkcode iq}, {@linkcode xml} | stanza and element builders |
 * | {@linkcode Jid}, {@linkcode StanzaError}, {@linkcode StreamError}, {@linkcode NegotiationError}, {@linkcode TimeoutError}, {@linkcode StreamClosedError}, {@linkcode LimitError} | addresses and typed errors |
 * | {@linkcode generateCertificate} | a self-signed certificate for an endpoint |
 * | {@linkcode CertificateError}, {@linkcode CertificateFailure}, {@linkcode checkCertificate} | why a peer's certificate was refused (the same `reason` on every transport), and the policy itself |
 * | {@linkcode sasl}, {@linkcode deriveScramCredentials} | SASL (SCRAM-SHA-512/256/1, -PLUS with XEP-0440, PLAIN) as a stream feature, and stored keys |
 * | {@linkcode Session}, {@linkcode startTls}, {@linkcode memoryPair}, {@linkcode fromStreams} | the stream layer over any transport |
 * | {@linkcode Message}, {@linkcode Presence}, {@linkcode Iq}, {@linkcode asStanza}, {@linkcode stanzas} | typed, read-only stanza views, and the operator from frames or elements to them |
 * | {@linkcode parseXml}, {@linkcode frames}, {@linkcode parseFrames}, {@linkcode XmlParser} | the restricted-XML parser as RxJS operators |
 * | {@linkcode parseRecording}, {@linkcode parseTrace} | recorded sessions (stream restarts followed), stanza logs without a header, a stream's own trace |
 * | {@linkcode consoleTrace}, {@linkcode TraceRedactor}, {@linkcode DEBUG_ENV} | debugging: a ready-made `trace` that prints each stream with SASL payloads redacted; `XMPP_E2E_DEBUG=1` does it for every stream |
 * | {@linkcode serialize}, {@linkcode parseDocument}, {@linkcode Element}, {@linkcode XmlError} | the XML model |
 *
 * Subpaths: `@xmpp-e2e/streams/xml`, `/stanza`, `/transport`, `/sasl`;
 * `/linklocal` for link-local messaging (XEP-0174: `LinkLocal`, `advertise`,
 * `browse`; it loads the mDNS libraries, so it is not part of this module);
 * `/cli`, the `xmpp-e2e` command (`deno run -A jsr:@xmpp-e2e/streams/cli --help`).
 *
 * @example Two endpoints over an in-memory pair (plaintext, chosen by name)
 * ```ts
 * import { initiate, memoryPair, message, Session } from "@xmpp-e2e/streams";
 * import { firstValueFrom } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = memoryPair();
 * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
 *   juliet.negotiate(),
 * ]);
 * const got = firstValueFrom(juliet.stanzas$);
 * await romeo.send(message({ to: "juliet@pronto", body: "Art thou not Romeo?" }));
 * assert.equal((await got).getChildText("body"), "Art thou not Romeo?");
 * assert.deepEqual(await romeo.close(), { clean: true });
 * ```
 *
 * @module
 */

export * from "./src/xml/mod.ts";
export * from "./src/stanza/mod.ts";
export * from "./src/transport/mod.ts";
export {
  DEFAULT_MAX_IQ_HANDLERS,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
  DEFAULT_MAX_PENDING_REQUESTS,
  E2EListener,
  E2EStream,
  initiate,
  listen,
} from "./src/e2e.ts";
export type {
  AdmitCheck,
  AdmitClaim,
  AdmitVerdict,
  E2EStreamSettings,
  InitiateOptions,
  IqHandler,
  ListenerFailure,
  ListenerStats,
  ListenOptions,
  PeerRequestOptions,
  RequestOptions,
  StreamInfo,
  StreamOptions,
  Trust,
  TrustedBy,
} from "./src/e2e.ts";
export { PRE_AUTH_LIMITS, Session } from "./src/stream/session.ts";
export type {
  CloseResult,
  SessionOptions,
  SessionState,
  TraceEntry,
} from "./src/stream/session.ts";
export type { StreamHeader } from "./src/stream/header.ts";
export { parseRecording, parseTrace } from "./src/stream/recording.ts";
export {
  consoleTrace,
  DEBUG_ENV,
  REDACTED,
  TraceRedactor,
} from "./src/stream/debug_trace.ts";
export type { TraceStream } from "./src/stream/debug_trace.ts";
export type { RecordingOptions, TracedFrame } from "./src/stream/recording.ts";
export {
  LimitError,
  NegotiationError,
  STREAM_ERROR_CONDITIONS,
  StreamClosedError,
  StreamError,
  TimeoutError,
} from "./src/stream/errors.ts";
export { DEFAULT_SEND_QUEUE_BYTES } from "./src/stream/writer.ts";
export type { StreamErrorCondition } from "./src/stream/errors.ts";
export { startTls } from "./src/negotiation/starttls.ts";
export {
  DEFAULT_MECHANISMS,
  sasl,
  SASL_CB_NS,
  SASL_NS,
} from "./src/negotiation/sasl.ts";
export type {
  SaslChannelBinding,
  SaslClientOptions,
  SaslServerOptions,
} from "./src/negotiation/sasl.ts";
export * from "./src/sasl/mod.ts";
export { bind, BIND_NS } from "./src/negotiation/bind.ts";
export type { TlsPolicy } from "./src/negotiation/starttls.ts";
export type {
  NegotiationContext,
  SaslInfo,
  StreamFeature,
} from "./src/negotiation/feature.ts";
