/**
 * Parse a whole document (or one stanza) into an Element tree.
 *
 * @module
 */

import type { Element } from "./element.ts";
import { appendText } from "./_text.ts";
import type { ParserLimits } from "./limits.ts";
import { XmlParser } from "./parser.ts";
import type { XmlSink } from "./sink.ts";

const encoder = new TextEncoder();

/**
 * Parses a complete document with the same restricted-XML rules as the
 * stream parser and returns its root element with all its children. Text
 * directly inside the root is kept (document mode).
 *
 * @param input The document, as text or UTF-8 bytes.
 * @param options Limits.
 * @returns The root element.
 * @throws {XmlError} On bad or incomplete input.
 *
 * @example Parsing a stanza
 * ```ts
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const iq = parseDocument(
 *   "<iq xmlns='jabber:client' type='get' id='r1'><query xmlns='jabber:iq:roster'/></iq>",
 * );
 * assert.equal(iq.attrs.type, "get");
 * assert.equal(iq.getChild("query")?.ns, "jabber:iq:roster");
 * ```
 */
export function parseDocument(
  input: string | Uint8Array,
  options: Partial<ParserLimits> = {},
): Element {
  const sink = new DocumentSink();
  const parser = new XmlParser(sink, { ...options, tree: true, stream: false });
  parser.write(typeof input === "string" ? encoder.encode(input) : input);
  parser.end();
  return sink.root!;
}

/** Collects the root and its children. */
class DocumentSink implements XmlSink {
  root: Element | undefined;

  open(root: Element): void {
    this.root = root;
  }

  start(): void {}

  text(text: string): void {
    appendText(this.root!.children, text);
  }

  end(element: Element): void {
    this.root!.children.push(element);
  }

  close(): void {}
}
