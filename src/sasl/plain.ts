/**
 * The PLAIN SASL mechanism (RFC 4616): `[authzid] NUL authcid NUL passwd`
 * in UTF-8. No SASLprep is applied; compare identities as your server does.
 * Only use PLAIN over TLS.
 *
 * @module
 */

import { SaslError } from "./errors.ts";

/** The fields of a PLAIN initial response. */
export interface PlainMessage {
  /** The authorization identity, or `undefined` if empty. */
  authzid: string | undefined;
  /** The authentication identity. */
  authcid: string;
  /** The password. */
  password: string;
}

/**
 * Builds the PLAIN initial response (to be base64-encoded on the wire).
 *
 * @param authcid The authentication identity (non-empty, no NUL).
 * @param password The password (non-empty, no NUL).
 * @param authzid The authorization identity, if any (no NUL).
 * @returns The UTF-8 message `[authzid] NUL authcid NUL passwd`.
 * @throws {TypeError} If a field contains NUL or a required one is empty.
 *
 * @example Building a PLAIN response
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const bytes = plainInitial("tim", "tanstaaftanstaaf");
 * assert.equal(new TextDecoder().decode(bytes), "\0tim\0tanstaaftanstaaf");
 * ```
 */
export function plainInitial(
  authcid: string,
  password: string,
  authzid?: string,
): Uint8Array {
  for (const field of [authcid, password, authzid ?? ""]) {
    if (field.includes("\0")) {
      throw new TypeError("Cannot build PLAIN: a field contains NUL");
    }
  }
  if (authcid === "" || password === "") {
    throw new TypeError("Cannot build PLAIN: empty authcid or password");
  }
  return new TextEncoder().encode(`${authzid ?? ""}\0${authcid}\0${password}`);
}

/**
 * Parses a PLAIN initial response.
 *
 * @param message The decoded message bytes.
 * @returns The authorization identity, authentication identity and
 * password.
 * @throws {SaslError} `malformed-request` unless the message is valid
 * UTF-8 with exactly two NULs and a non-empty authcid and password.
 *
 * @example Parsing a PLAIN response
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("Ursel\0Kurt\0xipj3plmq");
 * assert.deepEqual(parsePlain(bytes), {
 *   authzid: "Ursel",
 *   authcid: "Kurt",
 *   password: "xipj3plmq",
 * });
 * ```
 */
export function parsePlain(message: Uint8Array): PlainMessage {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
      .decode(message);
  } catch {
    throw new SaslError("malformed-request", "PLAIN message is not UTF-8");
  }
  const fields = text.split("\0");
  const [authzid, authcid, password] = fields;
  if (
    fields.length !== 3 || authzid === undefined || !authcid || !password
  ) {
    throw new SaslError("malformed-request", "PLAIN message is malformed");
  }
  return { authzid: authzid === "" ? undefined : authzid, authcid, password };
}
