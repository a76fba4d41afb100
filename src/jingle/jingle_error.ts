/**
 * The typed error a Jingle session (XEP-0166) ends with.
 *
 * @module
 */

/**
 * Why a Jingle session ended, as XEP-0166 (section 7.4) names it.
 */
export type JingleReason =
  | "alternative-session"
  | "busy"
  | "cancel"
  | "connectivity-error"
  | "decline"
  | "expired"
  | "failed-application"
  | "failed-transport"
  | "general-error"
  | "gone"
  | "incompatible-parameters"
  | "media-error"
  | "security-error"
  | "success"
  | "timeout"
  | "unsupported-applications"
  | "unsupported-transports";

/**
 * Why a Jingle session failed:
 * - `declined`: the peer declined (`session-terminate` with `decline`, or
 *   `busy`), or its handler did here;
 * - `terminated`: the peer ended the session with another reason (see
 *   {@linkcode JingleError.condition});
 * - `rejected`: the peer answered a Jingle request with an error (it does
 *   not do Jingle, or not with us; see the `cause`);
 * - `failed-transport`: no transport worked (no SOCKS5 candidate, and no
 *   fallback to In-Band Bytestreams, or that failed too);
 * - `timeout`: the peer did not answer or act in time;
 * - `bad-peer`: the peer broke the protocol (a transport never offered, a
 *   candidate it did not have);
 * - `stream-ended`: the client stream carrying the session ended, or the
 *   engine was closed.
 */
export type JingleErrorReason =
  | "declined"
  | "terminated"
  | "rejected"
  | "failed-transport"
  | "timeout"
  | "bad-peer"
  | "stream-ended";

/**
 * A Jingle session could not be set up, or ended otherwise than in order.
 *
 * @example Telling why
 * ```ts
 * import { JingleError } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * const error = new JingleError("declined", "The peer declined the session", { condition: "decline" });
 * assert.ok(error instanceof Error);
 * assert.equal(error.reason, "declined");
 * assert.equal(error.condition, "decline");
 * ```
 */
export class JingleError extends Error {
  /** Why the session failed. */
  readonly reason: JingleErrorReason;
  /** The Jingle reason the peer gave when it ended the session, if any. */
  readonly condition: JingleReason | undefined;

  /**
   * Makes a Jingle error.
   *
   * @example Making one
   * ```ts
   * import { JingleError } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const error = new JingleError("timeout", "The peer did not accept in time");
   * assert.equal(error.name, "JingleError");
   * assert.equal(error.condition, undefined);
   * ```
   *
   * @param reason Why.
   * @param message A sentence-case message without a final period.
   * @param options The peer's Jingle reason, the underlying cause.
   */
  constructor(
    reason: JingleErrorReason,
    message: string,
    options: ErrorOptions & { condition?: JingleReason | undefined } = {},
  ) {
    super(
      message,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "JingleError";
    this.reason = reason;
    this.condition = options.condition;
  }
}
