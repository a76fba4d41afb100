/**
 * Pull-based stream frames over a raw Deno connection, with the project's
 * {@linkcode XmlParser} in tree mode. Each `next()` reads only until a frame
 * is complete, so after a frame (such as `<proceed/>`) no read is pending and
 * the connection can be handed to `Deno.startTls`.
 *
 * @module
 */

import type { Element } from "../../src/xml/element.ts";
import { XmlParser } from "../../src/xml/parser.ts";
import type { XmlSink } from "../../src/xml/sink.ts";

/** A frame read from a stream: its header, a depth-1 element, or its close. */
export type Frame =
  | { type: "header"; element: Element }
  | { type: "element"; element: Element }
  | { type: "close" };

/** Reads frames of one stream (a stream restart needs a new reader). */
export class FrameReader {
  readonly #conn: Deno.Conn;
  readonly #queue: Frame[] = [];
  readonly #parser: XmlParser;
  readonly #buf = new Uint8Array(16 * 1024);
  /** Everything received, as text, for failure messages. */
  received = "";

  /**
   * Makes a reader.
   *
   * @param conn The connection (plain or TLS) to read from.
   */
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    const queue = this.#queue;
    const sink: XmlSink = {
      open(element) {
        queue.push({ type: "header", element });
      },
      start() {},
      text() {},
      end(element, depth) {
        if (depth === 1) queue.push({ type: "element", element });
      },
      close() {
        queue.push({ type: "close" });
      },
    };
    this.#parser = new XmlParser(sink, { tree: true });
  }

  /**
   * The next frame; reads from the connection only while none is queued.
   *
   * @param timeoutMs How long to wait for it.
   * @returns The frame.
   * @throws {Error} On end of input or timeout.
   */
  async next(timeoutMs = 5_000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    const decoder = new TextDecoder();
    for (;;) {
      const frame = this.#queue.shift();
      if (frame !== undefined) return frame;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(
          () => resolve("timeout"),
          Math.max(0, deadline - Date.now()),
        );
      });
      const read = this.#conn.read(this.#buf);
      const n = await Promise.race([read, timeout]);
      clearTimeout(timer);
      if (n === "timeout") {
        // The read stays pending: the caller must close the connection.
        throw new Error(`No frame in ${timeoutMs} ms; got: ${this.received}`);
      }
      if (n === null) {
        throw new Error(`Connection ended; got: ${this.received}`);
      }
      const chunk = this.#buf.subarray(0, n);
      this.received += decoder.decode(chunk);
      this.#parser.write(chunk);
    }
  }

  /**
   * The next frame, which must be an element.
   *
   * @returns The element.
   * @throws {Error} When the frame is a header or a close.
   */
  async element(): Promise<Element> {
    const frame = await this.next();
    if (frame.type !== "element") {
      throw new Error(`Expected an element, got ${frame.type}`);
    }
    return frame.element;
  }

  /**
   * The next frame, which must be the header.
   *
   * @returns The root element.
   * @throws {Error} When the frame is anything else.
   */
  async header(): Promise<Element> {
    const frame = await this.next();
    if (frame.type !== "header") {
      throw new Error(`Expected the stream header, got ${frame.type}`);
    }
    return frame.element;
  }
}

/**
 * Writes all of `text` as UTF-8.
 *
 * @param conn The connection.
 * @param text What to send.
 */
export async function send(conn: Deno.Conn, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let done = 0; done < bytes.length;) {
    done += await conn.write(bytes.subarray(done));
  }
}
