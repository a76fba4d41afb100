/**
 * Typed errors of the stream layer: stream errors (RFC 6120 section 4.9),
 * negotiation failures and timeouts.
 *
 * @module
 */

/** The namespace of stream error conditions. */
export const STREAM_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-streams";

/**
 * Every stream error condition of RFC 6120 section 4.9.3.
 *
 * @example Checking a condition name
 * ```ts
 * import { STREAM_ERROR_CONDITIONS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.ok(STREAM_ERROR_CONDITIONS.includes("policy-violation"));
 * ```
 */
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
   * @example A stream error we sent
   * ```ts
   * import { StreamError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const error = new StreamError("host-unknown", { sent: true, text: "No such host here" });
   * assert.equal(error.message, "Stream error <host-unknown/> sent: No such host here");
   * ```
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
 *
 * @example A peer that offers no STARTTLS
 * ```ts
 * import { initiate, listen, NegotiationError } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * // A listener in plaintext; romeo requires TLS (the default) and stops.
 * const listener = await listen({ from: "juliet@pronto", tls: "off" });
 * listener.accept();
 * await assert.rejects(
 *   initiate({ from: "romeo@forza", to: "juliet@pronto", hostname: "127.0.0.1", port: listener.addr.port }),
 *   (error: unknown) => error instanceof NegotiationError && error.feature === "starttls",
 * );
 * await listener.close();
 * ```
 */
export class NegotiationError extends Error {
  /** The feature, such as `"starttls"`. */
  readonly feature: string;

  /**
   * Makes a negotiation error.
   *
   * @example Making one
   * ```ts
   * import { NegotiationError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const error = new NegotiationError("sasl", "No mechanism in common");
   * assert.equal(error.feature, "sasl");
   * ```
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

/**
 * A deadline passed: stream header, negotiation, close, or an iq request.
 *
 * @example A request nobody answers
 * ```ts
 * import { initiate, iq, memoryPair, Session, TimeoutError, xml } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = memoryPair();
 * const juliet = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
 *   juliet.negotiate(),
 * ]);
 * juliet.intercept(() => true); // juliet swallows everything and answers nothing
 * await assert.rejects(
 *   romeo.request(iq({ type: "get", to: "juliet@pronto" }, xml("ping", { xmlns: "urn:xmpp:ping" })), { timeoutMs: 50 }),
 *   TimeoutError,
 * );
 * await romeo.close();
 * ```
 */
export class TimeoutError extends Error {
  /** What was being waited for, such as `"close"` or `"iq"`. */
  readonly operation: string;
  /** The deadline, in milliseconds. */
  readonly ms: number;

  /**
   * Makes a timeout error.
   *
   * @example Making one
   * ```ts
   * import { TimeoutError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const error = new TimeoutError("the stream header", 10_000);
   * assert.equal(error.message, "Timed out after 10000 ms waiting for the stream header");
   * assert.equal(error.ms, 10_000);
   * ```
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
   * @example Sending on a closed stream
   * ```ts
   * import { StreamClosedError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const error = new StreamClosedError("closed");
   * assert.equal(error.message, "Cannot send: the stream is closed");
   * ```
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
   * @example Making one
   * ```ts
   * import { LimitError } from "@xmpp-e2e/streams";
   * import assert from "node:assert/strict";
   *
   * const error = new LimitError("maxPendingRequests", 1000, "Cannot send the request");
   * assert.ok(error instanceof RangeError);
   * assert.equal(error.max, 1000);
   * ```
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
