/**
 * Stream framing: parse events (or bytes, on the fast path) to stream frames.
 *
 * @module
 */

import { defer, filter, map } from "rxjs";
import { Element } from "./element.ts";
import { appendText } from "./_text.ts";
import type { Operator } from "./operator.ts";
import { XmlError } from "./errors.ts";
import type { StreamFrame, XmlDeclaration, XmlEvent } from "./events.ts";
import {
  Collector,
  type ParseOptions,
  parseWith,
  xmlOrigin,
} from "./parse_xml.ts";
import type { XmlSink } from "./sink.ts";

const SPACE_ONLY = /^[ \t\r\n]*$/;

/**
 * Groups parse events into {@linkcode StreamFrame}s: the header, each
 * complete depth-1 element with its subtree, and the close. White space
 * directly inside the root is dropped; other text there is an `XmlError`
 * with condition `bad-format` (its position is unknown: line and column 0,
 * offset -1). The elements of the events are copied, not changed.
 *
 * Applied directly to what `parseXml(options)` returned, it reads the bytes
 * itself as `parseFrames(options)` does, without event objects: same frames,
 * errors and limits, the same subscription to the bytes. With any operator
 * in between, it reads the events that operator gives.
 *
 * @returns An operator from parse events to frames.
 *
 * @example Framing a stream from its events
 * ```ts
 * import { frames, parseXml } from "@xmpp-e2e/streams/xml";
 * import { from, lastValueFrom, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
 *     "<message><body>hi</body></message></stream:stream>",
 * );
 * const result = await lastValueFrom(from([bytes]).pipe(parseXml(), frames(), toArray()));
 * assert.deepEqual(result.map((f) => f.type), ["header", "element", "close"]);
 * ```
 */
export function frames(): Operator<XmlEvent, StreamFrame> {
  return (source) => {
    const origin = xmlOrigin(source);
    if (origin !== undefined) return parseFrames(origin.options)(origin.source);
    return defer(() => {
      const open: Element[] = [];
      return source.pipe(
        map((event) => frameOf(event, open)),
        filter((frame): frame is StreamFrame => frame !== undefined),
      );
    });
  };
}

/** The frame that `event` completes, if any; `open` holds the elements being built. */
function frameOf(event: XmlEvent, open: Element[]): StreamFrame | undefined {
  switch (event.type) {
    case "streamOpen":
      return {
        type: "header",
        element: event.element,
        declaration: event.declaration,
      };
    case "start": {
      const { name, ns, attrs } = event.element;
      const element = new Element(name, ns, attrs, []);
      open[open.length - 1]?.children.push(element);
      open.push(element);
      return undefined;
    }
    case "text": {
      const parent = open[open.length - 1];
      if (parent !== undefined) appendText(parent.children, event.text);
      else if (!SPACE_ONLY.test(event.text)) throw textInStream();
      return undefined;
    }
    case "end": {
      const element = open.pop();
      return open.length === 0 && element !== undefined
        ? { type: "element", element }
        : undefined;
    }
    case "streamClose":
      return { type: "close" };
  }
}

/**
 * The fast path from bytes to {@linkcode StreamFrame}s: the tokenizer builds
 * each depth-1 element directly, without an event object per token. Same
 * output as `parseXml(options)` followed by `frames()`.
 *
 * @param options Limits and mode.
 * @returns An operator from byte chunks to frames.
 *
 * @example Reading stanzas from bytes
 * ```ts
 * import { parseFrames } from "@xmpp-e2e/streams/xml";
 * import { filter, from, lastValueFrom, map, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
 *     "<message to='juliet@pronto'><body>Art thou not Romeo?</body></message>" +
 *     "</stream:stream>",
 * );
 * const bodies = await lastValueFrom(
 *   from([bytes.subarray(0, 100), bytes.subarray(100)]).pipe(
 *     parseFrames(),
 *     filter((f) => f.type === "element"),
 *     map((f) => f.element.getChildText("body")),
 *     toArray(),
 *   ),
 * );
 * assert.deepEqual(bodies, ["Art thou not Romeo?"]);
 * ```
 */
export function parseFrames(
  options: ParseOptions = {},
): Operator<Uint8Array, StreamFrame> {
  const stream = options.stream ?? true;
  return parseWith(() => new FrameSink(stream), { ...options, tree: true });
}

function textInStream(): XmlError {
  return new XmlError(
    "bad-format",
    "Cannot frame stream: text directly inside the stream element",
    { line: 0, column: 0, offset: -1 },
  );
}

/** Turns tree-mode sink calls into frames. */
class FrameSink extends Collector<StreamFrame> implements XmlSink {
  /** Whether the parser is in stream mode, and refuses such text itself. */
  readonly #stream: boolean;

  constructor(stream: boolean) {
    super();
    this.#stream = stream;
  }

  open(element: Element, declaration: XmlDeclaration | undefined): void {
    this.out.push({ type: "header", element, declaration });
  }

  start(): void {}

  text(text: string): void {
    // In stream mode only white space reaches here (the parser refused
    // anything else, with its position); it separates frames.
    if (!this.#stream && !SPACE_ONLY.test(text)) throw textInStream();
  }

  end(element: Element): void {
    this.out.push({ type: "element", element });
  }

  close(): void {
    this.out.push({ type: "close" });
  }
}
