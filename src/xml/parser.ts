/**
 * The restricted-XML tokenizer: bytes in, plain sink calls out.
 *
 * @module
 */

import {
  ASCII_CLASS,
  firstInvalidUtf8,
  incompleteTail,
  isNameCharNonAscii,
  isNameStartNonAscii,
  isXmlChar,
  NAME_CHAR,
  NAME_START,
  SPACE,
  utf8Length,
} from "./_chars.ts";
import { Element } from "./element.ts";
import { findNonXmlChar } from "./_scan.ts";
import { appendText, owned } from "./_text.ts";
import { isNcName } from "./names.ts";
import { type XmlCondition, XmlError } from "./errors.ts";
import type { XmlDeclaration } from "./events.ts";
import { DEFAULT_LIMITS, type ParserLimits } from "./limits.ts";
import type { XmlSink } from "./sink.ts";

/** Options of {@linkcode XmlParser}. */
export interface XmlParserOptions extends Partial<ParserLimits> {
  /**
   * Build each depth-1 element with its subtree and report it once complete
   * (tree mode), instead of reporting every element start and end (event
   * mode). Default `false`.
   */
  tree?: boolean;
  /**
   * Stream mode: text directly inside the root must be white space, as in
   * an XMPP stream (anything else is `bad-format`). Turn it off to read a
   * plain document. Default `true`.
   */
  stream?: boolean;
}

const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

// Where the tokenizer is in the document.
const START = 0; // nothing read yet: BOM and XML declaration allowed
const PROLOG = 1; // before the root element
const CONTENT = 2; // inside the root element
const EPILOG = 3; // after the root element

// Returned by token readers that ran out of input.
const MORE = -1;

// Code units.
const LT = 0x3c,
  GT = 0x3e,
  AMP = 0x26,
  SLASH = 0x2f,
  BANG = 0x21,
  QUESTION = 0x3f,
  EQ = 0x3d,
  QUOT = 0x22,
  APOS = 0x27,
  COLON = 0x3a,
  SEMI = 0x3b,
  HASH = 0x23,
  CR = 0x0d,
  LF = 0x0a,
  RSQB = 0x5d;

const XML_DECL =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)'))?[ \t\r\n]*\?>$/;

// Strings whose next position the tokenizer caches, and their indexes.
const SPECIALS = ["<", "&", "\r", "]]>", "\n", "\t"];
const LT_ = 0, AMP_ = 1, CR_ = 2, CDATA_END_ = 3, LF_ = 4, TAB_ = 5;

// One-shot decoding keeps no state: one lenient decoder serves every parser.
const LENIENT = new TextDecoder("utf-8", { ignoreBOM: true });

const NAME_SET_BITS = 9;
const NAME_CACHE_SIZE = 2 << NAME_SET_BITS; // two slots per set

// Names seen recently, so that a repeated name costs no new string: one
// cache for every parser of the isolate (a stream's parsers would each hold
// 45 KB of it, and all streams use the same names). Entries check
// themselves: a name entry is used only when it matches the input, and a
// "{uri}local" key only while its slot holds that name and that URI, so a
// slot another parser overwrote in between is a miss, never a wrong answer.
const NAMES: string[] = new Array(NAME_CACHE_SIZE).fill("");
const NAME_PREFIXES: string[] = new Array(NAME_CACHE_SIZE).fill("");
const NAME_LOCALS: string[] = new Array(NAME_CACHE_SIZE).fill("");
const NAME_KINDS = new Uint8Array(NAME_CACHE_SIZE); // see PLAIN etc.
// The code units of each name, up to CODES_PER_NAME of them: a typed array
// reads faster than a string in the comparisons.
const CODES_PER_NAME = 24;
const NAME_KEYS = new Int32Array(NAME_CACHE_SIZE); // see #name()
const NAME_CODES = new Uint16Array(NAME_CACHE_SIZE * CODES_PER_NAME);
const NAME_RECENT = new Uint8Array(NAME_CACHE_SIZE >> 1); // per set: 0 or 1
const KEY_URIS: string[] = new Array(NAME_CACHE_SIZE).fill("");
const KEYS: string[] = new Array(NAME_CACHE_SIZE).fill("");
// What a slot's name resolved to (its attribute key, its element namespace)
// under one set of prefix bindings of one parser, named by an epoch: every
// parser takes a new epoch from this counter whenever its bindings change,
// so an epoch is never seen twice (doubles stay exact to 2^53).
let EPOCH = 0;

const KEY_EPOCHS = new Float64Array(NAME_CACHE_SIZE);
const NS_EPOCHS = new Float64Array(NAME_CACHE_SIZE);
const NS_URIS: string[] = new Array(NAME_CACHE_SIZE).fill("");

// Depths a parser's depth-indexed arrays have room for from the start.
const DEPTHS = 4;

/**
 * Incremental parser for XMPP's restricted XML (RFC 6120 section 11): XML
 * 1.0 with namespaces, UTF-8 only, no DTD, comments, processing instructions
 * or entities other than the five predefined ones. It reads UTF-8 byte chunks
 * split anywhere and calls an {@linkcode XmlSink}; the output does not depend
 * on where the chunks were split. Every problem is thrown as an
 * {@linkcode XmlError}, after which the parser refuses further input.
 *
 * The RxJS operators (`parseXml`, `parseFrames`) wrap this class; use it
 * directly where no Observable is wanted.
 *
 * @example Counting stanzas in tree mode
 * ```ts
 * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const names: string[] = [];
 * const sink: XmlSink = {
 *   open() {},
 *   start() {},
 *   text() {},
 *   end(element: Element) {
 *     names.push(element.name);
 *   },
 *   close() {},
 * };
 * const parser = new XmlParser(sink, { tree: true });
 * const bytes = new TextEncoder().encode(
 *   "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
 *     "<message><body>hi</body></message><presence/></stream:stream>",
 * );
 * parser.write(bytes.subarray(0, 50)); // split anywhere
 * parser.write(bytes.subarray(50));
 * parser.end();
 * assert.deepEqual(names, ["message", "presence"]);
 * ```
 */
export class XmlParser {
  readonly #sink: XmlSink;
  readonly #tree: boolean;
  readonly #stream: boolean;
  #maxUnit: number;
  #maxDepth: number;
  #maxAttributes: number;
  #maxName: number;
  readonly #decoder = new TextDecoder("utf-8", {
    fatal: true,
    ignoreBOM: true,
  });

  // Input. `#buf` holds the unread tail of earlier input plus the newest
  // decoded chunk; `#pos` is the next code unit to read.
  #buf = "";
  #pos = 0;
  #ascii = true; // every code unit of #buf is below 0x80
  #bufBytes = 0; // UTF-8 bytes of #buf
  #bufStart = 0; // byte offset of #buf[0] in the whole input
  #bytesIn = 0; // bytes decoded so far (excluding #carry)
  #carry: Uint8Array | undefined; // an incomplete UTF-8 sequence
  #lineBase = 1; // line of #buf[0]
  #columnBase = 1; // column of #buf[0]
  #crBefore = false; // the input before #buf ended with a CR
  #waitFor = ""; // a suspended token needs this string before a retry
  #waitFrom = 0; // ... searched from here

  // Cached positions of the next special strings in #buf (see SPECIALS;
  // #buf.length when there is none). Each is searched for at most once per
  // position, so all searches together read #buf a few times, natively.
  readonly #next = new Int32Array(SPECIALS.length);

  // The cache slot of the name read by #name(): the name, its parts and its
  // kind are read from there, before the next name is.
  #lastSlot = 0;
  #attrSafe = -1; // no attribute value special (< & LF TAB CR) before this
  #nameColon = -1; // offset of the first colon #scanName() saw, or -1

  // Document state.
  #phase = START;
  #declaration: XmlDeclaration | undefined;
  #root: Element | undefined;
  #depth = 0; // open elements, root included
  // Indexed by depth, DEPTHS entries each (an array grown by assignment
  // takes 17): the stream's root, a stanza and two levels in it, in no more
  // room than that while the stream idles. Literals, each of its own kind.
  #elements: (Element | undefined)[] = [
    undefined,
    undefined,
    undefined,
    undefined,
  ];
  #qnames: string[] = ["", "", "", ""];
  #qslots: number[] = [0, 0, 0, 0]; // the cache slot each of #qnames was read into
  #nsMarks: number[] = [0, 0, 0, 0];
  #defaultNs: string[] = ["", "", "", "", ""]; // for the next child too
  #prefixes = new Map<string, string>();
  #undo: (string | undefined)[] = []; // pairs: prefix, previous URI
  #undoGrown = false; // pushed to since #release() last made it a copy
  #epoch = ++EPOCH; // names these #prefixes (see EPOCH)

  // The unit being read (root start tag with its prolog, one depth-1
  // element, or the root end tag) is bounded by maxStanzaBytes.
  #unitStart = -1; // code unit in #buf where it starts, or -1 for none
  #unitBytesBefore = 0; // its bytes in earlier buffers
  #unitStartByte = 0; // absolute byte offset, valid when it started earlier
  #unitEarlier = false; // it started in an earlier buffer
  #lastUnitSize = 0; // size of the last depth-1 element read

  // Scratch for start tags.
  #attrNames: string[] = [];
  #attrValues: string[] = [];
  #attrKinds: number[] = [];
  #attrSlots: number[] = [];
  #attrPrefixes: string[] = [];
  #attrLocals: string[] = [];

  #failed: XmlError | undefined;
  #ended = false;
  #paused = false;
  // An error found in the input past a pause: thrown once the input before
  // it has been read.
  #deferred: (() => never) | undefined;

  /**
   * Makes a parser.
   *
   * @example A parser in tree mode, with a limit of our own
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) stanzas.push(element.name);
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true, maxStanzaBytes: 4096 });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * parser.write(bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><presence/>"));
   * assert.deepEqual(stanzas, ["presence"]);
   * ```
   *
   * @param sink Receives what is parsed.
   * @param options Limits and mode; see {@linkcode XmlParserOptions}.
   */
  constructor(sink: XmlSink, options: XmlParserOptions = {}) {
    this.#sink = sink;
    this.#tree = options.tree ?? false;
    this.#stream = options.stream ?? true;
    this.#maxUnit = limit(
      options.maxStanzaBytes,
      DEFAULT_LIMITS.maxStanzaBytes,
    );
    this.#maxDepth = limit(options.maxDepth, DEFAULT_LIMITS.maxDepth);
    this.#maxAttributes = limit(
      options.maxAttributes,
      DEFAULT_LIMITS.maxAttributes,
    );
    this.#maxName = limit(options.maxNameLength, DEFAULT_LIMITS.maxNameLength);
  }

  /**
   * Changes the limits from the next token on (a stream that becomes
   * authenticated moves from small limits to its full ones). Limits left
   * out keep their value.
   *
   * @example Smaller stanzas allowed from now on
   * ```ts
   * import { type Element, XmlError, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const sink: XmlSink = { open() {}, start() {}, text() {}, end(_e: Element) {}, close() {} };
   * const parser = new XmlParser(sink, { tree: true });
   * parser.write(new TextEncoder().encode("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"));
   * parser.setLimits({ maxStanzaBytes: 16 });
   * assert.throws(
   *   () => parser.write(new TextEncoder().encode("<message><body>far too long</body></message>")),
   *   (error: unknown) => error instanceof XmlError && error.condition === "policy-violation",
   * );
   * ```
   *
   * @param limits The limits to change.
   */
  setLimits(limits: Partial<ParserLimits>): void {
    this.#maxUnit = limit(limits.maxStanzaBytes, this.#maxUnit);
    this.#maxDepth = limit(limits.maxDepth, this.#maxDepth);
    this.#maxAttributes = limit(limits.maxAttributes, this.#maxAttributes);
    this.#maxName = limit(limits.maxNameLength, this.#maxName);
  }

  /**
   * Stops reading right after the token being read: called from a sink
   * callback, `write()` (or `resume()`) returns once that callback does, and
   * the rest of the input waits in the parser. Like expat's resumable
   * `XML_StopParser`: a reader can take one frame at a time and decide,
   * between two frames, what the next ones mean (which limits apply, or that
   * what follows must never be read).
   *
   * @example One stanza at a time
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) {
   *       stanzas.push(element.name);
   *       parser.pause(); // the rest waits
   *     }
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * parser.write(bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><presence/><message/>"));
   * assert.deepEqual(stanzas, ["presence"]);
   * assert.equal(parser.paused, true);
   * parser.resume();
   * assert.deepEqual(stanzas, ["presence", "message"]);
   * ```
   */
  pause(): void {
    this.#paused = true;
  }

  /**
   * Whether the parser is paused, with input perhaps waiting.
   *
   * @example Not paused unless asked
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) stanzas.push(element.name);
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * assert.equal(parser.paused, false);
   * ```
   *
   * @returns `true` between `pause()` and `resume()`.
   */
  get paused(): boolean {
    return this.#paused;
  }

  /**
   * Reads on after `pause()`, until the input runs out or the next pause.
   *
   * @example Reading on after a pause
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) {
   *       stanzas.push(element.name);
   *       parser.pause();
   *     }
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * parser.write(bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><a/><b/>"));
   * parser.resume();
   * assert.deepEqual(stanzas, ["a", "b"]);
   * ```
   *
   * @throws {XmlError} On bad input, as `write()`.
   */
  resume(): void {
    if (this.#failed) throw this.#failed;
    if (!this.#paused) return;
    this.#paused = false;
    try {
      this.#lex();
      if (!this.#paused && this.#deferred) this.#deferred();
    } catch (error) {
      if (error instanceof XmlError) this.#failed = error;
      throw error;
    }
  }

  /**
   * Bytes of input read so far, an incomplete UTF-8 sequence at the end
   * excluded.
   *
   * @example Counting bytes, a split character left out
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) stanzas.push(element.name);
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * const e = bytes("é"); // two bytes
   * parser.write(bytes("<r><x>"));
   * parser.write(e.subarray(0, 1));
   * assert.equal(parser.bytesRead, 6);
   * parser.write(e.subarray(1));
   * assert.equal(parser.bytesRead, 8);
   * ```
   *
   * @returns The byte count.
   */
  get bytesRead(): number {
    return this.#bytesIn;
  }

  /**
   * Whether input was read that does not complete a token or a depth-1
   * element yet: a stanza (or the stream header) has begun and not ended.
   * White space between stanzas is not in progress. Meaningful between
   * `write()` calls and at a pause.
   *
   * @example Inside a stanza, between chunks
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) stanzas.push(element.name);
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * parser.write(bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message><bo"));
   * assert.equal(parser.midUnit, true);
   * parser.write(bytes("dy/></message>"));
   * assert.equal(parser.midUnit, false);
   * ```
   *
   * @returns `true` while a unit is partly read.
   */
  get midUnit(): boolean {
    return this.#unitStart >= 0 ||
      (!this.#paused && this.#pos < this.#buf.length);
  }

  /**
   * The size of the last depth-1 element read, in bytes as received (its
   * part in the current input counted in UTF-16 code units, which is the
   * byte count for ASCII and never more than it): what the element costs,
   * for a reader that keeps elements in a bounded buffer.
   *
   * @example The size of the last stanza
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) stanzas.push(element.name);
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * parser.write(bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><presence/>"));
   * assert.equal(parser.lastUnitSize, "<presence/>".length);
   * ```
   *
   * @returns The size; 0 before the first element.
   */
  get lastUnitSize(): number {
    return this.#lastUnitSize;
  }

  /**
   * Whether the root element has ended (the stream was closed).
   *
   * @example Closed with the root end tag
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) stanzas.push(element.name);
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * parser.write(bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"));
   * assert.equal(parser.closed, false);
   * parser.write(bytes("</stream:stream>"));
   * assert.equal(parser.closed, true);
   * ```
   *
   * @returns `true` after the root end tag.
   */
  get closed(): boolean {
    return this.#phase === EPILOG;
  }

  /**
   * Parses the next chunk of input.
   *
   * @example Chunks split anywhere
   * ```ts
   * import { type Element, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const stanzas: string[] = [];
   * const sink: XmlSink = {
   *   open() {},
   *   start() {},
   *   text() {},
   *   end(element: Element, depth: number) {
   *     if (depth === 1) stanzas.push(element.name);
   *   },
   *   close() {},
   * };
   * const parser = new XmlParser(sink, { tree: true });
   * const bytes = (text: string) => new TextEncoder().encode(text);
   * const all = bytes("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><message/><presence/></stream:stream>");
   * for (let i = 0; i < all.length; i += 7) parser.write(all.subarray(i, i + 7));
   * parser.end();
   * assert.deepEqual(stanzas, ["message", "presence"]);
   * ```
   *
   * @param chunk UTF-8 bytes; a chunk may end anywhere, even inside a
   * character.
   * @throws {XmlError} On bad input; the parser then refuses more input.
   */
  write(chunk: Uint8Array): void {
    if (this.#failed) throw this.#failed;
    if (this.#ended) throw new TypeError("Cannot write after end()");
    if (this.#paused) {
      throw new TypeError("Cannot write while paused: call resume() first");
    }
    try {
      this.#write(chunk);
    } catch (error) {
      if (error instanceof XmlError) this.#failed = error;
      throw error;
    }
  }

  /**
   * Ends the input.
   *
   * @example Input that stops in the middle
   * ```ts
   * import { type Element, XmlError, XmlParser, type XmlSink } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const sink: XmlSink = { open() {}, start() {}, text() {}, end(_e: Element) {}, close() {} };
   * const parser = new XmlParser(sink);
   * parser.write(new TextEncoder().encode("<doc><unfinished"));
   * assert.throws(() => parser.end(), XmlError);
   * ```
   *
   * @throws {XmlError} When the input stops before the root element has
   * ended, or inside a character.
   */
  end(): void {
    if (this.#failed) throw this.#failed;
    if (this.#ended) return;
    if (this.#paused) {
      throw new TypeError("Cannot end while paused: call resume() first");
    }
    this.#ended = true;
    try {
      this.#flushPending();
      if (this.#carry) {
        this.#fail(
          "not-well-formed",
          "Cannot decode UTF-8: the input ends inside a character",
          this.#buf.length,
        );
      }
      if (this.#phase !== EPILOG || this.#pos < this.#buf.length) {
        this.#checkUnit(this.#buf.length);
        this.#fail(
          "not-well-formed",
          this.#phase === EPILOG || this.#phase === CONTENT
            ? "Cannot parse XML: the input ends inside markup or before the root element is closed"
            : "Cannot parse XML: the input ends before the root element",
          this.#pos,
        );
      }
    } catch (error) {
      if (error instanceof XmlError) this.#failed = error;
      throw error;
    }
  }

  // ---------------------------------------------------------------- input

  #write(chunk: Uint8Array): void {
    let bytes = chunk;
    if (this.#carry) {
      bytes = new Uint8Array(this.#carry.length + chunk.length);
      bytes.set(this.#carry);
      bytes.set(chunk, this.#carry.length);
      this.#carry = undefined;
    }
    const keep = incompleteTail(bytes);
    if (keep > 0) {
      this.#carry = bytes.slice(bytes.length - keep);
      bytes = bytes.subarray(0, bytes.length - keep);
    }
    if (bytes.length === 0) return;
    const bad = findNonXmlChar(bytes);
    if (bad >= 0) {
      // Read what comes before it (an earlier error wins), then report it.
      this.#decodeAndFeed(bytes.subarray(0, bad));
      const b = bytes[bad]!;
      const cp = b === 0xef ? 0xff00 | bytes[bad + 2]! : b;
      return this.#failAtEnd(
        `Cannot parse XML: U+${
          cp.toString(16).toUpperCase().padStart(4, "0")
        } is not an XML character`,
      );
    }
    this.#decodeAndFeed(bytes);
  }

  /**
   * Fails with not-well-formed at the end of the input read so far, once
   * everything before it has been read: now, or when `resume()` gets there.
   */
  #failAtEnd(message: string): void {
    const fail = (): never => {
      this.#flushPending();
      return this.#fail("not-well-formed", message, this.#buf.length);
    };
    if (this.#paused) this.#deferred ??= fail; // an earlier one wins
    else fail();
  }

  #decodeAndFeed(bytes: Uint8Array): void {
    // The lenient decoder runs about twice as fast as the fatal one; what it
    // replaced, if anything, shows as U+FFFD, and only then does the fatal
    // one decide (the input may hold U+FFFD itself).
    let text = LENIENT.decode(bytes);
    try {
      if (text.indexOf("\uFFFD") >= 0) text = this.#decoder.decode(bytes);
    } catch {
      // Read what precedes the bad byte, so that an earlier error wins,
      // then report the bad byte.
      const bad = firstInvalidUtf8(bytes);
      const good = bad < 0 ? 0 : bad;
      this.#carry = undefined;
      if (good > 0) {
        this.#feed(this.#decoder.decode(bytes.subarray(0, good)), good);
      }
      return this.#failAtEnd("Cannot decode UTF-8: invalid byte sequence");
    }
    this.#feed(text, bytes.length);
  }

  /** Appends decoded text of `byteLength` bytes and reads what it can. */
  #feed(text: string, byteLength: number): void {
    const tail = this.#buf.length - this.#pos;
    if (tail > 0) {
      const old = this.#buf;
      const pos = this.#pos;
      this.#retire(pos);
      this.#buf = old.slice(pos) + text;
      this.#bufBytes += byteLength; // #retire() left the tail's
      this.#ascii = this.#ascii && text.length === byteLength;
    } else {
      this.#retire(this.#pos);
      this.#buf = text;
      this.#bufBytes = byteLength;
      this.#ascii = text.length === byteLength;
    }
    this.#pos = 0;
    this.#next.fill(-1);
    this.#attrSafe = -1;
    this.#bytesIn += byteLength;

    if (this.#waitFor !== "") {
      const found = this.#buf.indexOf(this.#waitFor, this.#waitFrom);
      if (found < 0) {
        this.#waitFrom = Math.max(
          0,
          this.#buf.length - this.#waitFor.length + 1,
        );
        // Over the limit, it fails either way: read the token as far as it
        // goes first, so that an error inside it, before the limit, wins as
        // it would have had it come whole.
        if (this.#unitOver(this.#buf.length)) this.#flushPending();
        this.#checkUnit(this.#buf.length);
        return;
      }
      this.#waitFor = "";
    }
    this.#lex();
  }

  /**
   * Reads a token that waits for more input (see #waitFor) once more, as if
   * it had come whole: before reporting an error found further on, or the
   * end of input, so that an error inside the token wins as it would have.
   */
  #flushPending(): void {
    if (this.#waitFor === "") return;
    this.#waitFor = "";
    this.#lex();
    this.#waitFor = "";
  }

  /**
   * Forgets `#buf` before `pos`: moves the line, column and byte bases, and
   * turns a unit start inside the dropped part into byte counts.
   */
  #retire(pos: number): void {
    const buf = this.#buf;
    if (pos === 0 && buf.length === 0) return;
    // Byte offset of the new start: bytes decoded so far minus the kept tail.
    const tailBytes = this.#bytes(pos, buf.length);
    const newStart = this.#bytesIn - tailBytes;
    if (this.#unitStart >= 0 && this.#unitStart < pos) {
      const before = this.#bytes(this.#unitStart, pos);
      this.#unitBytesBefore += before;
      if (!this.#unitEarlier) {
        this.#unitStartByte = newStart - before;
        this.#unitEarlier = true;
      }
      this.#unitStart = 0;
    } else if (this.#unitStart >= pos) {
      this.#unitStart -= pos;
    }
    const [breaks, last] = lineBreaks(buf, pos, this.#crBefore);
    this.#lineBase += breaks;
    this.#columnBase = last < 0 ? this.#columnBase + pos : pos - last;
    this.#crBefore = pos > 0 && pos === buf.length &&
      buf.charCodeAt(pos - 1) === CR;
    this.#bufStart = newStart;
    this.#bufBytes = tailBytes;
    if (this.#waitFor !== "") {
      this.#waitFrom = Math.max(0, this.#waitFrom - pos);
    }
  }

  /**
   * UTF-8 bytes of `#buf[from, to)`. The size of the whole buffer is known,
   * so a range longer than half of it is measured by what lies outside it.
   */
  #bytes(from: number, to: number): number {
    if (this.#ascii) return to - from;
    const buf = this.#buf;
    const len = buf.length;
    if (to - from > len >> 1) {
      return this.#bufBytes - utf8Length(buf, 0, from) -
        utf8Length(buf, to, len);
    }
    return utf8Length(buf, from, to);
  }

  // ---------------------------------------------------------------- errors

  /** Throws the error for `pos` in #buf, or policy-violation if a unit limit was crossed first. */
  #fail(
    condition: XmlCondition,
    message: string,
    pos: number,
    known = pos,
  ): never {
    // An error reported at `pos` but only known from `known` on (a
    // reference at its '&', markup at its '<') yields to the stanza limit
    // when that is crossed first, as it would be in a parser fed the input
    // in pieces, which stops at the limit (see #wholeToken).
    this.#checkUnit(known);
    throw new XmlError(condition, message, this.#position(pos));
  }

  #position(pos: number): { line: number; column: number; offset: number } {
    const buf = this.#buf;
    const [breaks, last] = lineBreaks(buf, pos, this.#crBefore);
    return {
      line: this.#lineBase + breaks,
      column: last < 0 ? this.#columnBase + pos : pos - last,
      offset: this.#bufStart + utf8Length(buf, 0, pos),
    };
  }

  /** Whether the unit in progress exceeds the limit up to `pos`. */
  #unitOver(pos: number): boolean {
    const start = this.#unitStart;
    if (start < 0) return false;
    const max = this.#maxUnit;
    // Three bytes per code unit at most: measure exactly only when needed.
    if (this.#unitBytesBefore + 3 * (pos - start) <= max) return false;
    return this.#unitBytesBefore +
        this.#bytes(start, pos) > max;
  }

  /** Throws policy-violation if the unit in progress exceeds the limit up to `pos`. */
  #checkUnit(pos: number): void {
    if (!this.#unitOver(pos)) return;
    const start = this.#unitStart;
    const max = this.#maxUnit;
    const startByte = this.#unitEarlier
      ? this.#unitStartByte
      : this.#bufStart + utf8Length(this.#buf, 0, start);
    const offset = startByte + max;
    this.#unitStart = -1; // report once
    throw new XmlError(
      "policy-violation",
      `Cannot parse XML: element exceeds maxStanzaBytes (${max} bytes)`,
      { ...this.#positionOfByte(offset), offset },
    );
  }

  /** Line and column of an absolute byte offset inside #buf (or its start). */
  #positionOfByte(offset: number): { line: number; column: number } {
    const buf = this.#buf;
    let bytes = this.#bufStart;
    let i = 0;
    while (i < buf.length && bytes < offset) {
      bytes += utf8Length(buf, i, i + 1);
      i++;
    }
    const { line, column } = this.#position(i);
    return { line, column };
  }

  #startUnit(pos: number): void {
    this.#unitStart = pos;
    this.#unitBytesBefore = 0;
    this.#unitEarlier = false;
  }

  #suspend(pos: number, waitFor: string): void {
    this.#pos = pos;
    if (waitFor !== "") {
      this.#waitFor = waitFor;
      this.#waitFrom = Math.max(pos, this.#buf.length - waitFor.length + 1);
    }
    this.#checkUnit(this.#buf.length);
  }

  // ---------------------------------------------------------------- lexer

  #lex(): void {
    const buf = this.#buf;
    const len = buf.length;
    let pos = this.#pos;
    while (pos < len) {
      if (this.#phase === CONTENT) {
        if (buf.charCodeAt(pos) === LT) {
          if (pos + 1 >= len) return this.#suspend(pos, "");
          const next = buf.charCodeAt(pos + 1);
          if (this.#depth === 1) this.#startUnit(pos);
          let end: number;
          if (next === SLASH) end = this.#endTag(pos);
          else if (next === BANG) end = this.#bang(pos);
          else if (next === QUESTION) {
            return this.#fail(
              "restricted-xml",
              "Cannot parse XML: processing instructions are not allowed in XMPP",
              pos,
              pos + 2,
            );
          } else end = this.#startTag(pos);
          if (end === MORE) return;
          pos = end;
          if (this.#paused) {
            this.#pos = pos;
            return;
          }
        } else {
          const end = this.#text(pos);
          if (end === MORE) return;
          pos = end;
        }
      } else {
        const end = this.#outside(pos);
        if (end === MORE) return;
        pos = end;
        if (this.#paused) {
          this.#pos = pos;
          return;
        }
      }
    }
    this.#pos = pos;
    this.#checkUnit(len);
    this.#release();
  }

  /**
   * Drops the input once all of it was read (and nothing waits on it): an
   * idle stream then holds no decoded chunk, nor slices of one, between
   * writes.
   */
  #release(): void {
    if (this.#pos < this.#buf.length || this.#waitFor !== "") return;
    this.#retire(this.#pos);
    this.#buf = "";
    this.#pos = 0;
    this.#next.fill(-1);
    this.#attrSafe = -1;
    // The scratch of the last start tag: its names and values are slices,
    // and all of it was grown to the attributes of a start tag.
    this.#attrNames.length = this.#attrValues.length = 0;
    this.#attrPrefixes.length = this.#attrLocals.length = 0;
    this.#attrKinds.length = this.#attrSlots.length = 0;
    // Past the open elements and the next child, nothing is read again.
    if (this.#elements.length > DEPTHS && this.#depth < DEPTHS) {
      // An element deeper than DEPTHS grew them: back to their first size.
      this.#elements = this.#elements.slice(0, DEPTHS);
      this.#qnames = this.#qnames.slice(0, DEPTHS);
      this.#qslots = this.#qslots.slice(0, DEPTHS);
      this.#nsMarks = this.#nsMarks.slice(0, DEPTHS);
      this.#defaultNs = this.#defaultNs.slice(0, DEPTHS + 1);
    }
    if (this.#undoGrown) {
      // In no more room than it takes (pushes grew it to 17 entries or
      // more): what the root declares stays as long as the stream.
      this.#undo = this.#undo.slice();
      this.#undoGrown = false;
    }
    // Default namespaces of elements closed since (the open ones and the
    // next child's stay).
    this.#defaultNs.fill("", this.#depth + 1);
  }

  /** Reads outside the root element: BOM, declaration, white space, root tag. */
  #outside(pos: number): number {
    const buf = this.#buf;
    const len = buf.length;
    if (this.#phase === START) {
      this.#startUnit(pos);
      if (buf.charCodeAt(pos) === 0xfeff) pos++;
      if (len - pos < 6 && "<?xml ".startsWith(buf.slice(pos)) && len > pos) {
        this.#suspend(pos, "");
        return MORE;
      }
      if (pos >= len) {
        this.#pos = pos;
        return pos;
      }
      if (
        buf.startsWith("<?xml", pos) &&
        ASCII_CLASS[buf.charCodeAt(pos + 5)]! & SPACE
      ) {
        const close = buf.indexOf("?>", pos);
        if (close < 0) {
          this.#suspend(pos, "?>");
          return MORE;
        }
        this.#checkUnit(close + 2); // see #wholeToken
        this.#readDeclaration(pos, close + 2);
        pos = close + 2;
      }
      this.#phase = PROLOG;
    }
    while (pos < len && ASCII_CLASS[buf.charCodeAt(pos)]! & SPACE) pos++;
    if (pos >= len) {
      this.#pos = pos;
      return pos;
    }
    if (buf.charCodeAt(pos) !== LT) {
      return this.#fail(
        "not-well-formed",
        this.#phase === PROLOG
          ? "Cannot parse XML: text before the root element"
          : "Cannot parse XML: text after the root element",
        pos,
      );
    }
    if (pos + 1 >= len) {
      this.#suspend(pos, "");
      return MORE;
    }
    const next = buf.charCodeAt(pos + 1);
    if (next === QUESTION) {
      return this.#fail(
        "restricted-xml",
        "Cannot parse XML: processing instructions are not allowed in XMPP",
        pos,
        pos + 2,
      );
    }
    if (next === BANG) return this.#bang(pos);
    if (this.#phase === EPILOG) {
      return this.#fail(
        "not-well-formed",
        "Cannot parse XML: markup after the root element",
        pos,
      );
    }
    if (next === SLASH) {
      return this.#fail(
        "not-well-formed",
        "Cannot parse XML: end tag before the root element",
        pos,
      );
    }
    if (this.#unitStart < 0) this.#startUnit(pos);
    return this.#startTag(pos);
  }

  #readDeclaration(start: number, end: number): void {
    const match = XML_DECL.exec(this.#buf.slice(start, end));
    if (!match) {
      return this.#fail(
        "not-well-formed",
        "Cannot parse XML: malformed XML declaration",
        start,
      );
    }
    const version = match[1] ?? match[2]!;
    const encoding = match[3] ?? match[4];
    const standalone = match[5] ?? match[6];
    if (!/^1\.[0-9]+$/.test(version)) {
      return this.#fail(
        "not-well-formed",
        `Cannot parse XML: malformed version "${version}"`,
        start,
      );
    }
    if (version !== "1.0") {
      return this.#fail(
        "restricted-xml",
        `Cannot parse XML: XMPP allows XML 1.0 only, not ${version}`,
        start,
      );
    }
    if (encoding !== undefined) {
      if (!/^[A-Za-z][A-Za-z0-9._-]*$/.test(encoding)) {
        return this.#fail(
          "not-well-formed",
          `Cannot parse XML: malformed encoding name "${encoding}"`,
          start,
        );
      }
      if (encoding.toLowerCase() !== "utf-8") {
        return this.#fail(
          "unsupported-encoding",
          `Cannot parse XML: XMPP allows UTF-8 only, not ${encoding}`,
          start,
        );
      }
    }
    if (
      standalone !== undefined && standalone !== "yes" && standalone !== "no"
    ) {
      return this.#fail(
        "not-well-formed",
        `Cannot parse XML: standalone must be "yes" or "no"`,
        start,
      );
    }
    this.#declaration = {
      version,
      encoding,
      standalone: standalone === undefined ? undefined : standalone === "yes",
    };
  }

  /** `<!`: CDATA inside the root; comments and DTDs are restricted. */
  #bang(pos: number): number {
    const buf = this.#buf;
    const rest = buf.slice(pos, pos + 9);
    for (const [opening, condition, what] of BANG_MARKUP) {
      if (rest.length < opening.length && opening.startsWith(rest)) {
        this.#suspend(pos, "");
        return MORE;
      }
      if (!rest.startsWith(opening)) continue;
      if (condition === "") break;
      return this.#fail(
        condition,
        `Cannot parse XML: ${what}`,
        pos,
        pos + opening.length,
      );
    }
    if (!rest.startsWith("<![CDATA[") || this.#phase !== CONTENT) {
      // Known at the first character that no opening allows (or at the
      // end of "<![CDATA[" outside the root).
      let known = 0;
      for (const [opening] of BANG_MARKUP) {
        let n = 0;
        while (n < rest.length && rest[n] === opening[n]) n++;
        known = Math.max(known, n);
      }
      const seen = Math.min(known + 1, rest.length);
      return this.#fail(
        "not-well-formed",
        bangMessage(rest.slice(0, seen)),
        pos,
        pos + seen,
      );
    }
    const close = buf.indexOf("]]>", pos + 9);
    const atStreamLevel = this.#depth === 1 && this.#stream;
    if (close < 0) {
      // What is here already is refused as it would be were the section
      // whole (a "]" or "]]" at the end may still begin its "]]>").
      if (atStreamLevel) {
        let end = buf.length;
        if (buf.charCodeAt(end - 1) === RSQB) end--;
        if (buf.charCodeAt(end - 1) === RSQB) end--;
        this.#streamLevelCdata(pos + 9, end);
      }
      this.#suspend(pos, "]]>");
      return MORE;
    }
    if (atStreamLevel) this.#streamLevelCdata(pos + 9, close);
    // A section is one token: whole, it is held to the stanza limit as it
    // is while it waits for its "]]>" (see #wholeToken).
    this.#checkUnit(close + 3);
    let text = buf.slice(pos + 9, close);
    if (text.indexOf("\r") >= 0) text = text.replace(/\r\n?/g, "\n");
    if (text !== "") this.#emitText(text);
    if (this.#depth === 1) this.#unitStart = -1;
    return close + 3;
  }

  /** The next position of SPECIALS[kind] at or after `from`. */
  #nextOf(kind: number, from: number): number {
    let at = this.#next[kind]!;
    if (at < from) {
      at = this.#buf.indexOf(SPECIALS[kind]!, from);
      this.#next[kind] = at = at < 0 ? this.#buf.length : at;
    }
    return at;
  }

  /** Text inside the root element, up to the next `<` or the end of input. */
  #text(pos: number): number {
    const buf = this.#buf;
    const len = buf.length;
    const lt = this.#nextOf(LT_, pos);
    const atEnd = lt === len;
    let end = lt;
    const cdataEnd = this.#nextOf(CDATA_END_, pos);
    const badCdata = cdataEnd < end;
    if (badCdata) end = cdataEnd;
    else if (atEnd) {
      // "]" or "]]" at the end may become "]]>" with the next chunk.
      if (buf.charCodeAt(end - 1) === RSQB) end--;
      if (end > pos && buf.charCodeAt(end - 1) === RSQB) end--;
    }
    if (this.#depth === 1 && this.#stream) {
      this.#streamLevelText(pos, end, atEnd);
    }
    const amp = this.#nextOf(AMP_, pos);
    const cr = this.#nextOf(CR_, pos);
    if (amp >= end && cr >= end) {
      if (end > pos) this.#emitText(buf.slice(pos, end));
    } else {
      // Slow path: references and carriage returns.
      let text = "";
      let from = pos;
      let i = amp < cr ? amp : cr;
      while (i < end) {
        if (buf.charCodeAt(i) === AMP) {
          const semi = this.#reference(i, atEnd);
          if (semi === MORE) {
            end = i;
            break;
          }
          text += buf.slice(from, i) + this.#refText;
          from = i = semi + 1;
        } else {
          if (i + 1 >= len) {
            end = i; // a line feed may follow in the next chunk
            break;
          }
          text += buf.slice(from, i) + "\n";
          i += buf.charCodeAt(i + 1) === LF ? 2 : 1;
          from = i;
        }
        const a = this.#nextOf(AMP_, i);
        const r = this.#nextOf(CR_, i);
        i = a < r ? a : r;
      }
      text += buf.slice(from, end);
      if (text !== "") this.#emitText(text);
    }
    if (badCdata && end === cdataEnd) {
      return this.#fail(
        "not-well-formed",
        "Cannot parse XML: ']]>' is not allowed in text",
        cdataEnd,
      );
    }
    if (atEnd && end < len) {
      this.#suspend(end, "");
      return MORE;
    }
    return end;
  }

  /** The text of the last reference read by #reference(). */
  #refText = "";

  /**
   * Reads the reference at `amp` (`&name;` or `&#...;`) into #refText and
   * returns the position of its `;`, or MORE when it is cut by the end of
   * the input.
   */
  #reference(amp: number, mayContinue: boolean): number {
    const buf = this.#buf;
    const len = buf.length;
    let i = amp + 1;
    if (i >= len) return mayContinue ? MORE : this.#badReference(amp, i);
    const first = buf.charCodeAt(i);
    // The five predefined entities, whole in the input: no name scan.
    if (i + 4 < len && this.#maxName >= 4) {
      const semi = predefinedEnd(buf, i, first);
      if (semi > 0) {
        this.#refText = PREDEFINED_TEXT[first]!;
        return semi;
      }
    }
    if (first === HASH) {
      i++;
      let hex = false;
      if (i < len && buf.charCodeAt(i) === 0x78) {
        hex = true;
        i++;
      }
      const digits = i;
      let cp = 0;
      for (; i < len; i++) {
        const c = buf.charCodeAt(i);
        let d: number;
        if (c >= 0x30 && c <= 0x39) d = c - 0x30;
        else if (hex && c >= 0x61 && c <= 0x66) d = c - 0x57;
        else if (hex && c >= 0x41 && c <= 0x46) d = c - 0x37;
        else break;
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10ffff) cp = 0x110000; // stays out of range, no overflow
      }
      if (i - digits > this.#maxName) {
        return this.#fail(
          "policy-violation",
          `Cannot parse XML: character reference longer than maxNameLength (${this.#maxName})`,
          amp,
          digits + this.#maxName + 1,
        );
      }
      if (i >= len) return mayContinue ? MORE : this.#badReference(amp, i);
      if (i === digits || buf.charCodeAt(i) !== SEMI) {
        return this.#badReference(amp, i + 1);
      }
      if (!isXmlChar(cp)) {
        return this.#fail(
          "not-well-formed",
          `Cannot parse XML: character reference to a non-XML character`,
          amp,
          i + 1,
        );
      }
      this.#refText = String.fromCodePoint(cp);
      return i;
    }
    const end = this.#scanName(i);
    if (end === MORE) return mayContinue ? MORE : this.#badReference(amp, len);
    if (end === i || end >= len) {
      return end >= len && mayContinue
        ? MORE
        : this.#badReference(amp, Math.min(end + 1, len));
    }
    if (buf.charCodeAt(end) !== SEMI) return this.#badReference(amp, end + 1);
    const text = predefined(buf, i, end);
    if (text === undefined) {
      const name = buf.slice(i, end);
      return this.#fail(
        "restricted-xml",
        `Cannot parse XML: entity reference &${name}; is not allowed in XMPP`,
        amp,
        end + 1,
      );
    }
    this.#refText = text;
    return end;
  }

  /** A bad reference at `amp`, known to be bad from `known` on. */
  #badReference(amp: number, known: number): never {
    return this.#fail(
      "not-well-formed",
      "Cannot parse XML: '&' must start a reference such as &amp;",
      amp,
      known,
    );
  }

  /**
   * Scans a name (colons allowed) from `start`; returns its end, or MORE if
   * the input ends inside it. Checks the first character and the length;
   * leaves its first colon in #nameColon.
   */
  #scanName(start: number): number {
    const buf = this.#buf;
    const len = buf.length;
    let i = start;
    if (i >= len) return MORE;
    let c = buf.charCodeAt(i);
    let colon = -1;
    if (c < 0x80) {
      if (!(ASCII_CLASS[c]! & NAME_START)) {
        if (c !== COLON) return i;
        colon = 0;
      }
    } else if (!isNameStartNonAscii(c)) return i;
    else if (c >= 0xd800 && c <= 0xdbff) i++; // its low half follows
    for (i++; i < len; i++) {
      c = buf.charCodeAt(i);
      if (c < 0x80) {
        if (!(ASCII_CLASS[c]! & NAME_CHAR)) {
          if (c !== COLON) break;
          if (colon < 0) colon = i - start;
        }
      } else if (!isNameCharNonAscii(c)) break;
      else if (c >= 0xd800 && c <= 0xdbff) i++;
    }
    if (i - start > this.#maxName) {
      return this.#fail(
        "policy-violation",
        `Cannot parse XML: name longer than maxNameLength (${this.#maxName})`,
        start,
        start + this.#maxName + 1, // known then, however the name is cut
      );
    }
    this.#nameColon = colon;
    return i >= len ? MORE : i;
  }

  /**
   * Reads a name that must be at `start` into the cache, its slot into
   * #lastSlot; returns its end, or MORE. A name seen recently is found in a cache keyed
   * by its first three code units (two names per key, the one used last
   * kept when a third comes) and only compared, not scanned and sliced
   * again (names are checked once, when they enter the cache).
   */
  #name(start: number): number {
    const buf = this.#buf;
    // The key: the first three code units (or what follows a shorter name).
    // When all three are below 0x100 it holds them exactly, and a slot with
    // the same key needs no comparison of them; other keys are marked by
    // their top bit, so that they never equal an exact one.
    const c0 = buf.charCodeAt(start);
    const c1 = buf.charCodeAt(start + 1);
    const c2 = buf.charCodeAt(start + 2);
    const exact = (c0 | c1 | c2) < 0x100;
    const key = exact
      ? c0 << 16 | c1 << 8 | c2
      : c0 << 16 ^ c1 << 8 ^ c2 | 1 << 31;
    const known = exact ? 3 : 0;
    // Two slots per set: names that begin alike (xmlns, xml:lang) both stay.
    const set = Math.imul(key, 0x9e3779b1) >>> (32 - NAME_SET_BITS);
    const recent = NAME_RECENT[set]!;
    let slot = set << 1 | recent;
    let end = this.#cachedEnd(slot, start, key, known);
    if (end < 0) {
      slot ^= 1;
      end = this.#cachedEnd(slot, start, key, known);
      if (end >= 0) NAME_RECENT[set] = recent ^ 1;
    }
    if (end >= 0) {
      this.#lastSlot = slot;
      return end;
    }
    const scanned = this.#scanName(start);
    if (scanned === MORE) return MORE;
    if (scanned === start) {
      return this.#fail(
        "not-well-formed",
        "Cannot parse XML: expected a name",
        start,
      );
    }
    const name = owned(buf.slice(start, scanned));
    const colon = this.#nameColon;
    // The slot of the set not used last (slot holds it now).
    NAME_RECENT[set] = slot & 1;
    NAMES[slot] = name;
    NAME_KEYS[slot] = key;
    const codes = slot * CODES_PER_NAME;
    for (let i = 0; i < name.length && i < CODES_PER_NAME; i++) {
      NAME_CODES[codes + i] = name.charCodeAt(i);
    }
    NAME_PREFIXES[slot] = colon < 0 ? "" : name.slice(0, colon);
    NAME_LOCALS[slot] = colon < 0 ? name : name.slice(colon + 1);
    NAME_KINDS[slot] = nameKind(
      name,
      NAME_PREFIXES[slot]!,
      NAME_LOCALS[slot]!,
      colon,
    );
    KEY_URIS[slot] = "";
    KEY_EPOCHS[slot] = NS_EPOCHS[slot] = 0;
    this.#lastSlot = slot;
    return scanned;
  }

  /**
   * The end of the name at `start` if it is the one cached in `slot`, else
   * -1: the name must be there whole, and end there. `key` is the key of
   * the input at `start`, of which the first `known` code units are exact.
   */
  #cachedEnd(slot: number, start: number, key: number, known: number): number {
    const buf = this.#buf;
    const cached = NAMES[slot]!;
    const end = start + cached.length;
    if (
      NAME_KEYS[slot] !== key || end >= buf.length || cached === "" ||
      cached.length > this.#maxName ||
      !matchesSlot(buf, start, slot, cached, known)
    ) return -1;
    const c = buf.charCodeAt(end);
    return (c < 0x80
        ? ASCII_CLASS[c]! & NAME_CHAR || c === COLON
        : isNameCharNonAscii(c))
      ? -1
      : end;
  }

  /**
   * Fails with bad-format at the first character of `buf[from, to)` that is
   * not white space (a reference counts by what it stands for): an XMPP
   * stream has nothing but white space between stanzas. Checked on the raw
   * input, so the position is the same whatever the chunking.
   */
  #streamLevelText(from: number, to: number, mayContinue: boolean): void {
    const buf = this.#buf;
    for (let i = from; i < to; i++) {
      const c = buf.charCodeAt(i);
      if (c < 0x80 && ASCII_CLASS[c]! & SPACE) continue;
      if (c === AMP) {
        const semi = this.#reference(i, mayContinue);
        if (semi === MORE) return; // read again with more input
        if (!/[^ \t\r\n]/.test(this.#refText)) {
          i = semi;
          continue;
        }
      }
      this.#fail(
        "bad-format",
        "Cannot parse XML stream: text directly inside the stream element",
        i,
      );
    }
  }

  /**
   * Fails with bad-format at the first character of CDATA section content
   * `from`-`to` directly inside the stream that is not white space (no
   * references there: `&` is a character like any other).
   */
  #streamLevelCdata(from: number, to: number): void {
    const buf = this.#buf;
    for (let i = from; i < to; i++) {
      const c = buf.charCodeAt(i);
      if (c < 0x80 && ASCII_CLASS[c]! & SPACE) continue;
      this.#fail(
        "bad-format",
        "Cannot parse XML stream: text directly inside the stream element",
        i,
      );
    }
  }

  #emitText(text: string): void {
    const depth = this.#depth;
    if (this.#tree && depth > 1) {
      appendText(this.#elements[depth - 1]!.children, text);
    } else this.#sink.text(text, depth);
  }

  // ------------------------------------------------------------------ tags

  /** A start tag at `pos` (`<` then a name). */
  #startTag(pos: number): number {
    const buf = this.#buf;
    const len = buf.length;
    const nameEnd = this.#name(pos + 1);
    if (nameEnd === MORE) return this.#moreTag(pos);
    const qnameSlot = this.#lastSlot;
    const qname = NAMES[qnameSlot]!;
    const qnameKind = NAME_KINDS[qnameSlot]!;
    const qnamePrefix = NAME_PREFIXES[qnameSlot]!;
    const qnameLocal = NAME_LOCALS[qnameSlot]!;
    const names = this.#attrNames;
    const values = this.#attrValues;
    const kinds = this.#attrKinds;
    let special = 0; // attributes that are declarations or prefixed
    let count = 0;
    let p = nameEnd;
    let selfClosing = false;
    for (;;) {
      if (p >= len) return this.#moreTag(pos);
      let c = buf.charCodeAt(p);
      if (c === GT) {
        p++;
        break;
      }
      if (c === SLASH) {
        if (p + 1 >= len) return this.#moreTag(pos);
        if (buf.charCodeAt(p + 1) !== GT) {
          // Known only once the character after the '/' is read: a unit
          // over the limit by then is refused for its size, as a parser
          // fed the '/' alone would have.
          return this.#fail(
            "not-well-formed",
            "Cannot parse XML: expected '/>'",
            p,
            p + 2,
          );
        }
        p += 2;
        selfClosing = true;
        break;
      }
      if (c >= 0x80 || !(ASCII_CLASS[c]! & SPACE)) {
        return this.#fail(
          "not-well-formed",
          "Cannot parse XML: expected white space, '>' or '/>' in a tag",
          p,
        );
      }
      do p++; while (
        p < len && (c = buf.charCodeAt(p)) < 0x80 && ASCII_CLASS[c]! & SPACE
      );
      if (p >= len) return this.#moreTag(pos);
      if (c === GT || c === SLASH) continue;
      // An attribute.
      const attrStart = p;
      p = this.#name(p);
      if (p === MORE) return this.#moreTag(pos);
      const attrSlot = this.#lastSlot;
      const attrName = NAMES[attrSlot]!;
      const kind = NAME_KINDS[attrSlot]!;
      kinds[count] = kind;
      if (kind !== PLAIN) {
        special++;
        this.#attrSlots[count] = attrSlot;
        this.#attrPrefixes[count] = NAME_PREFIXES[attrSlot]!;
        this.#attrLocals[count] = NAME_LOCALS[attrSlot]!;
      }
      c = buf.charCodeAt(p);
      if (c !== EQ) {
        while (
          p < len && (c = buf.charCodeAt(p)) < 0x80 && ASCII_CLASS[c]! & SPACE
        ) p++;
        if (p >= len) return this.#moreTag(pos);
        if (c !== EQ) {
          return this.#fail(
            "not-well-formed",
            `Cannot parse XML: expected '=' after attribute name ${attrName}`,
            p,
          );
        }
      }
      c = buf.charCodeAt(++p);
      if (c !== QUOT && c !== APOS) {
        while (
          p < len && (c = buf.charCodeAt(p)) < 0x80 && ASCII_CLASS[c]! & SPACE
        ) p++;
        if (p >= len) return this.#moreTag(pos);
        if (c !== QUOT && c !== APOS) {
          return this.#fail(
            "not-well-formed",
            "Cannot parse XML: attribute values must be quoted",
            p,
          );
        }
      }
      const close = buf.indexOf(c === QUOT ? '"' : "'", p + 1);
      if (close < 0) return this.#moreTag(pos);
      this.#checkUnit(close + 1); // see #wholeToken
      if (count === this.#maxAttributes) {
        return this.#fail(
          "policy-violation",
          `Cannot parse XML: more than maxAttributes (${this.#maxAttributes}) attributes`,
          attrStart,
        );
      }
      names[count] = attrName;
      values[count] = this.#attributeValue(p + 1, close);
      count++;
      p = close + 1;
    }
    // See #wholeToken; also, nothing from past the stanza limit reaches the
    // sink, whatever the chunking.
    this.#checkUnit(p);
    if (qnameKind === BAD) this.#badQName(pos);
    this.#openElement(
      pos,
      qname,
      qnameSlot,
      qnamePrefix,
      qnameLocal,
      count,
      special,
      selfClosing,
      p,
    );
    return p;
  }

  // #wholeToken: some checks need a whole token (an attribute value, a tag
  // and its namespaces, the XML declaration) and report an
  // error at its start. They run only once the token is known to end within
  // the stanza limit, else the error is policy-violation at the limit: what
  // a parser fed the same bytes in pieces must say too, since it stops at
  // the limit before that token's end has arrived.

  /** A tag cut by the end of the input: wait for a `>`. */
  #moreTag(pos: number): number {
    this.#suspend(pos, ">");
    return MORE;
  }

  /** The normalised value of an attribute between `start` and `end`. */
  #attributeValue(start: number, end: number): string {
    if (end <= this.#attrSafe) return this.#buf.slice(start, end);
    const safe = Math.min(
      this.#nextOf(LT_, start),
      this.#nextOf(AMP_, start),
      this.#nextOf(LF_, start),
      this.#nextOf(TAB_, start),
      this.#nextOf(CR_, start),
    );
    this.#attrSafe = safe;
    if (end <= safe) return this.#buf.slice(start, end);
    const buf = this.#buf;
    let value = "";
    let from = start;
    for (let i = start; i < end; i++) {
      const c = buf.charCodeAt(i);
      if (c === LT) {
        return this.#fail(
          "not-well-formed",
          "Cannot parse XML: '<' is not allowed in attribute values",
          i,
        );
      } else if (c === AMP) {
        const semi = this.#reference(i, false);
        if (semi >= end) this.#badReference(i, end);
        value += buf.slice(from, i) + this.#refText;
        i = semi;
        from = i + 1;
      } else if (c === 0x09 || c === LF || c === CR) {
        // Each white space character becomes a space; CR LF is one line
        // end, hence one space.
        value += buf.slice(from, i) + " ";
        if (c === CR && i + 1 < end && buf.charCodeAt(i + 1) === LF) i++;
        from = i + 1;
      }
    }
    return value + buf.slice(from, end);
  }

  /** Resolves namespaces of the start tag just read and opens the element. */
  #openElement(
    pos: number,
    qname: string,
    slot: number,
    prefix: string,
    local: string,
    count: number,
    special: number,
    selfClosing: boolean,
    end: number,
  ): void {
    const depth = this.#depth;
    if (depth >= this.#maxDepth) {
      this.#fail(
        "policy-violation",
        `Cannot parse XML: elements nested deeper than maxDepth (${this.#maxDepth})`,
        pos,
      );
    }
    const names = this.#attrNames;
    const values = this.#attrValues;
    const kinds = this.#attrKinds;
    if (depth === 0) {
      // The root lives as long as the stream: its values (attributes and
      // the namespaces it declares) must not keep their chunk alive.
      for (let i = 0; i < count; i++) values[i] = owned(values[i]!);
    }
    let defaultNs = this.#defaultNs[depth]!;
    let declarations: Record<string, string> | undefined; // the root's only
    const mark = this.#undo.length;

    // Duplicate names. Few attributes: compare pairs; many: a set.
    if (count > 1) {
      if (count <= 16) {
        for (let i = 1; i < count; i++) {
          const name = names[i]!;
          for (let j = 0; j < i; j++) {
            if (names[j] === name) this.#duplicate(pos, name);
          }
        }
      } else {
        const seen = new Set<string>();
        for (let i = 0; i < count; i++) {
          if (seen.has(names[i]!)) this.#duplicate(pos, names[i]!);
          seen.add(names[i]!);
        }
      }
    }

    // Declarations first: they apply to the element's own name and attributes.
    if (special > 0) {
      for (let i = 0; i < count; i++) {
        const kind = kinds[i]!;
        if (kind === BAD) this.#badQName(pos);
        if (kind === DEFAULT_DECLARATION) {
          const uri = values[i]!;
          if (uri === XML_NS || uri === XMLNS_NS) {
            this.#fail(
              "invalid-namespace",
              `Cannot parse XML: ${uri} cannot be the default namespace`,
              pos,
            );
          }
          defaultNs = uri;
          if (depth === 0) (declarations ??= {})[""] = uri;
        } else if (kind === PREFIX_DECLARATION) {
          const declared = this.#attrLocals[i]!;
          this.#declare(declared, values[i]!, pos);
          if (depth === 0) (declarations ??= {})[declared] = values[i]!;
        }
      }
    }

    // The element's name.
    let ns = defaultNs;
    if (local !== qname) {
      // Cached with the name, as attribute keys are (see #attributeKey).
      const cached = NAMES[slot] === qname;
      if (cached && NS_EPOCHS[slot] === this.#epoch) ns = NS_URIS[slot]!;
      else {
        ns = this.#resolve(prefix, pos);
        if (ns === XMLNS_NS) {
          this.#fail(
            "invalid-namespace",
            "Cannot parse XML: elements cannot be in the xmlns namespace",
            pos,
          );
        }
        if (cached) {
          NS_URIS[slot] = ns; // owned (see #declare)
          NS_EPOCHS[slot] = this.#epoch;
        }
      }
    }

    // Attributes. Unprefixed names are distinct (checked above); prefixed
    // ones may still collide once resolved, with each other only: no name
    // holds "{", and an "xml:" key is its qualified name.
    const attrs: Record<string, string> = {};
    let prefixed = 0;
    for (let i = 0; i < count; i++) {
      const kind = kinds[i]!;
      if (kind === PLAIN) {
        const name = names[i]!;
        if (name === "__proto__") defineOwn(attrs, name, values[i]!);
        else attrs[name] = values[i]!;
      } else if (kind === PREFIXED) {
        const key = this.#attributeKey(i, pos);
        if (prefixed++ > 0 && Object.hasOwn(attrs, key)) {
          this.#duplicate(pos, names[i]!);
        }
        attrs[key] = values[i]!;
      }
    }

    const element = new Element(local, ns, attrs, []);
    if (depth === 0) {
      element.declarations = declarations ?? {};
      this.#root = element;
    }
    this.#elements[depth] = element;
    this.#qnames[depth] = qname;
    this.#qslots[depth] = slot;
    this.#nsMarks[depth] = mark;
    this.#defaultNs[depth + 1] = defaultNs;
    this.#depth = depth + 1;

    if (depth === 0) {
      this.#unitStart = -1;
      this.#phase = CONTENT;
      this.#sink.open(
        element,
        this.#declaration,
        this.#bufStart + utf8Length(this.#buf, 0, end),
      );
      if (selfClosing) this.#closeElement(end);
      return;
    }
    if (this.#tree) {
      if (depth > 1) this.#elements[depth - 1]!.children.push(element);
    } else this.#sink.start(element, depth);
    if (selfClosing) this.#closeElement(end);
  }

  #duplicate(pos: number, name: string): never {
    return this.#fail(
      "not-well-formed",
      `Cannot parse XML: duplicate attribute ${name}`,
      pos,
    );
  }

  /** The key of prefixed attribute `i`: `xml:local` or `{uri}local`. */
  #attributeKey(i: number, pos: number): string {
    const name = this.#attrNames[i]!;
    const slot = this.#attrSlots[i]!;
    // "{uri}local" is cached with the name (while its slot still holds
    // that name), so that the same key is not built anew for every element,
    // nor its prefix looked up again under the same bindings.
    const cached = NAMES[slot] === name;
    if (cached && KEY_EPOCHS[slot] === this.#epoch) return KEYS[slot]!;
    const prefix = this.#attrPrefixes[i]!;
    if (prefix === "xml") return name;
    const uri = this.#resolve(prefix, pos);
    if (cached && KEY_URIS[slot] === uri) {
      KEY_EPOCHS[slot] = this.#epoch;
      return KEYS[slot]!;
    }
    const key = `{${uri}}${this.#attrLocals[i]}`;
    if (cached) {
      KEY_URIS[slot] = uri; // owned (see #declare)
      KEYS[slot] = owned(key);
      KEY_EPOCHS[slot] = this.#epoch;
    }
    return key;
  }

  /** Binds `prefix` to `uri` for the element being opened. */
  #declare(prefix: string, uri: string, pos: number): void {
    if (prefix === "xmlns") {
      this.#fail(
        "invalid-namespace",
        "Cannot parse XML: the xmlns prefix cannot be declared",
        pos,
      );
    }
    if ((prefix === "xml") !== (uri === XML_NS) || uri === XMLNS_NS) {
      this.#fail(
        "invalid-namespace",
        `Cannot parse XML: prefix ${prefix} cannot be bound to ${
          uri === "" ? "no namespace" : uri
        }`,
        pos,
      );
    }
    if (uri === "") {
      this.#fail(
        "invalid-namespace",
        `Cannot parse XML: prefix ${prefix} cannot be undeclared`,
        pos,
      );
    }
    if (prefix !== "xml") {
      this.#undo.push(prefix, this.#prefixes.get(prefix));
      this.#undoGrown = true;
      // Owned: the caches compare URIs by identity first and keep them.
      this.#prefixes.set(prefix, owned(uri));
      this.#epoch = ++EPOCH;
    }
  }

  #badQName(pos: number): never {
    return this.#fail(
      "not-well-formed",
      "Cannot parse XML: malformed qualified name",
      pos,
    );
  }

  #resolve(prefix: string, pos: number): string {
    if (prefix === "xml") return XML_NS;
    const uri = this.#prefixes.get(prefix);
    if (uri === undefined) {
      return this.#fail(
        "bad-namespace-prefix",
        `Cannot parse XML: namespace prefix ${prefix} is not bound`,
        pos,
      );
    }
    return uri;
  }

  /** An end tag at `pos` (`</`). */
  #endTag(pos: number): number {
    const buf = this.#buf;
    const len = buf.length;
    const depth = this.#depth;
    const qname = this.#qnames[depth - 1]!;
    let p = pos + 2;
    if (
      len - p >= qname.length &&
      matchesSlot(buf, p, this.#qslots[depth - 1]!, qname)
    ) {
      p += qname.length;
      if (p >= len) return this.#moreTag(pos);
      const c = buf.charCodeAt(p);
      if (
        c < 0x80
          ? ASCII_CLASS[c]! & NAME_CHAR || c === COLON
          : isNameCharNonAscii(c)
      ) {
        return this.#mismatch(pos, qname, p);
      }
    } else {
      if (len - p < qname.length && qname.startsWith(buf.slice(p))) {
        return this.#moreTag(pos);
      }
      let at = p;
      while (buf.charCodeAt(at) === qname.charCodeAt(at - p)) at++;
      return this.#mismatch(pos, qname, at);
    }
    while (p < len && ASCII_CLASS[buf.charCodeAt(p)]! & SPACE) p++;
    if (p >= len) return this.#moreTag(pos);
    if (buf.charCodeAt(p) !== GT) {
      return this.#fail(
        "not-well-formed",
        "Cannot parse XML: expected '>' to end the end tag",
        p,
      );
    }
    p++;
    this.#closeElement(p);
    return p;
  }

  /** The end tag at `pos` is not `expected`, as the character at `at` shows. */
  #mismatch(pos: number, expected: string, at: number): never {
    return this.#fail(
      "not-well-formed",
      `Cannot parse XML: end tag does not match start tag ${expected}`,
      pos,
      at + 1,
    );
  }

  /** Closes the innermost element; `end` is just past its end tag. */
  #closeElement(end: number): void {
    const depth = this.#depth - 1;
    const element = this.#elements[depth]!;
    this.#elements[depth] = undefined;
    const mark = this.#nsMarks[depth]!;
    const undo = this.#undo;
    const prefixes = this.#prefixes;
    if (undo.length > mark) this.#epoch = ++EPOCH;
    while (undo.length > mark) {
      const previous = undo.pop();
      const prefix = undo.pop()!;
      if (previous === undefined) prefixes.delete(prefix);
      else prefixes.set(prefix, previous);
    }
    this.#depth = depth;
    if (depth === 0) {
      this.#unitStart = -1;
      this.#phase = EPILOG;
      this.#sink.close(element);
      return;
    }
    if (depth === 1) {
      this.#checkUnit(end);
      this.#lastUnitSize = this.#unitBytesBefore + end - this.#unitStart;
      this.#unitStart = -1;
      this.#sink.end(element, 1);
    } else if (!this.#tree) {
      this.#checkUnit(end);
      this.#sink.end(element, depth);
    }
  }
}

const BANG_MARKUP: [string, XmlCondition | "", string][] = [
  ["<!--", "restricted-xml", "comments are not allowed in XMPP"],
  [
    "<!DOCTYPE",
    "restricted-xml",
    "document type declarations are not allowed in XMPP",
  ],
  ["<![CDATA[", "", ""],
];

// What a `<!` that opens nothing allowed is, by its first letter: markup
// declarations and conditional sections belong in a DTD, and nowhere else.
const DECLARATIONS: Record<string, string> = {
  E: "markup declarations (<!ELEMENT, <!ENTITY)",
  A: "markup declarations (<!ATTLIST)",
  N: "markup declarations (<!NOTATION)",
};
const EXPECTED = `(expected "<!--", "<!DOCTYPE" or "<![CDATA[")`;

/**
 * The message for a `<!` that opens no comment, DOCTYPE or CDATA section
 * (or a CDATA section outside the root): only on the error path. It reads
 * only `seen`, the text up to the character that showed the error, which
 * every chunking holds when the error is reported, so the message does not
 * depend on the chunking (a longer look would name `<!ELEMENT` whole, but
 * only when the chunk held it).
 *
 * @param seen From the `<` to the first character no opening allows.
 * @returns The error message.
 */
function bangMessage(seen: string): string {
  const shown = JSON.stringify(seen);
  if (seen === "<![CDATA[") {
    return "Cannot parse XML: CDATA sections are not allowed outside the root element";
  }
  if (seen.startsWith("<![")) {
    return seen === "<![I"
      ? "Cannot parse XML: conditional sections (<![INCLUDE[, <![IGNORE[) are not allowed in XMPP"
      : `Cannot parse XML: malformed CDATA section opening ${shown} (expected "<![CDATA[")`;
  }
  if (seen.startsWith("<!-")) {
    return `Cannot parse XML: malformed comment opening ${shown} (expected "<!--")`;
  }
  if (seen.startsWith("<!D")) {
    return `Cannot parse XML: malformed document type declaration opening ${shown} (expected "<!DOCTYPE", which XMPP does not allow either)`;
  }
  const declarations = DECLARATIONS[seen.slice(2)];
  if (declarations !== undefined) {
    return `Cannot parse XML: ${declarations} are not allowed in XMPP`;
  }
  if (/^<![a-z]$/.test(seen)) {
    return `Cannot parse XML: ${shown} is not XML markup: XML keywords are upper case ${EXPECTED}`;
  }
  return `Cannot parse XML: ${shown} is not XML markup ${EXPECTED}`;
}

// What a name is, as an attribute name (the kinds of NAME_KINDS).
const PLAIN = 0; // no prefix
const PREFIXED = 1; // prefix:local, a well-formed QName
const DEFAULT_DECLARATION = 2; // xmlns
const PREFIX_DECLARATION = 3; // xmlns:prefix
const BAD = 4; // has a colon but is not a well-formed QName

function nameKind(
  name: string,
  prefix: string,
  local: string,
  colon: number,
): number {
  if (colon < 0) return name === "xmlns" ? DEFAULT_DECLARATION : PLAIN;
  if (!isNcName(prefix) || !isNcName(local)) return BAD;
  return prefix === "xmlns" ? PREFIX_DECLARATION : PREFIXED;
}

function defineOwn(
  object: Record<string, string>,
  key: string,
  value: string,
): void {
  Object.defineProperty(object, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/**
 * Line breaks in `buf` before `end` (LF, CR LF, or a CR alone), and the
 * position of the last one's final character (-1 when there is none).
 */
function lineBreaks(
  buf: string,
  end: number,
  crBefore: boolean,
): [number, number] {
  let count = 0;
  let last = -1;
  let from = 0;
  if (crBefore && end > 0 && buf.charCodeAt(0) === LF) {
    last = 0; // the second half of a CR LF counted before
    from = 1;
  }
  // Walk the LFs and the CRs in order, each found natively.
  let nl = buf.indexOf("\n", from);
  let cr = buf.indexOf("\r", from);
  for (;;) {
    const next = nl >= 0 && (cr < 0 || nl < cr) ? nl : cr;
    if (next < 0 || next >= end) break;
    if (next === nl) {
      count++;
      last = nl;
      nl = buf.indexOf("\n", nl + 1);
    } else {
      if (buf.charCodeAt(cr + 1) !== LF) {
        count++;
        last = cr;
      }
      cr = buf.indexOf("\r", cr + 1);
    }
  }
  return [count, last];
}

/**
 * Whether `name`, which cache slot `slot` may hold, occurs in `buf` at `at`;
 * its first `known` code units are known to (when the slot holds it).
 */
function matchesSlot(
  buf: string,
  at: number,
  slot: number,
  name: string,
  known = 0,
): boolean {
  const n = name.length;
  if (n > CODES_PER_NAME || NAMES[slot] !== name) return matches(buf, at, name);
  const codes = slot * CODES_PER_NAME;
  for (let i = known; i < n; i++) {
    if (buf.charCodeAt(at + i) !== NAME_CODES[codes + i]) return false;
  }
  return true;
}

/** Whether `text` occurs in `buf` at `at` (short strings: a loop beats startsWith). */
function matches(buf: string, at: number, text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    if (buf.charCodeAt(at + i) !== text.charCodeAt(i)) return false;
  }
  return true;
}

// The text of each predefined entity by its first letter ("a" is "&", and
// "apos" is told apart in #reference).
const PREDEFINED_TEXT: string[] = [];
PREDEFINED_TEXT[0x6c] = "<";
PREDEFINED_TEXT[0x67] = ">";
PREDEFINED_TEXT[0x61] = "&";
PREDEFINED_TEXT[0x71] = '"';

/**
 * The position of the ";" ending `lt;`, `gt;`, `amp;` or `quot;` at `at`
 * (`first` is its first code unit), or -1 (`apos;` included: -1, read by
 * the general path). The caller made sure that five code units follow.
 */
function predefinedEnd(buf: string, at: number, first: number): number {
  if (first === 0x6c || first === 0x67) { // lt gt
    return buf.charCodeAt(at + 1) === 0x74 && buf.charCodeAt(at + 2) === SEMI
      ? at + 2
      : -1;
  }
  if (first === 0x61) { // amp
    return buf.charCodeAt(at + 1) === 0x6d &&
        buf.charCodeAt(at + 2) === 0x70 && buf.charCodeAt(at + 3) === SEMI
      ? at + 3
      : -1;
  }
  if (first === 0x71) { // quot
    return buf.charCodeAt(at + 1) === 0x75 &&
        buf.charCodeAt(at + 2) === 0x6f && buf.charCodeAt(at + 3) === 0x74 &&
        buf.charCodeAt(at + 4) === SEMI
      ? at + 4
      : -1;
  }
  return -1;
}

/** The text of a predefined entity named by `buf[start, end)`, if it is one. */
function predefined(
  buf: string,
  start: number,
  end: number,
): string | undefined {
  const c = buf.charCodeAt(start);
  switch (end - start) {
    case 2:
      if (buf.charCodeAt(start + 1) !== 0x74) return undefined; // t
      return c === 0x6c ? "<" : c === 0x67 ? ">" : undefined; // lt gt
    case 3:
      return c === 0x61 && matches(buf, start, "amp") ? "&" : undefined;
    case 4:
      if (c === 0x71) return matches(buf, start, "quot") ? '"' : undefined;
      return c === 0x61 && matches(buf, start, "apos") ? "'" : undefined;
  }
  return undefined;
}

function limit(value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new RangeError(
      `Cannot use limit ${value}: limits are positive finite numbers`,
    );
  }
  return value;
}
