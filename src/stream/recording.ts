/**
 * Reading recorded sessions: bytes of one direction that restart the stream
 * (a new header after STARTTLS or SASL, or a new stream after a close),
 * logs of bare stanzas without a header, and the library's own trace.
 *
 * @module
 */

import {
  concat,
  concatMap,
  defer,
  from,
  map,
  mergeMap,
  type Observable,
  type ObservableInput,
  throwError,
} from "rxjs";
import type { Element } from "../xml/element.ts";
import { XmlError } from "../xml/errors.ts";
import type { StreamFrame, XmlDeclaration } from "../xml/events.ts";
import type { Operator } from "../xml/operator.ts";
import type { ParseOptions } from "../xml/parse_xml.ts";
import { XmlParser } from "../xml/parser.ts";
import { escapeAttribute } from "../xml/serialize.ts";
import type { XmlSink } from "../xml/sink.ts";
import { CLIENT_NS, STREAMS_NS } from "./constants.ts";
import type { TraceEntry } from "./session.ts";

/** Options of {@linkcode parseRecording} and {@linkcode parseTrace}. */
export interface RecordingOptions extends ParseOptions {
  /**
   * The input is a log of bare stanzas, without a stream header: they are
   * read as if inside a stream whose content namespace is `ns`, and no
   * header or close frame is reported for it. A header that comes later
   * starts a stream as usual. Default `false`.
   */
  headerless?: boolean | undefined;
  /**
   * The content namespace of a headerless log (that of stanzas without
   * `xmlns`). Default `jabber:client`.
   */
  ns?: string | undefined;
}

/** A frame of a trace, with the direction and protection it came with. */
export interface TracedFrame {
  /** `"in"` for what the peer sent, `"out"` for ours. */
  direction: "in" | "out";
  /** Whether TLS protected the trace entry that completed the frame. */
  tls: boolean;
  /** The frame. */
  frame: StreamFrame;
}

/**
 * Reads the frames of a recording of one direction of a session: like
 * `parseFrames()`, and where a new stream header (or XML declaration)
 * begins between two frames of a stream or after its close, as after
 * STARTTLS, SASL or a reconnection, a new stream starts with a fresh
 * parser and a new `header` frame. A header inside a stanza (in a CDATA
 * section, say) is the stanza's content, not a restart. A recording may
 * stop between two frames, with its stream still open; one cut inside a
 * stanza ends with an `XmlError`, as does one without a stream. Error
 * positions count from the start of the whole input.
 *
 * The parser itself is the one `parseFrames()` runs; this operator only
 * looks, in each chunk, for where a header may start, and asks the parser
 * there whether it stands between two frames.
 *
 * @param options Limits, and whether the input is a headerless log.
 * @returns An operator from byte chunks to frames.
 *
 * @example A session with a stream restart after SASL
 * ```ts
 * import { parseRecording } from "@xmpp-e2e/streams";
 * import { from, lastValueFrom, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const header = "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
 * const recorded = header +
 *   "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>" +
 *   "<?xml version='1.0'?>" + header +
 *   "<message><body>hi</body></message></stream:stream>";
 * const frames = await lastValueFrom(
 *   from([new TextEncoder().encode(recorded)]).pipe(parseRecording(), toArray()),
 * );
 * assert.deepEqual(
 *   frames.map((f) => f.type === "element" ? f.element.name : f.type),
 *   ["header", "success", "header", "message", "close"],
 * );
 * ```
 *
 * @example A log of bare stanzas
 * ```ts
 * import { parseRecording } from "@xmpp-e2e/streams";
 * import { from, lastValueFrom, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const log = "<message><body>one</body></message>\n<presence/>\n";
 * const frames = await lastValueFrom(
 *   from([new TextEncoder().encode(log)]).pipe(parseRecording({ headerless: true }), toArray()),
 * );
 * assert.deepEqual(frames.map((f) => f.type === "element" && f.element.ns), ["jabber:client", "jabber:client"]);
 * ```
 */
export function parseRecording(
  options: RecordingOptions = {},
): Operator<Uint8Array, StreamFrame> {
  return (source) =>
    defer(() => {
      const reader = new RecordingReader(options);
      return concat(
        source.pipe(
          mergeMap((chunk) => drain(reader, () => reader.write(chunk))),
        ),
        defer(() => drain(reader, () => reader.end())),
      );
    });
}

/**
 * Reads a session's trace (the `trace` option or `trace$` of a stream, as
 * recorded): each direction is read as by {@linkcode parseRecording},
 * stream restarts included, and each frame comes with its direction and
 * whether TLS protected it.
 *
 * @param options Limits (and `headerless`, for a trace that starts after
 *   the headers).
 * @returns An operator from trace entries to frames.
 *
 * @example The frames of a recorded trace
 * ```ts
 * import { parseTrace, type TraceEntry } from "@xmpp-e2e/streams";
 * import { from, lastValueFrom, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const header = (from: string) =>
 *   `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='${from}' version='1.0'>`;
 * const trace: TraceEntry[] = [
 *   { direction: "out", text: header("romeo@forza"), tls: false },
 *   { direction: "in", text: header("juliet@pronto") + "<stream:features/>", tls: false },
 *   { direction: "out", text: "<message><body>hi</body></message>", tls: false },
 * ];
 * const frames = await lastValueFrom(from(trace).pipe(parseTrace(), toArray()));
 * assert.deepEqual(
 *   frames.map(({ direction, frame }) => `${direction} ${frame.type}`),
 *   ["out header", "in header", "in element", "out element"],
 * );
 * ```
 */
export function parseTrace(
  options: RecordingOptions = {},
): Operator<TraceEntry, TracedFrame> {
  return (source) =>
    defer(() => {
      const readers = {
        in: new RecordingReader(options),
        out: new RecordingReader(options),
      };
      const tls = { in: false, out: false };
      const encoder = new TextEncoder();
      const traced = (
        direction: "in" | "out",
        step: () => StreamFrame[],
      ): Observable<TracedFrame> =>
        from(drain(readers[direction], step)).pipe(
          map((frame) => ({ direction, tls: tls[direction], frame })),
        );
      return concat(
        source.pipe(
          concatMap((entry) => {
            tls[entry.direction] = entry.tls;
            const reader = readers[entry.direction];
            return traced(
              entry.direction,
              () => reader.write(encoder.encode(entry.text)),
            );
          }),
        ),
        defer(() =>
          concat(
            ...(["in", "out"] as const)
              .filter((direction) => readers[direction].started)
              .map((direction) =>
                defer(() => traced(direction, () => readers[direction].end()))
              ),
          )
        ),
      );
    });
}

/** What a step produced, then its error if it failed. */
function drain(
  reader: RecordingReader,
  step: () => StreamFrame[],
): ObservableInput<StreamFrame> {
  try {
    return step();
  } catch (error) {
    return concat(reader.take(), throwError(() => error));
  }
}

// The tail of a chunk that may be the start of a header, cut by the
// chunk's end: an XML declaration or a start tag, its name not ended yet.
const PARTIAL = /^<(?:\?(?:x(?:ml?)?)?|[^ \t\r\n<>\/?!]*)$/;
// Longer tails cannot be a header's name (names are bounded by the parser).
const MAX_HELD = 2048;
const EMPTY = new Uint8Array(0);
const LF = 0x0a, CR = 0x0d, LT = 0x3c, COLON = 0x3a;
const NON_ASCII = /[\x80-\xff]/;

/** Where the run of white space that ends at `to` starts (not before `from`). */
function spaceBefore(data: Uint8Array, from: number, to: number): number {
  let i = to;
  while (i > from) {
    const b = data[i - 1];
    if (b !== 0x20 && b !== 0x09 && b !== CR && b !== LF) break;
    i--;
  }
  return i;
}

/** Whether a code unit ends a name: white space, `>`, `/`. */
function endsName(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === CR || c === LF || c === 0x3e ||
    c === 0x2f;
}

/** Whether a code unit may be in a prefix. */
function inPrefix(c: number): boolean {
  return !endsName(c) && c !== LT && c !== COLON && c !== 0x3f && c !== 0x21;
}

/**
 * Where a stream header (or the XML declaration before one) may start in
 * `text` (bytes read as Latin-1, one character per byte): an XML
 * declaration, or a start tag whose local name is `stream`, any prefix.
 * Found with native searches, so that most chunks cost two `indexOf`s.
 */
function candidates(text: string): number[] {
  const found: number[] = [];
  for (
    let i = text.indexOf("<?xml");
    i >= 0;
    i = text.indexOf("<?xml", i + 1)
  ) {
    const c = text.charCodeAt(i + 5);
    if (c === 0x20 || c === 0x09 || c === CR || c === LF) found.push(i);
  }
  const declarations = found.length;
  for (
    let j = text.indexOf("stream");
    j >= 0;
    j = text.indexOf("stream", j + 1)
  ) {
    if (!endsName(text.charCodeAt(j + 6))) continue;
    const before = text.charCodeAt(j - 1);
    if (before === LT) found.push(j - 1);
    else if (before === COLON) {
      let k = j - 2;
      while (k >= 0 && j - k < MAX_HELD && inPrefix(text.charCodeAt(k))) k--;
      if (k >= 0 && k < j - 2 && text.charCodeAt(k) === LT) found.push(k);
    }
  }
  return declarations > 0 && found.length > declarations
    ? found.sort((x, y) => x - y)
    : found;
}

/** One direction of a recording: the parser of the current stream, restarted where a header begins. */
class RecordingReader {
  readonly #options: RecordingOptions;
  readonly #latin1 = new TextDecoder("latin1");
  readonly #sink = new RecordingSink();
  #parser: XmlParser;
  #held: Uint8Array = EMPTY; // a chunk's tail that may start a header
  #fed = 0; // bytes written to the current parser
  // Where the current parser's input starts in the whole input.
  #base = { offset: 0, line: 1, column: 1 };
  // Position of the end of what was written, in the whole input.
  #written = { offset: 0, line: 1, column: 1, cr: false };
  /** Whether any input came. */
  started = false;

  constructor(options: RecordingOptions) {
    this.#options = options;
    this.#parser = this.#newParser();
    if (options.headerless) {
      const ns = escapeAttribute(options.ns ?? CLIENT_NS);
      const open = new TextEncoder().encode(
        `<stream:stream xmlns='${ns}' xmlns:stream='${STREAMS_NS}'>`,
      );
      this.#sink.hidden = true;
      this.#parser.write(open);
      this.#fed = open.length;
      this.#base = { offset: -open.length, line: 1, column: 1 - open.length };
    }
  }

  #newParser(): XmlParser {
    const { headerless: _h, ns: _n, ...limits } = this.#options;
    this.#sink.header = false;
    return new XmlParser(this.#sink, { ...limits, tree: true });
  }

  take(): StreamFrame[] {
    return this.#sink.take();
  }

  write(chunk: Uint8Array): StreamFrame[] {
    this.started = true;
    let data = chunk;
    if (this.#held.length > 0) {
      data = new Uint8Array(this.#held.length + chunk.length);
      data.set(this.#held);
      data.set(chunk, this.#held.length);
      this.#held = EMPTY;
    }
    const text = this.#latin1.decode(data);
    let cursor = 0;
    for (const at of candidates(text)) {
      // A CR the parser has read waits for a possible LF, so the parser is
      // asked before the white space that precedes the candidate (held
      // with what follows it at the end of a chunk, see below).
      const space = spaceBefore(data, cursor, at);
      this.#feed(data.subarray(cursor, space), text.slice(cursor, space));
      const between = this.#sink.header && !this.#parser.midUnit;
      this.#feed(data.subarray(space, at), text.slice(space, at));
      cursor = at;
      if (between) this.#restart();
    }
    const lt = text.lastIndexOf("<");
    let hold = lt >= cursor && text.length - lt <= MAX_HELD &&
        PARTIAL.test(text.slice(lt))
      ? lt
      : text.length;
    const space = spaceBefore(data, cursor, hold);
    if (hold - space <= MAX_HELD) hold = space;
    this.#feed(data.subarray(cursor, hold), text.slice(cursor, hold));
    if (hold < data.length) this.#held = data.slice(hold);
    return this.#sink.take();
  }

  end(): StreamFrame[] {
    this.#feed(this.#held, this.#latin1.decode(this.#held));
    this.#held = EMPTY;
    // A recording may stop between two frames of an open stream; anything
    // cut short (a stanza, a character) is an error, as is no stream.
    const parser = this.#parser;
    const between = this.#sink.header && !parser.closed && !parser.midUnit &&
      parser.bytesRead === this.#fed;
    if (!between) this.#guard(() => parser.end());
    return this.#sink.take();
  }

  /** A new stream starts here: a fresh parser, positions from here. */
  #restart(): void {
    this.#parser = this.#newParser();
    this.#fed = 0;
    this.#sink.hidden = false;
    const { offset, line, column } = this.#written;
    this.#base = { offset, line, column };
  }

  /** Writes `bytes` (`text`: the same read as Latin-1) to the parser. */
  #feed(bytes: Uint8Array, text: string): void {
    if (bytes.length === 0) return;
    this.#guard(() => this.#parser.write(bytes));
    this.#fed += bytes.length;
    this.#advance(bytes, text);
  }

  /** Runs a parser step, with error positions made those of the whole input. */
  #guard(step: () => void): void {
    try {
      step();
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
      const base = this.#base;
      const message = error.message.replace(
        / \(line \d+, column \d+, byte -?\d+\)$/,
        "",
      );
      throw new XmlError(error.condition, message, {
        line: error.line + base.line - 1,
        column: error.line === 1
          ? error.column + base.column - 1
          : error.column,
        offset: error.offset < 0 ? error.offset : error.offset + base.offset,
      });
    }
  }

  /**
   * Moves the end of what was written past `bytes`: lines end at LF, CRLF
   * and a lone CR; columns count UTF-16 code units, as the parser's do.
   */
  #advance(bytes: Uint8Array, text: string): void {
    const at = this.#written;
    at.offset += bytes.length;
    let last = -1; // the last line end
    for (let i = text.indexOf("\r"); i >= 0; i = text.indexOf("\r", i + 1)) {
      at.line++;
      last = i;
    }
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) {
      const afterCr = i > 0 ? text.charCodeAt(i - 1) === CR : at.cr;
      if (!afterCr) at.line++;
      if (i > last) last = i;
    }
    if (last >= 0) at.column = 1;
    const line = text.slice(last + 1);
    if (!NON_ASCII.test(line)) at.column += line.length;
    else {
      for (let i = 0; i < line.length; i++) {
        const b = line.charCodeAt(i);
        if ((b & 0xc0) !== 0x80) at.column += b >= 0xf0 ? 2 : 1;
      }
    }
    at.cr = text.charCodeAt(text.length - 1) === CR;
  }
}

/** Collects the frames of tree-mode sink calls. */
class RecordingSink implements XmlSink {
  out: StreamFrame[] = [];
  /** Whether the current parser reported its header. */
  header = false;
  /** Whether the header is kept back (the made-up one of a headerless log). */
  hidden = false;

  take(): StreamFrame[] {
    const out = this.out;
    this.out = [];
    return out;
  }

  open(element: Element, declaration: XmlDeclaration | undefined): void {
    this.header = true;
    if (!this.hidden) this.out.push({ type: "header", element, declaration });
  }

  start(): void {}

  text(): void {} // in stream mode, the parser lets only white space here

  end(element: Element): void {
    this.out.push({ type: "element", element });
  }

  close(): void {
    this.out.push({ type: "close" });
  }
}
