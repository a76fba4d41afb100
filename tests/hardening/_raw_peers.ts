// Raw peers for the man-in-the-middle and fault tests: sockets driven byte
// by byte by the test, so that each test decides exactly what crosses the
// wire, in which segment, and when the peer disappears.
//
// - `DenoClient`: a raw initiator over `Deno.connect`, upgraded with
//   `Deno.startTls`.
// - `NodePeer` and `nodeServer()`: a raw recipient over `node:net`, upgraded
//   in place with a server-side `node:tls` `TLSSocket` (as
//   `src/transport/_node_socket.ts` does).
// - `mitmProxy()`: a TCP proxy that forwards bytes both ways, records them,
//   and may rewrite the recipient's first `<stream:features/>`.

import assert from "node:assert/strict";
import { within as withinMs } from "../transport/_helpers.ts";
import * as net from "node:net";
import * as tls from "node:tls";
import type { Buffer } from "node:buffer";

const encoder = new TextEncoder();

/** The STARTTLS namespace. */
export const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";
/** The SASL namespace. */
export const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

/** An initiator's header to `pronto`. */
export const CLIENT_HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client'" +
  " xmlns:stream='http://etherx.jabber.org/streams' from='romeo@forza'" +
  " to='juliet@pronto' version='1.0'>";

/** A recipient's header, as `juliet@pronto`. */
export const SERVER_HEADER =
  "<?xml version='1.0'?><stream:stream xmlns='jabber:client'" +
  " xmlns:stream='http://etherx.jabber.org/streams' from='juliet@pronto'" +
  " to='romeo@forza' id='s1' version='1.0'>";

/** `<stream:features/>` offering STARTTLS, required. */
export const STARTTLS_FEATURES =
  `<stream:features><starttls xmlns='${TLS_NS}'><required/></starttls>` +
  "</stream:features>";

/** Base64 of UTF-8 text. */
export function base64(text: string): string {
  return btoa(String.fromCharCode(...encoder.encode(text)));
}

/** Text of base64 (UTF-8). */
export function unbase64(text: string): string {
  return new TextDecoder().decode(
    Uint8Array.from(atob(text), (c) => c.charCodeAt(0)),
  );
}

/** Waits for `event` on `emitter` (or rejects on "error"). */
function once(
  emitter: net.Socket | net.Server,
  event: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = () => {
      emitter.off("error", fail);
      resolve();
    };
    const fail = (error: Error) => {
      emitter.off(event, ok);
      reject(error);
    };
    emitter.once(event, ok);
    emitter.once("error", fail);
  });
}

/**
 * Text seen since the last `readUntil`, and the waiting for more. Shared by
 * both raw peers.
 */
class Seen {
  #text = "";
  #decoder = new TextDecoder();
  #ended = false;
  #wake: (() => void) | undefined;

  add(bytes: Uint8Array): void {
    this.#text += this.#decoder.decode(bytes, { stream: true });
    this.#notify();
  }

  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** A fresh decoder (after TLS, the bytes are a new text). */
  restart(): void {
    this.#decoder = new TextDecoder();
    this.#text = "";
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** What came up to and with `text`, or null when the peer ended first. */
  async until(
    text: string,
    pull?: () => Promise<boolean>,
  ): Promise<string | null> {
    for (;;) {
      const at = this.#text.indexOf(text);
      if (at >= 0) {
        const upTo = this.#text.slice(0, at + text.length);
        this.#text = this.#text.slice(at + text.length);
        return upTo;
      }
      if (this.#ended) return null;
      if (pull !== undefined) {
        if (!await pull()) this.end();
      } else {
        await new Promise<void>((resolve) => this.#wake = resolve);
      }
    }
  }

  /** Everything left, once the peer ended. */
  async rest(pull?: () => Promise<boolean>): Promise<string> {
    while (!this.#ended) {
      if (pull !== undefined) {
        if (!await pull()) this.end();
      } else {
        await new Promise<void>((resolve) => this.#wake = resolve);
      }
    }
    const all = this.#text;
    this.#text = "";
    return all;
  }
}

/** A raw initiator on `Deno.connect`, which may upgrade with `Deno.startTls`. */
export class DenoClient {
  conn: Deno.Conn;
  readonly #seen = new Seen();
  readonly #buffer = new Uint8Array(16 * 1024);
  #closed = false;

  private constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Connects to 127.0.0.1:`port`, with Nagle off. */
  static async connect(port: number): Promise<DenoClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new DenoClient(conn);
  }

  #pull = async (): Promise<boolean> => {
    let n: number | null;
    try {
      n = await this.conn.read(this.#buffer);
    } catch {
      n = null; // reset, or TLS closed without close_notify: the peer is gone
    }
    if (n === null) return false;
    this.#seen.add(this.#buffer.subarray(0, n));
    return true;
  };

  /** Reads until `text` was seen; returns what came up to it, or null on EOF. */
  readUntil(text: string): Promise<string | null> {
    return this.#seen.until(text, this.#pull);
  }

  /** Reads until the peer ends; returns what came. */
  readToEnd(): Promise<string> {
    return this.#seen.rest(this.#pull);
  }

  /**
   * Writes `text` with exactly one `write` call (one TCP segment on
   * loopback, as it is small and Nagle is off); fails the test otherwise.
   */
  async writeOnce(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    const n = await this.conn.write(bytes);
    assert.equal(n, bytes.length, "one write call took all of it");
  }

  /** Upgrades in place (no read is pending between reads), trusting `caCert`. */
  async startTls(caCert: string): Promise<void> {
    const conn = await Deno.startTls(this.conn as Deno.TcpConn, {
      hostname: "pronto",
      caCerts: [caCert],
    });
    this.conn = conn;
    await conn.handshake();
    this.#seen.restart();
  }

  /** Hangs up. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.conn.close();
  }
}

/**
 * A raw peer over a `node:net` socket, in the recipient's role, that can
 * upgrade to TLS in place as a server.
 */
export class NodePeer {
  readonly raw: net.Socket;
  socket: net.Socket;
  readonly #seen = new Seen();
  #detach: () => void = () => {};

  constructor(socket: net.Socket) {
    this.raw = socket;
    this.socket = socket;
    socket.setNoDelay(true);
    this.#attach(socket);
  }

  #attach(socket: net.Socket): void {
    const onData = (data: Buffer) =>
      this.#seen.add(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
    const onEnd = () => this.#seen.end();
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onEnd);
    this.#detach = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
    };
  }

  /** Reads until `text` was seen; returns what came up to it, or null on EOF. */
  readUntil(text: string): Promise<string | null> {
    return this.#seen.until(text);
  }

  /** Reads until the peer ends; returns what came. */
  readToEnd(): Promise<string> {
    return this.#seen.rest();
  }

  /** Writes `text` with one `write` call and waits until it was flushed. */
  write(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(text, (error) => error ? reject(error) : resolve());
    });
  }

  /**
   * Writes `text` (`<proceed/>` and whatever the attacker appends) in one
   * write on the plaintext socket, then upgrades in place as the TLS server:
   * reading stops before the write, so the initiator's ClientHello waits in
   * the paused socket for the TLS layer.
   */
  async proceedAndStartTls(
    text: string,
    certificate: { cert: string; key: string },
  ): Promise<void> {
    const raw = this.raw;
    raw.pause();
    this.#detach();
    raw.on("error", () => {});
    await this.write(text);
    const secure = new tls.TLSSocket(raw, {
      isServer: true,
      key: certificate.key,
      cert: certificate.cert,
    });
    this.socket = secure;
    this.#seen.restart();
    const handshake = once(secure, "secure");
    this.#attach(secure);
    secure.resume();
    await handshake;
  }

  /** Vanishes: destroys the socket(s) and waits until closed. */
  async destroy(): Promise<void> {
    const sockets = this.socket === this.raw
      ? [this.raw]
      : [this.socket, this.raw];
    await Promise.all(sockets.map((socket) => {
      if (socket.closed) return Promise.resolve();
      const closed = new Promise<void>((resolve) =>
        socket.once("close", () => resolve())
      );
      socket.destroy();
      return closed;
    }));
  }
}

/**
 * A raw `node:net` server on loopback that accepts exactly one connection
 * and runs `script` on it. The server closes once it accepted; the socket
 * is destroyed when the script ends (or throws). `done` settles once every
 * socket is closed.
 */
export async function nodeServer(
  script: (peer: NodePeer) => Promise<void>,
): Promise<{ port: number; done: Promise<void> }> {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const done = (async () => {
    const socket = await new Promise<net.Socket>((resolve) =>
      server.once("connection", resolve)
    );
    const serverClosed = new Promise<void>((resolve) =>
      server.close(() => resolve())
    );
    const peer = new NodePeer(socket);
    try {
      await script(peer);
    } finally {
      await peer.destroy();
      await serverClosed;
    }
  })();
  return { port, done };
}

/** What went through the proxy, each way. */
export interface ProxyRecord {
  /** Bytes forwarded from the initiator to the recipient. */
  up: Uint8Array[];
  /** Bytes forwarded from the recipient to the initiator. */
  down: Uint8Array[];
  /** Reads the features came in, from the recipient, before rewriting. */
  featureReads: number;
}

/** A byte-for-byte view of bytes as text (one character per byte). */
export function latin1(chunks: Uint8Array[]): string {
  let text = "";
  for (const chunk of chunks) {
    for (let i = 0; i < chunk.length; i += 4096) {
      text += String.fromCharCode(...chunk.subarray(i, i + 4096));
    }
  }
  return text;
}

// The end of the first <stream:features/> (either form).
const FEATURES_END = /<stream:features\s*\/>|<\/stream:features\s*>/;

/**
 * Removes every `<starttls/>` element, however it is written: self-closing,
 * with children (`<required/>`), either quote, with a prefix.
 */
export function stripStartTls(text: string): string {
  return text.replace(
    /<((?:[\w.-]+:)?starttls)\b[^>]*?\/>|<((?:[\w.-]+:)?starttls)\b[^>]*>[\s\S]*?<\/\2\s*>/g,
    "",
  );
}

/** Removes `<required/>` from `<starttls/>`, leaving TLS offered but optional. */
export function stripRequired(text: string): string {
  return text.replace(
    /(<(?:[\w.-]+:)?starttls\b[^>]*>)([\s\S]*?)(<\/(?:[\w.-]+:)?starttls\s*>)/g,
    (_all, open: string, inner: string, close: string) =>
      open +
      inner.replace(
        /<(?:[\w.-]+:)?required\b[^>]*?\/>|<((?:[\w.-]+:)?required)\b[^>]*>[\s\S]*?<\/\1\s*>/g,
        "",
      ) + close,
  );
}

/** A running proxy. */
export interface Proxy {
  /** The port the initiator dials. */
  port: number;
  /** What it forwarded so far. */
  record: ProxyRecord;
  /** Settles once both connections and the listener are closed. */
  done: Promise<void>;
}

/**
 * A man in the middle on loopback: accepts one connection, dials the
 * recipient at `upstream`, and forwards bytes both ways, recording them.
 * Recipient-to-initiator text is held back until the end of the first
 * `<stream:features/>` (however many reads it takes), passed through
 * `rewrite`, then forwarded; everything after flows through untouched. An
 * end of stream is passed on as a half-close; once both ways ended, both
 * connections close.
 */
export function mitmProxy(
  upstream: number,
  rewrite: (plaintext: string) => string,
): Proxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const record: ProxyRecord = { up: [], down: [], featureReads: 0 };
  const done = (async () => {
    let client: Deno.TcpConn;
    try {
      client = await listener.accept();
    } finally {
      listener.close();
    }
    let server: Deno.TcpConn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port: upstream });
    } catch (error) {
      client.close();
      throw error;
    }
    client.setNoDelay(true);
    server.setNoDelay(true);
    await Promise.all([
      pump(client, server, record.up, undefined),
      pump(server, client, record.down, (held) => {
        record.featureReads++;
        const text = latin1([held]);
        const end = FEATURES_END.exec(text);
        if (end === null) return undefined;
        const cut = end.index + end[0].length;
        // Plaintext XML is ASCII here; the rest (none, in practice) is kept
        // byte for byte.
        return concat(
          Uint8Array.from(rewrite(text.slice(0, cut)), (c) => c.charCodeAt(0)),
          held.subarray(cut),
        );
      }),
    ]);
    for (const conn of [client, server]) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  })();
  return { port, record, done };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const all = new Uint8Array(a.length + b.length);
  all.set(a);
  all.set(b, a.length);
  return all;
}

/**
 * Forwards `from` to `to` until the end of `from` (or a failure either
 * side), then half-closes `to`. `hold`, while set, gets everything held so
 * far and returns what to forward, or undefined to keep holding.
 */
async function pump(
  from: Deno.TcpConn,
  to: Deno.TcpConn,
  recorded: Uint8Array[],
  hold: ((held: Uint8Array) => Uint8Array | undefined) | undefined,
): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  let held: Uint8Array | undefined = hold === undefined
    ? undefined
    : new Uint8Array(0);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) break;
      let out: Uint8Array = buffer.slice(0, n);
      if (held !== undefined) {
        held = concat(held, out);
        const rewritten = hold!(held);
        if (rewritten === undefined) continue;
        held = undefined;
        out = rewritten;
      }
      recorded.push(out);
      let offset = 0;
      while (offset < out.length) {
        offset += await to.write(out.subarray(offset));
      }
    }
  } catch {
    // A reset or a write to a closed peer ends this direction.
  }
  try {
    await to.closeWrite();
  } catch {
    // Already closed.
  }
}

/**
 * Settles as `promise` does, or rejects after `ms` (default 5 s): a guard
 * so that a regression fails the test instead of hanging it. Not a
 * measure of speed; the timer is always cleared.
 */
export function within<T>(promise: Promise<T>, ms = 5_000): Promise<T> {
  return withinMs(ms, promise);
}

const unhandled: unknown[] = [];
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  unhandled.push(event.reason);
});

/** Fails the test if any rejection went unhandled while it ran. */
export async function noUnhandledRejection(): Promise<void> {
  // Let pending microtasks and a macrotask turn run first.
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(unhandled.splice(0), [], "no unhandled rejection");
}
