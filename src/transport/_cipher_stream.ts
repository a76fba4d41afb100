// The stream a node:tls TLSSocket runs over in the node:tls channel: the
// ciphertext the connection delivers goes in through push(), and what
// node:tls writes goes out to the connection, one write at a time.
//
// Deno's node:tls wraps any stream that is not a node:net socket in a
// JSStreamSocket, which uses only a little of a Duplex: pause() and
// resume(), "data", "end", "error" and "close", write() with a callback,
// end() with one, and destroy(). A Duplex brings its readable and writable
// state and their buffers to every connection for that; this is the little
// that is used, and nothing is held in it while it flows.

import { EventEmitter } from "node:events";
import { nextTick } from "node:process";

/** Where a {@linkcode CipherStream} writes: the connection. */
export interface CipherSink {
  /** Writes all of `bytes`; resolves once the connection took them. */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes the connection for writing, once every write is done. */
  end(): Promise<void>;
}

function noop(): void {}

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
}

/**
 * A byte stream between node:tls and a connection, shaped like the part of
 * a Duplex that node:tls uses. Chunks pushed while it is paused wait in it,
 * in order, until it is resumed; the end of the input comes after them.
 */
export class CipherStream extends EventEmitter {
  /** What node:tls copies onto its socket: the two directions end apart. */
  readonly allowHalfOpen = true;
  readable = true;
  writable = true;
  readonly #sink: CipherSink;
  #paused = false;
  #queue: Uint8Array[] = [];
  #inputEnded = false;
  #endEmitted = false;
  #destroyed = false;
  #writes: Promise<void> = Promise.resolve(); // the last one, settled

  /** @param sink Where what node:tls writes goes. */
  constructor(sink: CipherSink) {
    super();
    this.#sink = sink;
  }

  /**
   * Chunks waiting for node:tls to read again (0 while it flows). Not
   * `readableLength`: node:tls would then read them with `read()`.
   */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Resolves once every write so far is done (or failed). */
  get written(): Promise<void> {
    return this.#writes;
  }

  /**
   * Hands node:tls the next chunk of input, or its end (null): at once
   * while it reads, else once it reads again.
   *
   * @returns Whether node:tls took the chunk at once (it holds no view of
   *   it: node:tls copies what it is given).
   */
  push(chunk: Uint8Array | null): boolean {
    if (this.#destroyed) return true;
    if (chunk === null) {
      this.#inputEnded = true;
      this.#maybeEnd();
      return true;
    }
    if (this.#paused || this.#queue.length > 0) {
      this.#queue.push(chunk);
      return false;
    }
    this.emit("data", chunk);
    return true;
  }

  /** Stops "data" events; what is pushed meanwhile waits. */
  pause(): this {
    this.#paused = true;
    return this;
  }

  /** "data" events again, from the next tick, the waiting chunks first. */
  resume(): this {
    if (!this.#paused) return this;
    this.#paused = false;
    nextTick(() => this.#flow());
    return this;
  }

  cork(): void {}

  uncork(): void {}

  /**
   * Writes `chunk` to the connection after the writes before it.
   *
   * @param callback Called once the connection took it, or with the error.
   * @returns Always true: nothing here asks node:tls to wait.
   */
  write(
    chunk: Uint8Array | string,
    callback: (error?: Error | null) => void = noop,
  ): boolean {
    if (this.#destroyed || !this.writable) {
      nextTick(callback, new Error("Cannot write: the stream is closed"));
      return true;
    }
    const written = this.#writes.then(() => this.#sink.write(toBytes(chunk)));
    this.#writes = written.catch(noop);
    written.then(() => callback(), (error: Error) => {
      callback(error);
      this.destroy(error);
    });
    return true;
  }

  /**
   * Closes the connection for writing once the writes so far are done.
   *
   * @param callback Called then (a failure to close is not told).
   */
  end(callback: () => void = noop): this {
    if (!this.writable) {
      nextTick(callback);
      return this;
    }
    this.writable = false;
    const ended = this.#writes.then(() => this.#sink.end());
    this.#writes = ended.catch(noop);
    this.#writes.then(callback);
    return this;
  }

  /**
   * Drops what waits and, on the next tick, emits "error" (if `error` is
   * given and anyone listens) and "close". Idempotent.
   */
  destroy(error?: Error): this {
    if (this.#destroyed) return this;
    this.#destroyed = true;
    this.readable = false;
    this.writable = false;
    this.#queue = [];
    nextTick(() => {
      if (error !== undefined && this.listenerCount("error") > 0) {
        this.emit("error", error);
      }
      this.emit("close");
    });
    return this;
  }

  #flow(): void {
    while (!this.#paused && !this.#destroyed && this.#queue.length > 0) {
      this.emit("data", this.#queue.shift()!);
    }
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (
      !this.#inputEnded || this.#endEmitted || this.#paused ||
      this.#queue.length > 0
    ) return;
    this.#endEmitted = true;
    this.readable = false;
    nextTick(() => {
      if (!this.#destroyed) this.emit("end");
    });
  }
}
