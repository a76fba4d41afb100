// The stream a node:tls TLSSocket runs over in the node:tls channel: the
// ciphertext the connection delivers goes in through push(), and what
// node:tls writes goes out to the connection, one write at a time.
//
// Deno's node:tls wraps any stream that is not a node:net socket in a
// JSStreamSocket, which uses only a little of a Duplex: pause() and
// resume(), "data", "end", "error" and "close" listeners (on(), once(),
// removeListener()), write() with a callback, end() with one, and
// destroy() (Deno 2.9.6's internal/js_stream_socket.js). A Duplex, or an
// EventEmitter, brings its readable and writable state, buffers, listener
// table and once-wrappers to every connection for that; this is the little
// that is used, and an idle stream holds nothing more.

import { nextTick } from "node:process";
import { type ByteConn, writeAll } from "./_conn.ts";
import { freeNow } from "./_free_now.ts";

/** What a {@linkcode CipherStream} writes to: the connection. */
export type CipherConn = Pick<ByteConn, "write" | "closeWrite">;

// deno-lint-ignore no-explicit-any
type Listener = (this: CipherStream, ...args: any[]) => void;

function noop(): void {}

const RESOLVED = Promise.resolve();

function toBytes(chunk: Uint8Array | string): Uint8Array {
  return typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
}

/**
 * A byte stream between node:tls and a connection, shaped like the part of
 * a Duplex that node:tls uses. Chunks pushed while it is paused wait in it,
 * in order, until it is resumed; the end of the input comes after them.
 */
export class CipherStream {
  /** What node:tls copies onto its socket: the two directions end apart. */
  readonly allowHalfOpen = true;
  readable = true;
  writable = true;
  readonly #conn: CipherConn;
  // Event, listener, once: three entries per listener.
  #listeners: (string | Listener | boolean)[] = [];
  #paused = false;
  #queue: Uint8Array[] | undefined; // what waits while paused
  #inputEnded = false;
  #endEmitted = false;
  #destroyed = false;
  #writes: Promise<void> = RESOLVED; // the last one, settled

  /** @param conn Where what node:tls writes goes. */
  constructor(conn: CipherConn) {
    this.#conn = conn;
  }

  /**
   * Chunks waiting for node:tls to read again (0 while it flows). Not
   * `readableLength`: node:tls would then read them with `read()`.
   */
  get waiting(): number {
    return this.#queue?.length ?? 0;
  }

  /** Resolves once every write so far is done (or failed). */
  get written(): Promise<void> {
    return this.#writes;
  }

  /** Calls `listener` on every `event`. */
  on(event: string, listener: Listener): this {
    return this.#listen(event, listener, false);
  }

  /** Calls `listener` on the next `event` only. */
  once(event: string, listener: Listener): this {
    return this.#listen(event, listener, true);
  }

  #listen(event: string, listener: Listener, once: boolean): this {
    // A copy in no more room than it takes, for the connection's lifetime
    // (pushes would grow it to 17 entries, then 41).
    this.#listeners = [...this.#listeners, event, listener, once];
    return this;
  }

  /** Stops calling `listener` on `event` (its latest registration). */
  removeListener(event: string, listener: Listener): this {
    const list = this.#listeners;
    for (let i = list.length - 3; i >= 0; i -= 3) {
      if (list[i] === event && list[i + 1] === listener) {
        list.splice(i, 3);
        break;
      }
    }
    return this;
  }

  /** The same as {@linkcode removeListener}. */
  off(event: string, listener: Listener): this {
    return this.removeListener(event, listener);
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
    if (this.#paused || this.#queue !== undefined) {
      (this.#queue ??= []).push(chunk);
      return false;
    }
    this.#emit("data", chunk);
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
   * Writes `chunk` to the connection after the writes before it, then frees
   * it: what node:tls writes is ciphertext made for that write, which nothing
   * reads again (see `freeNow()`; a chunk that is a view of a larger buffer
   * is left alone).
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
    const bytes = toBytes(chunk);
    const written = this.#writes.then(() => writeAll(this.#conn, bytes));
    this.#track(written);
    // Ciphertext node:tls made for this write alone, once in the system's
    // hands (or lost with the connection): freed at once, not at the next
    // collection (a view of a larger buffer is left alone).
    written.then(() => {
      freeNow(bytes);
      callback();
    }, (error: Error) => {
      freeNow(bytes);
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
    const ended = this.#writes.then(() => this.#conn.closeWrite());
    this.#track(ended);
    ended.then(callback, callback);
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
    this.#queue = undefined;
    nextTick(() => {
      if (error !== undefined && this.#listeners.includes("error")) {
        this.#emit("error", error);
      }
      this.#emit("close");
    });
    return this;
  }

  // The last write, until it is settled and no other came after it.
  #track(write: Promise<void>): void {
    const settled = write.then(noop, noop);
    this.#writes = settled;
    settled.then(() => {
      if (this.#writes === settled) this.#writes = RESOLVED;
    });
  }

  #emit(event: string, arg?: unknown): void {
    const list = this.#listeners;
    let first: Listener | undefined;
    let more: Listener[] | undefined;
    for (let i = 0; i < list.length;) {
      if (list[i] !== event) {
        i += 3;
        continue;
      }
      const listener = list[i + 1] as Listener;
      if (list[i + 2] === true) list.splice(i, 3);
      else i += 3;
      if (first === undefined) first = listener;
      else (more ??= []).push(listener);
    }
    first?.call(this, arg);
    if (more !== undefined) {
      for (const listener of more) listener.call(this, arg);
    }
  }

  #flow(): void {
    while (!this.#paused && !this.#destroyed && this.#queue !== undefined) {
      const chunk = this.#queue.shift();
      if (this.#queue.length === 0) this.#queue = undefined;
      if (chunk !== undefined) this.#emit("data", chunk);
    }
    this.#maybeEnd();
  }

  #maybeEnd(): void {
    if (
      !this.#inputEnded || this.#endEmitted || this.#paused ||
      this.#queue !== undefined
    ) return;
    this.#endEmitted = true;
    this.readable = false;
    nextTick(() => {
      if (!this.#destroyed) this.#emit("end");
    });
  }
}
