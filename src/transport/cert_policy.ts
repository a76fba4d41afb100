/**
 * One certificate policy for every transport, and the one error that tells
 * why a peer's certificate was refused.
 *
 * The policy, on the peer's leaf certificate:
 *
 * - `ca-as-leaf`: basicConstraints `CA:true` on a leaf is refused, even as
 *   its own trust anchor or pinned.
 * - `weak-key`: RSA keys under 2048 bits, elliptic curve keys under 256 bits
 *   (P-192, P-224, ...).
 * - `expired`, `not-yet-valid`: outside notBefore..notAfter, give or take
 *   {@linkcode CERTIFICATE_CLOCK_SKEW_MS} (two minutes) where this package
 *   reads the dates itself (a pinned certificate, a client certificate,
 *   {@linkcode checkCertificate}); the TLS stacks' own chain checks (the
 *   `caCerts` modes) allow no skew.
 * - `name-mismatch`, when a name is checked: a DNS name matches a
 *   subjectAltName dNSName exactly (case-insensitive) or by a wildcard that
 *   is the whole leftmost label (`*.example.org` matches `a.example.org`,
 *   not `example.org` nor `a.b.example.org`, and needs two labels after
 *   it); an IP address matches only an iPAddress entry. The subject's
 *   common name is never used (RFC 9525, and rustls).
 * - `untrusted`: no chain to a trust anchor (or a handshake signature that
 *   does not verify); `pin-mismatch`: not the pinned certificate;
 *   `peer-changed`: not the certificate remembered for the peer.
 *
 * @module
 */

import { TransportError } from "./transport.ts";
import { fingerprint256 } from "./certificate.ts";
import {
  CLOCK_SKEW_MS,
  leafFailure,
  nameFailure,
  pinMessage,
} from "./_cert_rules.ts";

/** Why a peer's certificate was refused. */
export type CertificateFailure =
  | "expired"
  | "not-yet-valid"
  | "name-mismatch"
  | "untrusted"
  | "ca-as-leaf"
  | "weak-key"
  | "pin-mismatch"
  | "peer-changed";

/**
 * How far outside its validity a certificate may be, in milliseconds, where
 * this package checks the dates itself: clocks of two peers differ.
 *
 * @example The value
 * ```ts
 * import { CERTIFICATE_CLOCK_SKEW_MS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.ok(CERTIFICATE_CLOCK_SKEW_MS > 0);
 * ```
 */
export const CERTIFICATE_CLOCK_SKEW_MS: number = CLOCK_SKEW_MS;

/** Options of a {@linkcode CertificateError}. */
export interface CertificateErrorOptions extends ErrorOptions {
  /** The SHA-256 fingerprint of the refused certificate, when known. */
  fingerprint256?: string | undefined;
}

/**
 * Thrown by `startTls()` (and {@linkcode checkCertificate}) when the peer's
 * certificate is refused; the transport is closed. `reason` says why, the
 * same on every transport.
 *
 * @example Tell a refused certificate from other failures
 * ```ts
 * import { CertificateError, TransportError } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const error = new CertificateError(
 *   "expired",
 *   "The peer's certificate expired",
 * );
 * assert.ok(error instanceof TransportError);
 * assert.equal(error.reason, "expired");
 * assert.equal(error.fingerprint256, undefined);
 * ```
 */
export class CertificateError extends TransportError {
  /** The error's name. */
  override readonly name: string = "CertificateError";
  /** Why the certificate was refused. */
  readonly reason: CertificateFailure;
  /**
   * SHA-256 of the refused certificate (`"AB:CD:..."`), when the transport
   * saw it (`Deno.startTls` never shows it).
   */
  readonly fingerprint256: string | undefined;

  /**
   * Makes the error.
   *
   * @example A pin mismatch with the certificate that was presented
   * ```ts
   * import { CertificateError } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const error = new CertificateError("pin-mismatch", "Not the pinned one", {
   *   fingerprint256: "AB:".repeat(31) + "AB",
   * });
   * assert.equal(error.name, "CertificateError");
   * assert.match(error.fingerprint256!, /^AB:/);
   * ```
   *
   * @param reason Why the certificate was refused.
   * @param message A sentence-case message without a final period.
   * @param options The certificate's fingerprint, and the cause.
   */
  constructor(
    reason: CertificateFailure,
    message: string,
    options: CertificateErrorOptions = {},
  ) {
    const { fingerprint256, ...errorOptions } = options;
    super(message, errorOptions);
    this.reason = reason;
    this.fingerprint256 = fingerprint256;
  }
}

/** What {@linkcode checkCertificate} checks besides the leaf itself. */
export interface CertificatePolicyOptions {
  /**
   * The DNS name or IP address the certificate must be valid for. Without
   * it, names are not checked.
   */
  serverName?: string;
  /** The time to check validity at. Defaults to now. */
  now?: Date;
}

/**
 * Checks a leaf certificate against the policy every transport applies
 * (see the module's documentation): not a CA, a strong enough key, within
 * its validity give or take {@linkcode CERTIFICATE_CLOCK_SKEW_MS}, and
 * valid for `serverName` when given. It does not check who issued it.
 *
 * @example Refuse a certificate for another name
 * ```ts
 * import {
 *   CertificateError,
 *   checkCertificate,
 *   generateCertificate,
 *   pemToDer,
 * } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const cert = await generateCertificate({ names: ["pronto.example"] });
 * const der = pemToDer(cert.certPem);
 * await checkCertificate(der, { serverName: "PRONTO.example." });
 * await assert.rejects(
 *   checkCertificate(der, { serverName: "forza.example" }),
 *   (e) => e instanceof CertificateError && e.reason === "name-mismatch",
 * );
 * ```
 *
 * @param der The leaf certificate, DER.
 * @param options The name to check, and the time.
 * @returns Resolves when the certificate passes.
 * @throws {CertificateError} When it does not; `untrusted` when it cannot
 *   be read.
 */
export async function checkCertificate(
  der: Uint8Array,
  options: CertificatePolicyOptions = {},
): Promise<void> {
  const now = options.now?.getTime() ?? Date.now();
  const failure = leafFailure(der, now) ??
    (options.serverName === undefined
      ? undefined
      : nameFailure(der, options.serverName));
  if (failure !== undefined) {
    throw new CertificateError(failure.reason, failure.message, {
      fingerprint256: await fingerprint256(der),
    });
  }
}

/**
 * Makes the `pin-mismatch` error for a peer whose certificate is not the
 * pinned one, for callers that check a pin themselves (a recipient pinning
 * its initiator's client certificate).
 *
 * @example Refuse an initiator's certificate
 * ```ts
 * import { pinMismatchError } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const error = pinMismatchError("AB:".repeat(31) + "AB");
 * assert.equal(error.reason, "pin-mismatch");
 * assert.match(error.message, /pinned/);
 * ```
 *
 * @param fingerprint256 The fingerprint of the certificate presented, or
 *   `undefined` when none was.
 * @param options The cause, if any.
 * @returns The error, to throw.
 */
export function pinMismatchError(
  fingerprint256: string | undefined,
  options?: ErrorOptions,
): CertificateError {
  return new CertificateError("pin-mismatch", pinMessage(fingerprint256), {
    ...options,
    fingerprint256,
  });
}
