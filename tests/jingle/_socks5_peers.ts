// Scripted SOCKS5 peers for the SOCKS5 tests: a one-connection server that
// runs a script, and the raw bytes of a well-behaved client.

/** A listener that serves one connection with a script, then closes. */
export interface Scripted {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Waits for the script, closes the connection and the listener. */
  done(): Promise<void>;
}

/**
 * Serves the first connection on a fresh loopback port with `script`.
 *
 * @param script What the server does with the connection.
 * @returns The port and a clean-up.
 */
export function scriptedServer(
  script: (conn: Deno.Conn) => Promise<void>,
): Scripted {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    try {
      await script(conn);
    } finally {
      try {
        conn.close();
      } catch {
        // The script closed it.
      }
    }
  })();
  return {
    port: listener.addr.port,
    async done() {
      await served.catch(() => {});
      listener.close();
    },
  };
}

/**
 * Reads exactly `n` bytes, or fewer when the peer closes.
 *
 * @param conn The connection.
 * @param n How many.
 * @returns What came.
 */
export async function readN(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await conn.read(bytes.subarray(filled)).catch(() => null);
    if (got === null) break;
    filled += got;
  }
  return bytes.subarray(0, filled);
}

/**
 * Waits until the peer closes (a read returns end of stream or fails).
 *
 * @param conn The connection.
 */
export async function untilClosed(conn: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64);
  for (;;) {
    const got = await conn.read(buffer).catch(() => null);
    if (got === null) return;
  }
}

/**
 * A CONNECT request for a domain, port 0.
 *
 * @param dstAddr The domain.
 * @param command The command byte (1, CONNECT).
 * @returns The bytes.
 */
export function connectRequest(dstAddr: string, command = 1): Uint8Array {
  const addr = new TextEncoder().encode(dstAddr);
  return new Uint8Array([5, command, 0, 3, addr.length, ...addr, 0, 0]);
}
