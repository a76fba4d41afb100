/**
 * A TCP relay on 127.0.0.1 that forwards every connection to one target and
 * keeps what passes, both ways: put between a client and a server to see
 * the bytes on the wire (`contains`), or cut every connection at once
 * (`sever`), as when a peer vanishes.
 *
 * @module
 */

import { concat } from "../xml/_mutations.ts";

/** Where the tap forwards to. */
export interface TapTarget {
  hostname: string;
  port: number;
}

/** A relay that records what it carries. */
export class TcpTap {
  /** The address to connect to instead of the target. */
  readonly hostname = "127.0.0.1";
  /** Its port. */
  readonly port: number;
  /** Bytes carried so far, both directions. */
  bytes = 0;
  /** Connections taken so far. */
  connections = 0;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #target: TapTarget;
  readonly #record: boolean;
  /** What passed, per direction: towards the target, back from it. */
  readonly #chunks: [Uint8Array[], Uint8Array[]] = [[], []];
  readonly #open = new Set<Deno.Conn>();
  readonly #pumps = new Set<Promise<void>>();
  readonly #loop: Promise<void>;

  /**
   * Listens on a free port of 127.0.0.1.
   *
   * @param target Where to forward each connection.
   * @param record Whether to keep the bytes (for `contains`).
   */
  constructor(target: TapTarget, record = true) {
    this.#listener = Deno.listen({ hostname: this.hostname, port: 0 });
    this.port = this.#listener.addr.port;
    this.#target = target;
    this.#record = record;
    this.#loop = this.#accept();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let near: Deno.TcpConn;
      try {
        near = await this.#listener.accept();
      } catch {
        return;
      }
      this.connections++;
      let far: Deno.TcpConn;
      try {
        far = await Deno.connect(this.#target);
      } catch {
        near.close();
        continue;
      }
      near.setNoDelay(true);
      far.setNoDelay(true);
      this.#open.add(near);
      this.#open.add(far);
      let done = 0;
      const finish = () => {
        if (++done < 2) return;
        for (const conn of [near, far]) this.#drop(conn);
      };
      const ways = [[near, far, 0], [far, near, 1]] as const;
      for (const [from, to, way] of ways) {
        const pump = this.#pump(from, to, this.#chunks[way]).finally(finish);
        this.#pumps.add(pump);
        void pump.finally(() => this.#pumps.delete(pump));
      }
    }
  }

  async #pump(
    from: Deno.TcpConn,
    to: Deno.TcpConn,
    kept: Uint8Array[],
  ): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const got = await from.read(buffer);
        if (got === null) break;
        const chunk = buffer.slice(0, got);
        this.bytes += got;
        if (this.#record) kept.push(chunk);
        for (let at = 0; at < got;) at += await to.write(chunk.subarray(at));
      }
      await to.closeWrite();
    } catch {
      // A side went away: the other goes too.
      this.#drop(from);
      this.#drop(to);
    }
  }

  #drop(conn: Deno.Conn): void {
    if (!this.#open.delete(conn)) return;
    try {
      conn.close();
    } catch {
      // Closed already.
    }
  }

  /**
   * Whether the bytes carried so far contain `needle`, either way (each
   * direction searched as one run of bytes, so a needle across two reads
   * is found as well).
   *
   * @param needle The bytes to look for.
   * @returns Whether they passed through.
   */
  contains(needle: Uint8Array): boolean {
    return this.#chunks.some((chunks) =>
      indexOf(concat(...chunks), needle) >= 0
    );
  }

  /** Cuts every connection at once, both sides, and keeps listening. */
  sever(): void {
    for (const conn of [...this.#open]) this.#drop(conn);
  }

  /** Stops listening, cuts what is open, and waits for the relays. */
  async close(): Promise<void> {
    try {
      this.#listener.close();
    } catch {
      // Closed already.
    }
    await this.#loop;
    this.sever();
    await Promise.all([...this.#pumps]);
  }
}

/**
 * Where `needle` starts in `haystack`, or -1.
 *
 * @param haystack The bytes to search.
 * @param needle The bytes to find.
 * @returns The index.
 */
export function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  const first = needle[0];
  if (first === undefined) return 0;
  for (
    let i = haystack.indexOf(first);
    i >= 0;
    i = haystack.indexOf(first, i + 1)
  ) {
    if (i + needle.length > haystack.length) return -1;
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}
