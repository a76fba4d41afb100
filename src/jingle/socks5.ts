/**
 * SOCKS5 Bytestreams (XEP-0065, as XEP-0260 uses them): the DST.ADDR hash,
 * the client side of the SOCKS5 handshake, our own streamhost
 * ({@linkcode Socks5Server}), and proxy discovery and activation over a
 * client stream. What comes out is a plain connection carrying the
 * bytestream.
 *
 * @module
 */

import {
  ATYP_DOMAIN,
  ATYP_IPV4,
  ATYP_IPV6,
  checkTimeout,
  closeQuietly,
  CONNECT,
  domainMessage,
  encodeDstAddr,
  guard,
  NO_AUTH,
  NO_METHOD,
  readExactly,
  REPLY,
  replyText,
  VERSION,
  writeAll,
} from "./_socks5_wire.ts";
import { Socks5Error } from "./socks5_error.ts";

export {
  Socks5Server,
  type Socks5ServerExpectOptions,
  type Socks5ServerOptions,
} from "./_socks5_server.ts";
export {
  activateProxy,
  type ActivateProxyOptions,
  BYTESTREAMS_NS,
  discoverProxies,
  type DiscoverProxiesOptions,
} from "./_socks5_proxy.ts";

/** A SOCKS5 streamhost: our own listening address or a server's proxy. */
export interface StreamHost {
  /** Its JID: the proxy's, or the full JID of the party listening. */
  jid: string;
  /** Its host name or IP address (IPv6 without brackets). */
  host: string;
  /** Its TCP port. */
  port: number;
}

/** What {@linkcode connectSocks5} takes. */
export interface ConnectSocks5Options {
  /** Gives up: the connection is closed, the promise rejects `aborted`. */
  signal?: AbortSignal;
  /**
   * Deadline of the dial and the handshake together, in ms (`Infinity` for
   * none). Default 10,000.
   */
  timeoutMs?: number;
}

/** The deadline {@linkcode connectSocks5} uses by default. */
export const DEFAULT_SOCKS5_TIMEOUT_MS = 10_000;

/**
 * The XEP-0065 DST.ADDR: the lowercase hex SHA-1 of the sid, the
 * requester's full JID and the target's full JID, concatenated. The JIDs
 * are used as given: normalize them first.
 *
 * @example The hash of XEP-0260's first example
 * ```ts
 * import { socks5DestinationAddress } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   await socks5DestinationAddress("vj3hs98y", "romeo@montague.lit/orchard", "juliet@capulet.lit/balcony"),
 *   "972b7bf47291ca609517f67f86b5081086052dad",
 * );
 * ```
 *
 * @param sid The bytestream's sid.
 * @param requester The requester's full JID (who activates a proxy).
 * @param target The target's full JID.
 * @returns 40 lowercase hex digits.
 */
export async function socks5DestinationAddress(
  sid: string,
  requester: string,
  target: string,
): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-1",
    new TextEncoder().encode(sid + requester + target),
  );
  return Array.from(
    new Uint8Array(digest),
    (byte) => byte.toString(16).padStart(2, "0"),
  ).join("");
}

/**
 * Dials a streamhost and does the SOCKS5 handshake as XEP-0065 wants it: no
 * authentication, CONNECT to the domain `dstAddr`, port 0. Resolves once
 * the streamhost replied success, with the connection positioned right
 * after the reply (nothing of the bytestream read). A streamhost that
 * echoes another domain than `dstAddr` is refused (`hash-mismatch`); one
 * that echoes an IP address is taken. On any failure the connection is
 * closed.
 *
 * @example Through our own streamhost
 * ```ts
 * import { connectSocks5, Socks5Server, socks5DestinationAddress } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * await using server = Socks5Server.listen();
 * const hash = await socks5DestinationAddress("s1", "romeo@forza/a", "juliet@pronto/b");
 * const expected = server.expect(hash, { timeoutMs: 5000 });
 * const mine = await connectSocks5(server.hostname, server.port, hash);
 * const theirs = await expected;
 * await mine.write(new TextEncoder().encode("hi"));
 * const buffer = new Uint8Array(2);
 * assert.equal(await theirs.read(buffer), 2);
 * mine.close();
 * theirs.close();
 * ```
 *
 * @param host The streamhost's host name or address.
 * @param port Its port.
 * @param dstAddr The DST.ADDR ({@linkcode socks5DestinationAddress}).
 * @param options A signal, a deadline.
 * @returns The connection, ready to carry the bytestream.
 * @throws {Socks5Error} `connect-failed` when the dial or the connection
 *   fails, `refused` when the streamhost refuses, `protocol` on a reply that
 *   is not SOCKS5, `hash-mismatch`, `timeout`, `aborted`.
 * @throws {TypeError} When `dstAddr` is not 1 to 255 printable ASCII
 *   characters.
 * @throws {RangeError} When `timeoutMs` is not a positive number.
 */
export async function connectSocks5(
  host: string,
  port: number,
  dstAddr: string,
  options: ConnectSocks5Options = {},
): Promise<Deno.Conn> {
  const addr = encodeDstAddr(dstAddr);
  const timeoutMs = checkTimeout(
    options.timeoutMs ?? DEFAULT_SOCKS5_TIMEOUT_MS,
    "timeoutMs",
  );
  const what = `Cannot connect through the SOCKS5 streamhost ${host}:${port}`;
  const step = guard(what, timeoutMs, options.signal);
  let conn: Deno.Conn | undefined;
  const close = () => closeQuietly(conn);
  step.signal.addEventListener("abort", close, { once: true });
  try {
    if (step.failure !== undefined) throw step.failure;
    try {
      conn = await Deno.connect({
        hostname: host,
        port,
        signal: step.signal,
      });
    } catch (error) {
      throw step.failure ??
        new Socks5Error("connect-failed", what, { cause: error });
    }
    if (step.failure !== undefined) throw step.failure;
    await handshake(conn, addr, dstAddr, what);
    return conn;
  } catch (error) {
    close();
    if (step.failure !== undefined) throw step.failure;
    if (error instanceof Socks5Error) throw error;
    throw new Socks5Error("connect-failed", `${what}: the connection failed`, {
      cause: error,
    });
  } finally {
    step.signal.removeEventListener("abort", close);
    step.dispose();
  }
}

async function handshake(
  conn: Deno.Conn,
  addr: Uint8Array,
  dstAddr: string,
  what: string,
): Promise<void> {
  // Greeting and request each in one write: mod_proxy65 wants each whole in
  // one read.
  await writeAll(conn, new Uint8Array([VERSION, 1, NO_AUTH]));
  const [version, method] = await readExactly(conn, 2);
  if (version !== VERSION) {
    throw new Socks5Error("protocol", `${what}: it is not a SOCKS5 server`);
  }
  if (method === NO_METHOD) {
    throw new Socks5Error(
      "refused",
      `${what}: it wants authentication, which XEP-0065 does not use`,
    );
  }
  if (method !== NO_AUTH) {
    throw new Socks5Error(
      "protocol",
      `${what}: it chose method ${method}, which was not offered`,
    );
  }
  await writeAll(conn, domainMessage(CONNECT, addr));
  const head = await readExactly(conn, 5);
  if (head[0] !== VERSION) {
    throw new Socks5Error("protocol", `${what}: the reply is not SOCKS5`);
  }
  if (head[1] !== REPLY.succeeded) {
    throw new Socks5Error(
      "refused",
      `${what}: it replied ${replyText(head[1]!)}`,
    );
  }
  const atyp = head[3];
  // The fifth byte is the first of the address, or a domain's length.
  const rest = atyp === ATYP_IPV4
    ? 4 - 1 + 2
    : atyp === ATYP_IPV6
    ? 16 - 1 + 2
    : atyp === ATYP_DOMAIN
    ? head[4]! + 2
    : undefined;
  if (rest === undefined) {
    throw new Socks5Error(
      "protocol",
      `${what}: the reply has address type ${atyp}`,
    );
  }
  const tail = await readExactly(conn, rest);
  if (atyp === ATYP_DOMAIN) {
    const echoed = new TextDecoder().decode(tail.subarray(0, head[4]!));
    if (echoed !== dstAddr) {
      throw new Socks5Error(
        "hash-mismatch",
        `${what}: it connected another DST.ADDR than ours`,
      );
    }
  }
}
