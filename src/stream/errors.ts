/**
 * Typed errors of the stream layer: stream errors (RFC 6120 section 4.9),
 * negotiation failures and timeouts.
 *
 * @module
 */

/** The namespace of stream error conditions. */
export const STREAM_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-streams";

/** Every stream error condition of RFC 6120 section 4.9.3. */
export const STREAM_ERROR_CONDITIONS = [
  "bad-format",
  "bad-namespace-prefix",
  "conflict",
  "connection-timeout",
  "host-gone",
  "host-unknown",
  "improper-addressing",
  "internal-server-error",
  "invalid-from",
  "invalid-namespace",
  "invalid-xml",
  "not-authorized",
  "not-well-formed",
  "policy-violation",
  "remote-connection-failed",
  "reset",
  "resource-constraint",
  "restricted-xml",
  "see-other-host",
  "system-shutdown",
  "undefined-condition",
  "unsupported-encoding",
  "unsupported-feature",
  "unsupported-stanza-type",
  "unsupported-version",
] as const;

/** One RFC 6120 stream error condition. */
export type StreamErrorCondition = typeof STREAM_ERROR_CONDITIONS[number];

/**
 * A stream error, sent by us (`sent: true`) because the peer misbehaved, or
 * received from the peer (`sent: false`). Either way the stream is closed.
 *
 * @example Reading a stream error
 * ```ts
 * import { StreamError } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const error = new StreamError("host-unknown", { sent: false, text: "no such host" });
 * assert.equal(error.condition, "host-unknown");
 * assert.match(error.message, /host-unknown/);
 * ```
 */
export class StreamError extends Error {
  /** The RFC 6120 condition. */
  readonly condition: StreamErrorCondition;
  /** Whether we sent it (the peer misbehaved) or received it. */
  readonly sent: boolean;
  /** The human-readable text that came with it, if any. */
  readonly text: string | undefined;

  /**
   * Makes a stream error.
   *
   * @param condition The RFC 6120 condition.
   * @param options Whether it was sent or received, its text, its cause.
   */
  constructor(
    condition: StreamErrorCondition,
    options: { sent: boolean; text?: string | undefined; cause?: unknown },
  ) {
    super(
      `Stream error <${condition}/> ${options.sent ? "sent" : "received"}${
        options.text ? `: ${options.text}` : ""
      }`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = "StreamError";
    this.condition = condition;
    this.sent = options.sent;
    this.text = options.text;
  }
}

/**
 * A stream feature could not be negotiated: the peer refused it
 * (`<failure/>`), offered too little (no STARTTLS while TLS is required),
 * or the transport could not do it.
 */
export class NegotiationError extends Error {
  /** The feature, such as `"starttls"`. */
  readonly feature: string;

  /**
   * Makes a negotiation error.
   *
   * @param feature The feature.
   * @param message A sentence-case message without a final period.
   * @param options The underlying cause.
   */
  constructor(feature: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "NegotiationError";
    this.feature = feature;
  }
}

/** A deadline passed: stream header, negotiation, close, or an iq request. */
export class TimeoutError extends Error {
  /** What was being waited for, such as `"close"` or `"iq"`. */
  readonly operation: string;
  /** The deadline, in milliseconds. */
  readonly ms: number;

  /**
   * Makes a timeout error.
   *
   * @param operation What was being waited for.
   * @param ms The deadline, in milliseconds.
   */
  constructor(operation: string, ms: number) {
    super(`Timed out after ${ms} ms waiting for ${operation}`);
    this.name = "TimeoutError";
    this.operation = operation;
    this.ms = ms;
  }
}

/**
 * The stream is not open: `send()` or `request()` on a stream that is still
 * negotiating, closing or closed, and the reason iq requests still waiting
 * reject with when their stream ends without an error of its own.
 *
 * @example Sending after close
 * ```ts
 * import { StreamClosedError } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const error = new StreamClosedError("closed");
 * assert.equal(error.state, "closed");
 * assert.match(error.message, /the stream is closed/);
 * ```
 */
export class StreamClosedError extends Error {
  /** The stream's state when it refused. */
  readonly state: "negotiating" | "closing" | "closed";

  /**
   * Makes the error.
   *
   * @param state The stream's state.
   * @param what What could not be done, as the start of the message.
   */
  constructor(
    state: "negotiating" | "closing" | "closed",
    what = "Cannot send",
  ) {
    super(`${what}: the stream is ${state}`);
    this.name = "StreamClosedError";
    this.state = state;
  }
}

/**
 * A per-stream limit refused something this end asked for: too many iq
 * requests waiting for a reply, say. Nothing was sent; the stream goes on.
 *
 * @example Reading the limit
 * ```ts
 * import { LimitError } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const error = new LimitError("maxPendingRequests", 1000, "Cannot send the request");
 * assert.ok(error instanceof RangeError);
 * assert.equal(error.limit, "maxPendingRequests");
 * assert.match(error.message, /1000/);
 * ```
 */
export class LimitError extends RangeError {
  /** The option that sets the limit, such as `"maxPendingRequests"`. */
  readonly limit: string;
  /** Its value. */
  readonly max: number;

  /**
   * Makes the error.
   *
   * @param limit The option that sets the limit.
   * @param max Its value.
   * @param what What could not be done, as the start of the message.
   */
  constructor(limit: string, max: number, what: string) {
    super(`${what}: the limit ${limit} (${max}) is reached`);
    this.name = "LimitError";
    this.limit = limit;
    this.max = max;
  }
}
