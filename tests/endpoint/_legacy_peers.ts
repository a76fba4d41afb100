// Scripted link-local peers that behave on the wire as the deployed clients
// do (read from their sources): libpurple's Bonjour (Pidgin, Adium), Gajim's
// zeroconf, telepathy-salut (wocky). Each is a raw TCP socket driven by the
// test, in either role, so that a test states exactly what crosses the wire
// and when the peer hangs up.

import * as net from "node:net";
import type { Buffer } from "node:buffer";

const STREAMS = "http://etherx.jabber.org/streams";

/** The deployed clients these scripts behave as. */
export type Client = "libpurple" | "gajim" | "salut";

/**
 * The header each client opens its stream with, as initiator or recipient.
 * libpurple writes no `version` and no `id` in either role; Gajim and
 * telepathy-salut write `version='1.0'` (salut no `id`).
 */
export function headerOf(client: Client, from: string, to: string): string {
  switch (client) {
    case "libpurple":
      return `<?xml version="1.0" encoding="UTF-8" ?>\n` +
        `<stream:stream xmlns="jabber:client" xmlns:stream="${STREAMS}"` +
        ` from="${from}" to="${to}">`;
    case "gajim":
      return `<?xml version='1.0' encoding='utf-8'?>` +
        `<stream:stream xmlns="jabber:client" to="${to}" version="1.0"` +
        ` xmlns:stream="${STREAMS}" from="${from}" id="gajim1">`;
    case "salut":
      return `<?xml version='1.0' encoding='UTF-8'?>` +
        `<stream:stream xmlns='jabber:client' xmlns:stream='${STREAMS}'` +
        ` version='1.0' to='${to}' from='${from}'>`;
  }
}

/** A chat message as each client writes it. */
export function messageOf(
  client: Client,
  from: string,
  to: string,
  body: string,
): string {
  if (client === "libpurple") {
    // Plain body, XHTML-IM copy, and a jabber:x:event composing request.
    return `<message to="${to}" from="${from}" type="chat"><body>${body}</body>` +
      `<html xmlns="http://www.w3.org/1999/xhtml"><body><font>${body}</font>` +
      `</body></html><x xmlns="jabber:x:event"><composing/></x></message>`;
  }
  return `<message xmlns="jabber:client" to="${to}" from="${from}"` +
    ` type="chat" id="${client}1"><body>${body}</body></message>`;
}

/** One end of a raw TCP connection, read only when the script waits. */
export class Wire {
  readonly #socket: net.Socket;
  readonly #decoder = new TextDecoder();
  #text = "";
  #ended = false;
  #wake: (() => void) | undefined;
  #closed: Promise<void>;

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on("data", (data: Buffer) => {
      this.#text += this.#decoder.decode(
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        { stream: true },
      );
      this.#notify();
    });
    const end = () => {
      this.#ended = true;
      this.#notify();
    };
    socket.on("end", end);
    socket.on("error", end);
    this.#closed = new Promise((resolve) => socket.once("close", resolve));
  }

  /**
   * Connects to 127.0.0.1:`port`, from `localAddress` when given (so that a
   * test can come from 127.0.0.2).
   */
  static connect(port: number, localAddress?: string): Promise<Wire> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({
        host: "127.0.0.1",
        port,
        ...(localAddress ? { localAddress } : {}),
      });
      socket.once("error", reject);
      socket.once("connect", () => {
        socket.off("error", reject);
        resolve(new Wire(socket));
      });
    });
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Waits for `text`; returns what came up to and with it, or null on EOF. */
  async until(text: string): Promise<string | null> {
    for (;;) {
      const at = this.#text.indexOf(text);
      if (at >= 0) {
        const upTo = this.#text.slice(0, at + text.length);
        this.#text = this.#text.slice(at + text.length);
        return upTo;
      }
      if (this.#ended) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  /** Waits for the other end to hang up; returns what came meanwhile. */
  async rest(): Promise<string> {
    while (!this.#ended) {
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    const all = this.#text;
    this.#text = "";
    return all;
  }

  /** What came and was not read yet, without waiting. */
  get pending(): string {
    return this.#text;
  }

  /** Writes and waits until flushed. */
  write(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#socket.write(text, (error) => error ? reject(error) : resolve());
    });
  }

  /**
   * Closes the socket at once, as libpurple does right after its
   * `</stream:stream>` and Gajim does when idle. Resolves once closed.
   */
  hangUp(): Promise<void> {
    this.#socket.destroy();
    return this.#closed;
  }
}

/** A scripted recipient: a TCP listener on loopback handing out wires. */
export class WireListener {
  readonly #server: net.Server;
  readonly #waiting: ((wire: Wire) => void)[] = [];
  readonly #ready: Wire[] = [];

  private constructor(server: net.Server) {
    this.#server = server;
    server.on("connection", (socket: net.Socket) => {
      const wire = new Wire(socket);
      const waiter = this.#waiting.shift();
      if (waiter) waiter(wire);
      else this.#ready.push(wire);
    });
  }

  /** Listens on 127.0.0.1, a free port. */
  static open(): Promise<WireListener> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve(new WireListener(server)));
    });
  }

  /** The port. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** The next connection. */
  accept(): Promise<Wire> {
    const ready = this.#ready.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Stops listening. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
