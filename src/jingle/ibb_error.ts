/**
 * The typed error an In-Band Bytestream ends with.
 *
 * @module
 */

import { TransportError } from "../transport/transport.ts";

/**
 * Why an In-Band Bytestream failed:
 * - `declined`: the peer refused the open (`not-acceptable`), or nobody
 *   expected it here;
 * - `block-size`: the peer wants a smaller block size
 *   (`resource-constraint`);
 * - `unknown-session`: the other end knows no such session
 *   (`item-not-found`);
 * - `sequence`: a data packet came out of order (`unexpected-request`),
 *   seen by either end;
 * - `bad-data`: a data packet was not canonical base64, or larger than the
 *   block size (`bad-request`);
 * - `overflow`: a peer sending in messages (which are not acknowledged)
 *   sent more than the read buffer holds, unread;
 * - `rejected`: the peer answered with any other error;
 * - `timeout`: the peer did not acknowledge in time;
 * - `stream-ended`: the stream that carried the session ended (the peer
 *   vanished).
 */
export type IbbErrorReason =
  | "declined"
  | "block-size"
  | "unknown-session"
  | "sequence"
  | "bad-data"
  | "overflow"
  | "rejected"
  | "timeout"
  | "stream-ended";

/**
 * An In-Band Bytestream (XEP-0047) failed: the open was refused, a data
 * packet was wrong, or the stream carrying it ended. Reads, writes and
 * opens of that session reject with it.
 *
 * @example Telling why
 * ```ts
 * import { IbbError } from "@xmpp-e2e/streams/jingle";
 * import { TransportError } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const error = new IbbError("sequence", "Data packet 7 came where 5 was due");
 * assert.ok(error instanceof TransportError);
 * assert.equal(error.reason, "sequence");
 * ```
 */
export class IbbError extends TransportError {
  /** Why the session failed. */
  readonly reason: IbbErrorReason;

  /**
   * Makes an IBB error.
   *
   * @example Making one
   * ```ts
   * import { IbbError } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const error = new IbbError("declined", "The peer declined the bytestream");
   * assert.equal(error.name, "IbbError");
   * ```
   *
   * @param reason Why.
   * @param message A sentence-case message without a final period.
   * @param options The underlying cause.
   */
  constructor(reason: IbbErrorReason, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "IbbError";
    this.reason = reason;
  }
}
