/**
 * What the Jingle engine needs of SOCKS5 Bytestreams (XEP-0065): the
 * destination address, the client handshake, a listener for direct
 * candidates, proxy discovery and activation. The shape is that of the
 * package's SOCKS5 module, so the module itself can be given.
 *
 * @module
 */

import type { E2EStream } from "../endpoint/e2e_stream.ts";

/** A SOCKS5 proxy (a streamhost of XEP-0065) of the server. */
export interface Socks5Proxy {
  /** The proxy's JID (activation goes to it). */
  jid: string;
  /** Where it listens. */
  host: string;
  /** Its port. */
  port: number;
}

/** What waits and deadlines the backend's calls take. */
export interface Socks5CallOptions {
  /** Gives up waiting. */
  signal?: AbortSignal;
  /** A deadline, in ms. */
  timeoutMs?: number;
}

/** A listening SOCKS5 server for direct candidates. */
export interface Socks5Listener {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  /**
   * Waits for a connection whose handshake asks for `dstAddr`.
   *
   * @param dstAddr The hex SHA-1 destination address.
   * @param options A deadline, a signal.
   * @returns The connection, past the handshake.
   */
  expect(dstAddr: string, options?: Socks5CallOptions): Promise<Deno.Conn>;
  /** Stops listening, and closes what was not taken. */
  close(): Promise<void>;
}

/**
 * SOCKS5 Bytestreams as the Jingle engine uses them; the package's SOCKS5
 * module has exactly this shape.
 *
 * @example A backend that offers nothing and reaches nothing
 * ```ts
 * import type { Socks5Backend } from "@xmpp-e2e/streams/jingle";
 *
 * const unreachable: Socks5Backend = {
 *   socks5DestinationAddress: async (sid, requester, target) => {
 *     const bytes = new TextEncoder().encode(sid + requester + target);
 *     const hash = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
 *     return Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("");
 *   },
 *   connectSocks5: () => Promise.reject(new Error("No route")),
 *   Socks5Server: { listen: () => { throw new Error("No listening here"); } },
 *   discoverProxies: () => Promise.resolve([]),
 *   activateProxy: () => Promise.reject(new Error("No proxy")),
 * };
 * ```
 */
export interface Socks5Backend {
  /**
   * The `DST.ADDR` of XEP-0065: SHA-1 of sid, requester and target, in hex.
   */
  socks5DestinationAddress(
    sid: string,
    requester: string,
    target: string,
  ): Promise<string>;
  /** Connects to a SOCKS5 server and asks for `dstAddr`. */
  connectSocks5(
    host: string,
    port: number,
    dstAddr: string,
    options?: Socks5CallOptions,
  ): Promise<Deno.Conn>;
  /** Listens for the peer's connections to our direct candidates. */
  Socks5Server: {
    listen(options?: { hostname?: string; port?: number }): Socks5Listener;
  };
  /** The SOCKS5 proxies the server offers (disco#items, disco#info). */
  discoverProxies(
    client: E2EStream,
    options?: Socks5CallOptions & { server?: string },
  ): Promise<Socks5Proxy[]>;
  /** Asks a proxy to join the two connections of `sid`. */
  activateProxy(
    client: E2EStream,
    proxyJid: string,
    sid: string,
    target: string,
    options?: Socks5CallOptions,
  ): Promise<void>;
}
