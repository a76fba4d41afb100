/**
 * Reads stream frames from a transport, one chunk at a time, so that the
 * stream can stop reading exactly where TLS starts and restart with a fresh
 * parser.
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import type { StreamFrame, XmlDeclaration } from "../xml/events.ts";
import type { ParserLimits } from "../xml/limits.ts";
import { XmlParser } from "../xml/parser.ts";
import type { XmlSink } from "../xml/sink.ts";
import type { Transport } from "../transport/transport.ts";

/**
 * Pulls chunks from a transport only when asked for a frame and none is
 * waiting, and parses one frame at a time: the parser pauses after each
 * frame, so nothing after it is read until it is asked for. Between two
 * frames the limits can change (`setLimits()`), and `reset()` drops the
 * parser with whatever input it still holds: after `<proceed/>` (or
 * `<starttls/>`), whatever came in the same chunk is plaintext that must
 * never be read as if it had been encrypted.
 */
export class FrameReader {
  readonly #transport: Transport;
  #limits: Partial<ParserLimits>;
  #parser: XmlParser;
  #sink: QueueSink;
  #error: unknown;
  #ended = false;
  #midUnit = false;

  /**
   * Makes a reader.
   *
   * @param transport Where the bytes come from.
   * @param limits Parser limits.
   * @param onBytes Called with every chunk read (for the trace).
   * @param onProgress Called after each chunk is parsed and after each
   *   frame, with whether a unit (a stanza, the header) is then partly read:
   *   `false` after a frame or white space, `true` while a stanza arrives.
   */
  constructor(
    transport: Transport,
    limits: Partial<ParserLimits>,
    readonly onBytes?: (chunk: Uint8Array) => void,
    readonly onProgress?: (midUnit: boolean) => void,
  ) {
    this.#transport = transport;
    this.#limits = limits;
    this.#sink = new QueueSink();
    this.#parser = this.#newParser();
  }

  #newParser(): XmlParser {
    const parser = new XmlParser(this.#sink, { ...this.#limits, tree: true });
    this.#sink.parser = parser;
    return parser;
  }

  /**
   * Changes the parser limits from the next frame on, for this stream and
   * the ones after a restart.
   *
   * @param limits The limits.
   */
  setLimits(limits: Partial<ParserLimits>): void {
    this.#limits = limits;
    this.#parser.setLimits(limits);
  }

  /**
   * The next frame.
   *
   * @returns The frame, or `null` when the transport ended.
   * @throws {XmlError} On bad input, after the frames that preceded it.
   * @throws {TransportError} When reading fails.
   */
  async next(): Promise<StreamFrame | null> {
    for (;;) {
      const frame = this.ready();
      if (frame !== undefined) return frame;
      const chunk = await this.#transport.read();
      if (chunk === null) {
        this.#ended = true;
        continue;
      }
      this.onBytes?.(chunk);
      try {
        this.#parser.write(chunk);
      } catch (error) {
        this.#error = error;
      }
      // The parser decoded it (its string is what it reads from now on):
      // the transport may fill the chunk again, or free it at once.
      this.#transport.release?.(chunk);
      if (this.#sink.queue.length === 0) {
        this.#progress(this.#parser.midUnit);
      }
    }
  }

  /**
   * The next frame when it needs no read: one the parser holds already (it
   * is resumed to find it), or `null` once the transport ended. So a loop
   * can take the frames of a chunk without a promise per frame, and await
   * {@linkcode FrameReader.next} only when the input ran out.
   *
   * @returns The frame, `null` at the end, or `undefined` when the next
   *   frame needs a read.
   * @throws {XmlError} On bad input, after the frames that preceded it.
   */
  ready(): StreamFrame | null | undefined {
    for (;;) {
      const frame = this.#sink.queue.shift();
      if (frame !== undefined) {
        this.#progress(false);
        return frame;
      }
      if (this.#error !== undefined) throw this.#error;
      if (!this.#parser.paused) return this.#ended ? null : undefined;
      try {
        this.#parser.resume();
      } catch (error) {
        this.#error = error;
      }
    }
  }

  /**
   * The size in bytes of the last element frame returned (see
   * `XmlParser.lastUnitSize`): what keeping it costs.
   *
   * @returns The size.
   */
  get lastSize(): number {
    return this.#sink.lastSize;
  }

  /**
   * Whether a unit (a stanza, the header) is partly read.
   *
   * @returns `true` while one arrives.
   */
  get midUnit(): boolean {
    return this.#midUnit;
  }

  #progress(midUnit: boolean): void {
    this.#midUnit = midUnit;
    this.onProgress?.(midUnit);
  }

  /** Starts a new stream: a fresh parser, nothing queued. */
  reset(): void {
    this.#sink = new QueueSink();
    this.#parser = this.#newParser();
    this.#error = undefined;
  }
}

/** Queues each frame and pauses the parser after it. */
class QueueSink implements XmlSink {
  readonly queue: StreamFrame[] = [];
  lastSize = 0;
  parser: XmlParser | undefined;

  open(element: Element, declaration: XmlDeclaration | undefined): void {
    this.#push({ type: "header", element, declaration });
  }

  start(): void {}

  text(): void {}

  end(element: Element): void {
    this.lastSize = this.parser!.lastUnitSize;
    this.#push({ type: "element", element });
  }

  close(): void {
    this.#push({ type: "close" });
  }

  #push(frame: StreamFrame): void {
    this.queue.push(frame);
    this.parser!.pause();
  }
}
