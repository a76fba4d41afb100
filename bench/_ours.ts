/**
 * Our parser, wrapped as {@linkcode Runner}s: `XmlParser` in tree mode with a
 * plain sink, and the RxJS `parseFrames()` operator over the same bytes.
 * Both run with every check on and the default limits.
 *
 * @module
 */

import { from } from "rxjs";
import { XmlParser } from "../src/xml/parser.ts";
import { frames, parseFrames } from "../src/xml/frames.ts";
import { parseXml } from "../src/xml/parse_xml.ts";
import type { XmlSink } from "../src/xml/sink.ts";
import type { Element } from "../src/xml/element.ts";
import type { Runner } from "./_peers.ts";

/** A sink that counts complete stanzas and drops them. */
export class CountingSink implements XmlSink {
  /** Complete depth-1 elements seen. */
  stanzas = 0;
  /** Whether the root end tag was seen. */
  closed = false;
  /** Ignores the header. */
  open(): void {}
  /** Not called in tree mode. */
  start(): void {}
  /** Ignores text between stanzas. */
  text(): void {}
  /**
   * Counts a stanza.
   *
   * @param _element The stanza.
   * @param depth Its depth (1 for a stanza).
   */
  end(_element: Element, depth: number): void {
    if (depth === 1) this.stanzas++;
  }
  /** Records the close. */
  close(): void {
    this.closed = true;
  }
}

/** `XmlParser` in tree mode: one complete Element per stanza. */
export const oursParser: Runner = {
  name: "ours: XmlParser {tree}",
  output:
    "stanza trees, namespaces resolved, restricted XML and limits checked",
  run(chunks) {
    const sink = new CountingSink();
    const parser = new XmlParser(sink, { tree: true });
    for (const chunk of chunks) parser.write(chunk);
    parser.end();
    return sink.stanzas;
  },
};

/** The `parseFrames()` operator: bytes in, StreamFrames out. */
export const oursFrames: Runner = {
  name: "ours: parseFrames() (RxJS)",
  output: "StreamFrames (header, stanza Element, close) through RxJS",
  run(chunks) {
    let stanzas = 0;
    let failure: unknown;
    from(chunks).pipe(parseFrames()).subscribe({
      next: (frame) => {
        if (frame.type === "element") stanzas++;
      },
      error: (error: unknown) => failure = error,
    });
    if (failure !== undefined) throw failure;
    return stanzas;
  },
};

/**
 * `parseXml()` piped into `frames()`: the two-operator composition (bytes,
 * then parse events, then frames), the same StreamFrames out.
 */
export const oursPiped: Runner = {
  name: "ours: parseXml() + frames() (RxJS)",
  output: "StreamFrames through the two operators piped",
  run(chunks) {
    let stanzas = 0;
    let failure: unknown;
    from(chunks).pipe(parseXml(), frames()).subscribe({
      next: (frame) => {
        if (frame.type === "element") stanzas++;
      },
      error: (error: unknown) => failure = error,
    });
    if (failure !== undefined) throw failure;
    return stanzas;
  },
};

/** All of ours, in table order. */
export const OURS: readonly Runner[] = [oursParser, oursFrames, oursPiped];
