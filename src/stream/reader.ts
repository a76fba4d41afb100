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
 * queued. `reset()` drops the parser and every frame still queued from the
 * last chunk: after `<proceed/>` (or `<starttls/>`), whatever came in the same
 * chunk is plaintext that must never be read as if it had been encrypted.
 */
export class FrameReader {
  readonly #transport: Transport;
  readonly #limits: Partial<ParserLimits>;
  #parser: XmlParser;
  #sink: QueueSink;
  #error: unknown;
  #ended = false;

  /**
   * Makes a reader.
   *
   * @param transport Where the bytes come from.
   * @param limits Parser limits.
   * @param onBytes Called with every chunk read (for the trace).
   */
  constructor(
    transport: Transport,
    limits: Partial<ParserLimits>,
    readonly onBytes?: (chunk: Uint8Array) => void,
  ) {
    this.#transport = transport;
    this.#limits = limits;
    this.#sink = new QueueSink();
    this.#parser = new XmlParser(this.#sink, { ...limits, tree: true });
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
      const frame = this.#sink.queue.shift();
      if (frame !== undefined) return frame;
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended) return null;
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
    }
  }

  /** Starts a new stream: a fresh parser, nothing queued. */
  reset(): void {
    this.#sink = new QueueSink();
    this.#parser = new XmlParser(this.#sink, { ...this.#limits, tree: true });
    this.#error = undefined;
  }

  /** Frames already read and not yet taken. */
  get queued(): number {
    return this.#sink.queue.length;
  }
}

class QueueSink implements XmlSink {
  readonly queue: StreamFrame[] = [];

  open(element: Element, declaration: XmlDeclaration | undefined): void {
    this.queue.push({ type: "header", element, declaration });
  }

  start(): void {}

  text(): void {}

  end(element: Element): void {
    this.queue.push({ type: "element", element });
  }

  close(): void {
    this.queue.push({ type: "close" });
  }
}
