// A test-only SOCKS5 backend for the Jingle engine over real loopback TCP:
// not SOCKS5 on the wire (the client sends the 40 hex digits of DST.ADDR
// and a newline, the server answers one byte), but real connections, real
// listeners and the real destination address, so that the candidate
// exchange, the nomination and the bytes of the stream are the engine's.
// `refuse` makes every connection attempt fail, as when no candidate can
// be reached. `loopbackProxy()` is a relay in the same handshake: it joins
// the two connections of one destination address once activated.

import type { Socks5Backend, Socks5Listener } from "../../src/jingle/mod.ts";

async function sha1Hex(text: string): Promise<string> {
  const hash = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(text),
  );
  return Array.from(
    new Uint8Array(hash),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
}

async function readExactly(conn: Deno.Conn, size: number): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  let filled = 0;
  while (filled < size) {
    const n = await conn.read(out.subarray(filled));
    if (n === null) throw new Error("The connection ended early");
    filled += n;
  }
  return out;
}

class LoopbackListener implements Socks5Listener {
  readonly hostname: string;
  readonly port: number;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #arrived = new Map<string, Deno.Conn>();
  readonly #waiting = new Map<
    string,
    { resolve: (c: Deno.Conn) => void; reject: (e: Error) => void }
  >();
  readonly #loop: Promise<void>;
  #closed = false;
  /** Connections accepted. */
  accepted = 0;

  constructor(hostname: string) {
    this.#listener = Deno.listen({ hostname, port: 0 });
    this.hostname = this.#listener.addr.hostname;
    this.port = this.#listener.addr.port;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      this.accepted++;
      try {
        const dst = new TextDecoder().decode(await readExactly(conn, 41))
          .trim();
        await conn.write(new Uint8Array([0]));
        const waiter = this.#waiting.get(dst);
        if (waiter !== undefined) {
          this.#waiting.delete(dst);
          waiter.resolve(conn);
        } else if (this.#closed || this.#arrived.has(dst)) {
          conn.close();
        } else {
          this.#arrived.set(dst, conn);
        }
      } catch {
        conn.close();
      }
    }
  }

  expect(
    dstAddr: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<Deno.Conn> {
    const conn = this.#arrived.get(dstAddr);
    if (conn !== undefined) {
      this.#arrived.delete(dstAddr);
      return Promise.resolve(conn);
    }
    return new Promise((resolve, reject) => {
      const aborted = () => {
        this.#waiting.delete(dstAddr);
        reject(new Error("Aborted"));
      };
      options.signal?.addEventListener("abort", aborted, { once: true });
      this.#waiting.set(dstAddr, {
        resolve: (c) => {
          options.signal?.removeEventListener("abort", aborted);
          resolve(c);
        },
        reject,
      });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listener.close();
    await this.#loop;
    for (const conn of this.#arrived.values()) conn.close();
    this.#arrived.clear();
    for (const waiter of this.#waiting.values()) {
      waiter.reject(new Error("Closed"));
    }
    this.#waiting.clear();
  }
}

/** A relay: two connections with one DST.ADDR, joined on activation. */
export class LoopbackProxy {
  readonly jid = "proxy.forza";
  readonly host = "127.0.0.1";
  readonly port: number;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #pending = new Map<string, Deno.Conn[]>();
  readonly #open = new Set<Deno.Conn>();
  readonly #relays: Promise<unknown>[] = [];
  readonly #loop: Promise<void>;
  /** Destination addresses activated. */
  readonly activated: string[] = [];

  constructor() {
    this.#listener = Deno.listen({ hostname: this.host, port: 0 });
    this.port = this.#listener.addr.port;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return;
      }
      this.#open.add(conn);
      try {
        const dst = new TextDecoder().decode(await readExactly(conn, 41))
          .trim();
        await conn.write(new Uint8Array([0]));
        const list = this.#pending.get(dst) ?? [];
        list.push(conn);
        this.#pending.set(dst, list);
      } catch {
        conn.close();
        this.#open.delete(conn);
      }
    }
  }

  /** Joins the two connections of `dst`, as XEP-0065 activation does. */
  activate(dst: string): void {
    const list = this.#pending.get(dst);
    if (list === undefined || list.length !== 2) {
      throw new Error("Nothing to activate (test)");
    }
    this.#pending.delete(dst);
    this.activated.push(dst);
    const [a, b] = list as [Deno.Conn, Deno.Conn];
    const pipe = (from: Deno.Conn, to: Deno.Conn) =>
      from.readable.pipeTo(to.writable).catch(() => {
        try {
          to.close();
        } catch {
          // closed already
        }
      });
    this.#relays.push(pipe(a, b), pipe(b, a));
  }

  async close(): Promise<void> {
    this.#listener.close();
    await this.#loop;
    for (const list of this.#pending.values()) {
      for (const conn of list) conn.close();
    }
    await Promise.allSettled(this.#relays);
  }
}

export interface LoopbackBackend extends Socks5Backend {
  /** Every listener made, to count what reached them. */
  listeners: LoopbackListener[];
  /** Connection attempts made. */
  attempts: number;
}

export interface LoopbackOptions {
  /** Every connection attempt fails. */
  refuse?: boolean;
  /** The server's proxy, with the JID activations come from. */
  proxy?: { relay: LoopbackProxy; jid: string; refuseActivation?: boolean };
}

export function loopbackSocks5(options: LoopbackOptions = {}): LoopbackBackend {
  const backend: LoopbackBackend = {
    listeners: [],
    attempts: 0,
    socks5DestinationAddress: (sid, requester, target) =>
      sha1Hex(sid + requester + target),
    async connectSocks5(host, port, dstAddr) {
      backend.attempts++;
      if (options.refuse) throw new Error("Connection refused (test)");
      const conn = await Deno.connect({ hostname: host, port });
      try {
        await conn.write(new TextEncoder().encode(dstAddr + "\n"));
        await readExactly(conn, 1);
      } catch (error) {
        conn.close();
        throw error;
      }
      return conn;
    },
    Socks5Server: {
      listen(listenOptions = {}) {
        const listener = new LoopbackListener(
          listenOptions.hostname ?? "127.0.0.1",
        );
        backend.listeners.push(listener);
        return listener;
      },
    },
    discoverProxies: () =>
      Promise.resolve(
        options.proxy === undefined ? [] : [{
          jid: options.proxy.relay.jid,
          host: options.proxy.relay.host,
          port: options.proxy.relay.port,
        }],
      ),
    async activateProxy(_client, proxyJid, sid, target) {
      const proxy = options.proxy;
      if (proxy === undefined || proxyJid !== proxy.relay.jid) {
        throw new Error("No such proxy (test)");
      }
      if (proxy.refuseActivation) throw new Error("Activation refused (test)");
      proxy.relay.activate(await sha1Hex(sid + proxy.jid + target));
    },
  };
  return backend;
}
