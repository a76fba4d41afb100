/**
 * `@xmpp-e2e/streams`: end-to-end XML streams (XEP-0246) for Deno, RxJS
 * first. This release holds the XML layer: a restricted-XML streaming parser
 * as RxJS operators, the Element model and a serializer. See
 * {@link https://xmpp.org/extensions/xep-0246.html | XEP-0246}.
 *
 * | export | what it does |
 * | --- | --- |
 * | {@linkcode parseXml} | operator: bytes to parse events |
 * | {@linkcode frames} | operator: events to stream frames |
 * | {@linkcode parseFrames} | operator: bytes straight to frames (fast path) |
 * | {@linkcode XmlParser} | the tokenizer with a plain callback sink |
 * | {@linkcode parseDocument} | a whole document to an Element tree |
 * | {@linkcode serialize} | Elements back to XML |
 * | {@linkcode XmlError} | typed error with RFC 6120 condition and position |
 *
 * @example Stanzas from a byte stream
 * ```ts
 * import { parseFrames } from "@xmpp-e2e/streams";
 * import { from, lastValueFrom, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
 *     "<message><body>hi</body></message></stream:stream>",
 * );
 * const frames = await lastValueFrom(from([bytes]).pipe(parseFrames(), toArray()));
 * assert.equal(frames[1]?.type === "element" && frames[1].element.getChildText("body"), "hi");
 * ```
 *
 * @module
 */

export * from "./src/xml/mod.ts";
export {
  NegotiationError,
  STREAM_ERROR_CONDITIONS,
  StreamError,
  TimeoutError,
} from "./src/stream/errors.ts";
export type { StreamErrorCondition } from "./src/stream/errors.ts";
export { startTls } from "./src/negotiation/starttls.ts";
export type { TlsPolicy } from "./src/negotiation/starttls.ts";
export type {
  NegotiationContext,
  StreamFeature,
} from "./src/negotiation/feature.ts";
