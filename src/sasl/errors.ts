/**
 * SASL failure conditions (RFC 6120 section 6.5) and the error that carries
 * them.
 *
 * @module
 */

/**
 * The SASL failure conditions defined by RFC 6120 section 6.5, in the order
 * the RFC lists them.
 *
 * @example Checking a condition name
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.ok(SASL_CONDITIONS.includes("not-authorized"));
 * ```
 */
export const SASL_CONDITIONS = [
  "aborted",
  "account-disabled",
  "credentials-expired",
  "encryption-required",
  "incorrect-encoding",
  "invalid-authzid",
  "invalid-mechanism",
  "malformed-request",
  "mechanism-too-weak",
  "not-authorized",
  "temporary-auth-failure",
] as const;

/** One of the RFC 6120 SASL failure conditions in {@linkcode SASL_CONDITIONS}. */
export type SaslCondition = typeof SASL_CONDITIONS[number];

/**
 * A SASL authentication failure, carrying the RFC 6120 condition to report
 * in (or read from) a `<failure/>` element.
 *
 * @example Raising and reading a SASL failure
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const error = new SaslError("not-authorized", "server signature mismatch");
 * assert.equal(error.condition, "not-authorized");
 * assert.equal(error.text, "server signature mismatch");
 * assert.match(error.message, /not-authorized/);
 * ```
 */
export class SaslError extends Error {
  /** The RFC 6120 SASL failure condition. */
  readonly condition: SaslCondition;
  /** Optional human-readable detail. */
  readonly text?: string;

  /**
   * Creates a SASL failure.
   *
   * @example Making one
   * ```ts
   * import { SaslError } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const error = new SaslError("not-authorized", "Wrong password");
   * assert.equal(error.message, "SASL failure: not-authorized: Wrong password");
   * ```
   *
   * @param condition The RFC 6120 SASL failure condition.
   * @param text Optional human-readable detail.
   */
  constructor(condition: SaslCondition, text?: string) {
    super(
      `SASL failure: ${condition}${text === undefined ? "" : `: ${text}`}`,
    );
    this.name = "SaslError";
    this.condition = condition;
    if (text !== undefined) this.text = text;
  }
}
