/**
 * The typed error a SOCKS5 Bytestream (XEP-0065) fails with.
 *
 * @module
 */

import { TransportError } from "../transport/transport.ts";

/**
 * Why a SOCKS5 Bytestream step failed:
 * - `connect-failed`: the streamhost could not be reached (refused,
 *   unreachable), or the connection failed during the handshake;
 * - `refused`: the streamhost answered the handshake with a failure (no
 *   acceptable method, or a reply code other than success);
 * - `protocol`: what the other end sent is not SOCKS5 as XEP-0065 uses it
 *   (a bad version, address type or length, a connection closed in the
 *   middle of the handshake), or a proxy's iq answer is malformed;
 * - `hash-mismatch`: the DST.ADDR is not the one expected (our server
 *   refused it, or a streamhost echoed another one);
 * - `timeout`: the step did not finish in time;
 * - `aborted`: the caller's signal aborted it (the signal's reason is the
 *   cause);
 * - `busy`: our server had too many handshakes under way and dropped the
 *   connection;
 * - `closed`: our server was closed while the step waited;
 * - `activation-refused`: the proxy answered the activation with an error;
 * - `no-proxy`: the server offers no SOCKS5 proxy;
 * - `stream-ended`: the stream the iq requests went over ended.
 */
export type Socks5ErrorReason =
  | "connect-failed"
  | "refused"
  | "protocol"
  | "hash-mismatch"
  | "timeout"
  | "aborted"
  | "busy"
  | "closed"
  | "activation-refused"
  | "no-proxy"
  | "stream-ended";

/**
 * A SOCKS5 Bytestream (XEP-0065) step failed: dialing or serving the SOCKS5
 * handshake, discovering a proxy or activating it.
 *
 * @example Telling why
 * ```ts
 * import { Socks5Error } from "@xmpp-e2e/streams/jingle";
 * import { TransportError } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const error = new Socks5Error("refused", "The streamhost refused the connection");
 * assert.ok(error instanceof TransportError);
 * assert.equal(error.reason, "refused");
 * ```
 */
export class Socks5Error extends TransportError {
  /** Why the step failed. */
  readonly reason: Socks5ErrorReason;

  /**
   * Makes a SOCKS5 error.
   *
   * @example Making one
   * ```ts
   * import { Socks5Error } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const error = new Socks5Error("timeout", "The SOCKS5 handshake took too long");
   * assert.equal(error.name, "Socks5Error");
   * ```
   *
   * @param reason Why.
   * @param message A sentence-case message without a final period.
   * @param options The underlying cause.
   */
  constructor(
    reason: Socks5ErrorReason,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "Socks5Error";
    this.reason = reason;
  }
}
