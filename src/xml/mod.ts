/**
 * The XML layer of `@xmpp-e2e/streams`: a restricted-XML parser for XMPP
 * (RFC 6120 section 11) that reads UTF-8 chunks split anywhere, as RxJS
 * operators and as a plain class, plus the Element model and a serializer.
 *
 * | export | what it does |
 * | --- | --- |
 * | {@linkcode parseXml} | operator: bytes to {@linkcode XmlEvent}s |
 * | {@linkcode frames} | operator: events to {@linkcode StreamFrame}s (header, depth-1 element, close) |
 * | {@linkcode parseFrames} | operator: bytes straight to frames (the fast path) |
 * | {@linkcode XmlParser} | the tokenizer, with a plain callback {@linkcode XmlSink} |
 * | {@linkcode parseDocument} | a whole document to an {@linkcode Element} tree |
 * | {@linkcode serialize}, {@linkcode escapeText}, {@linkcode escapeAttribute} | Elements back to XML |
 * | {@linkcode XmlError} | the one error type, with RFC 6120 condition, line, column, byte offset |
 * | {@linkcode DEFAULT_LIMITS} | stanza size, depth, attribute and name limits |
 *
 * @example Stanzas from a byte stream
 * ```ts
 * import { parseFrames } from "@xmpp-e2e/streams/xml";
 * import { from, lastValueFrom, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
 *     "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>" +
 *     "<presence/></stream:stream>",
 * );
 * const frames = await lastValueFrom(from([bytes]).pipe(parseFrames(), toArray()));
 * assert.deepEqual(frames.map((f) => f.type), ["header", "element", "close"]);
 * ```
 *
 * @module
 */

export { Element } from "./element.ts";
export type { Attributes, Node } from "./element.ts";
export { XmlError } from "./errors.ts";
export type { XmlCondition, XmlPosition } from "./errors.ts";
export type { StreamFrame, XmlDeclaration, XmlEvent } from "./events.ts";
export { DEFAULT_LIMITS } from "./limits.ts";
export type { ParserLimits } from "./limits.ts";
export { XmlParser } from "./parser.ts";
export type { XmlParserOptions } from "./parser.ts";
export type { XmlSink } from "./sink.ts";
export type { Operator } from "./operator.ts";
export { parseXml } from "./parse_xml.ts";
export type { ParseOptions } from "./parse_xml.ts";
export { frames, parseFrames } from "./frames.ts";
export { parseDocument } from "./parse_document.ts";
export { escapeAttribute, escapeText, serialize } from "./serialize.ts";
