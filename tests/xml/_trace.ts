/**
 * Comparable traces of a parse: our parser's (event or tree mode), an
 * element tree's, and saxes' (the oracle).
 *
 * A trace is a list of opens (name, namespace, attributes in the
 * `Element.attrs` convention), text runs (adjacent text merged, empty text
 * dropped) and closes, each with its depth (the root is at 0).
 *
 * @module
 */

import { SaxesParser, type SaxesTagNS } from "saxes";
import type { Element } from "../../src/xml/element.ts";
import { XmlError } from "../../src/xml/errors.ts";
import type { XmlDeclaration } from "../../src/xml/events.ts";
import { XmlParser, type XmlParserOptions } from "../../src/xml/parser.ts";
import type { XmlSink } from "../../src/xml/sink.ts";
import { isNameStartChar, XML_NS } from "./_arbitraries.ts";

const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

/** One step of a trace. */
export type Entry =
  | {
    t: "open";
    depth: number;
    name: string;
    ns: string;
    attrs: Record<string, string>;
  }
  | { t: "text"; depth: number; text: string }
  | { t: "close"; depth: number; name: string; ns: string };

/** Builds a trace, merging adjacent text. */
export class Trace {
  /** The steps so far. */
  readonly entries: Entry[] = [];

  /** Records an element start. */
  open(depth: number, name: string, ns: string, attrs: Record<string, string>) {
    this.entries.push({ t: "open", depth, name, ns, attrs: { ...attrs } });
  }

  /** Records text, merged into the previous text step at the same depth. */
  text(depth: number, text: string) {
    if (text === "") return;
    const last = this.entries.at(-1);
    if (last?.t === "text" && last.depth === depth) last.text += text;
    else this.entries.push({ t: "text", depth, text });
  }

  /** Records an element end. */
  close(depth: number, name: string, ns: string) {
    this.entries.push({ t: "close", depth, name, ns });
  }
}

/** An element as plain data, for `assert.deepEqual` across classes. */
export interface PlainElement {
  name: string;
  ns: string;
  attrs: Record<string, string>;
  children: (PlainElement | string)[];
}

/**
 * Copies an element tree into plain data, children as they are.
 *
 * @param el The element.
 * @returns Plain data.
 */
export function plain(el: Element): PlainElement {
  return {
    name: el.name,
    ns: el.ns,
    attrs: { ...el.attrs },
    children: el.children.map((c) => typeof c === "string" ? c : plain(c)),
  };
}

/**
 * Copies an element tree into plain data with adjacent text merged and
 * empty text dropped: what a parser gives back after serializing it.
 *
 * @param el The element.
 * @returns Normalized plain data.
 */
export function normalized(el: Element): PlainElement {
  const children: (PlainElement | string)[] = [];
  for (const child of el.children) {
    if (typeof child !== "string") children.push(normalized(child));
    else if (child === "") continue;
    else if (typeof children.at(-1) === "string") {
      children[children.length - 1] += child;
    } else children.push(child);
  }
  return { name: el.name, ns: el.ns, attrs: { ...el.attrs }, children };
}

/**
 * Appends an element tree to a trace.
 *
 * @param el The element.
 * @param depth Its depth (the root is at 0).
 * @param trace Where to append.
 */
export function flatten(el: Element, depth: number, trace: Trace): void {
  trace.open(depth, el.name, el.ns, el.attrs);
  for (const child of el.children) {
    if (typeof child === "string") trace.text(depth + 1, child);
    else flatten(child, depth + 1, trace);
  }
  trace.close(depth, el.name, el.ns);
}

/** Where and why a parse failed. */
export interface Failure {
  condition: string;
  offset: number;
  line: number;
  column: number;
}

/** Everything one run of `XmlParser` produced. */
export interface Outcome {
  /** The trace (in tree mode: flattened from the frames). */
  entries: Entry[];
  /** The declaration passed to `open`, `null` when `open` was not called. */
  declaration: XmlDeclaration | undefined | null;
  /** The header size passed to `open`. */
  headerBytes: number | null;
  /** Depth-1 elements as plain data, tree mode only. */
  frames: PlainElement[];
  /** Contract violations seen by the sink (wrong depth, unmatched end...). */
  problems: string[];
  /** `bytesRead` after the last write. */
  bytesRead: number;
  /** The error, when the parse failed. */
  error: Failure | null;
}

class RecordingSink implements XmlSink {
  readonly trace = new Trace();
  readonly stack: Element[] = [];
  readonly outcome: Outcome;

  constructor(readonly tree: boolean) {
    this.outcome = {
      entries: this.trace.entries,
      declaration: null,
      headerBytes: null,
      frames: [],
      problems: [],
      bytesRead: 0,
      error: null,
    };
  }

  #problem(message: string) {
    this.outcome.problems.push(message);
  }

  open(root: Element, decl: XmlDeclaration | undefined, bytes: number) {
    if (this.outcome.headerBytes !== null) this.#problem("open called twice");
    this.outcome.declaration = decl;
    this.outcome.headerBytes = bytes;
    this.stack.push(root);
    this.trace.open(0, root.name, root.ns, root.attrs);
  }

  start(el: Element, depth: number) {
    if (this.tree) this.#problem("start called in tree mode");
    if (depth !== this.stack.length) {
      this.#problem(`start at depth ${depth} under ${this.stack.length}`);
    }
    if (el.children.length !== 0) this.#problem("start with children");
    this.stack.push(el);
    this.trace.open(depth, el.name, el.ns, el.attrs);
  }

  text(text: string, depth: number) {
    if (depth !== this.stack.length) {
      this.#problem(`text at depth ${depth} under ${this.stack.length}`);
    }
    if (this.tree && depth !== 1) this.#problem(`tree text at ${depth}`);
    this.trace.text(depth, text);
  }

  end(el: Element, depth: number) {
    if (this.tree) {
      if (depth !== 1) this.#problem(`tree end at depth ${depth}`);
      this.outcome.frames.push(plain(el));
      flatten(el, depth, this.trace);
      return;
    }
    if (this.stack.pop() !== el) this.#problem("end of another element");
    if (depth !== this.stack.length) {
      this.#problem(`end at depth ${depth} under ${this.stack.length}`);
    }
    this.trace.close(depth, el.name, el.ns);
  }

  close(root: Element) {
    if (this.stack.length !== 1 || this.stack.pop() !== root) {
      this.#problem("close of another element");
    }
    this.trace.close(0, root.name, root.ns);
  }
}

/**
 * Feeds chunks to a new `XmlParser`, then ends it, recording everything.
 * Only an `XmlError` is caught: anything else fails the test. The parser
 * reads a plain document (`stream: false`) unless the options say otherwise.
 *
 * @param chunks The input, split anywhere.
 * @param options Parser options.
 * @returns What happened.
 */
export function runParser(
  chunks: Iterable<Uint8Array>,
  options: XmlParserOptions = {},
): Outcome {
  const sink = new RecordingSink(options.tree ?? false);
  const parser = new XmlParser(sink, { stream: false, ...options });
  try {
    for (const chunk of chunks) parser.write(chunk);
    sink.outcome.bytesRead = parser.bytesRead;
    parser.end();
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    const { condition, offset, line, column } = error;
    sink.outcome.error = { condition, offset, line, column };
  }
  return sink.outcome;
}

function clarkAttrs(tag: SaxesTagNS): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const attr of Object.values(tag.attributes)) {
    if (attr.uri === XMLNS_NS) continue;
    const key = attr.uri === ""
      ? attr.local
      : attr.uri === XML_NS
      ? `xml:${attr.local}`
      : `{${attr.uri}}${attr.local}`;
    attrs[key] = attr.value;
  }
  return attrs;
}

/**
 * The trace saxes (with namespaces) gives for a document.
 *
 * @param xml The document.
 * @returns The trace.
 * @throws Error when saxes rejects the document.
 */
export function saxesTrace(xml: string): Entry[] {
  return saxesRead(xml).entries;
}

/**
 * The trace and the XML declaration saxes gives for a document.
 *
 * @param xml The document.
 * @returns The trace, and the declaration in the form `XmlParser` gives it.
 * @throws Error when saxes rejects the document.
 */
export function saxesRead(
  xml: string,
): { entries: Entry[]; declaration: XmlDeclaration | undefined } {
  const parser = new SaxesParser({ xmlns: true });
  const trace = new Trace();
  let declaration: XmlDeclaration | undefined;
  parser.on("xmldecl", (decl) => {
    declaration = {
      version: decl.version ?? "",
      encoding: decl.encoding,
      standalone: decl.standalone === undefined
        ? undefined
        : decl.standalone === "yes",
    };
  });
  let depth = 0;
  parser.on("opentag", (tag) => {
    // saxes checks only the whole QName against Name; Namespaces in XML
    // also needs the part after the colon to be an NCName.
    for (const { prefix, local } of [tag, ...Object.values(tag.attributes)]) {
      if (prefix !== "" && !isNameStartChar(local.codePointAt(0) ?? 0)) {
        throw new Error(`${prefix}:${local} is not a QName`);
      }
    }
    trace.open(depth, tag.local, tag.uri, clarkAttrs(tag));
    depth++;
  });
  const onText = (text: string) => {
    if (depth > 0) trace.text(depth, text);
  };
  parser.on("text", onText);
  parser.on("cdata", onText);
  parser.on("closetag", (tag) => {
    depth--;
    trace.close(depth, tag.local, tag.uri);
  });
  parser.write(xml).close();
  return { entries: trace.entries, declaration };
}
