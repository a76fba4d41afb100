// Shared SCRAM helpers: message syntax (RFC 5802 section 7), a minimal
// SASLprep, and key derivation (RFC 5802 section 3).

import { digest, hmac } from "./_crypto.ts";
import { encodeBase64 } from "./_base64.ts";
import { SaslError } from "./errors.ts";

/** The hash functions SCRAM is defined for here. */
export type ScramHash = "SHA-1" | "SHA-256" | "SHA-512";

const encoder = new TextEncoder();

/** UTF-8 encodes a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Concatenates byte arrays. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// RFC 3454 C.1.2 (non-ASCII space), mapped to SPACE by RFC 4013.
const NON_ASCII_SPACE = /[\u00A0\u1680\u2000-\u200B\u202F\u205F\u3000]/g;
// RFC 3454 B.1 (commonly mapped to nothing).
const MAPPED_TO_NOTHING =
  /[\u00AD\u034F\u1806\u180B-\u180D\u200C\u200D\u2060\uFE00-\uFE0F\uFEFF]/g;

/**
 * A minimal SASLprep (RFC 4013): maps non-ASCII spaces to SPACE, drops the
 * characters "commonly mapped to nothing", applies NFKC and rejects control
 * characters and lone surrogates. Full SASLprep (prohibited and unassigned
 * code points, bidi rules) and PRECIS (RFC 8265) are not implemented.
 */
export function saslPrep(text: string, what: string): string {
  if (!text.isWellFormed()) {
    throw new SaslError("malformed-request", `${what} is not well-formed`);
  }
  const out = text.replace(NON_ASCII_SPACE, " ").replace(MAPPED_TO_NOTHING, "")
    .normalize("NFKC");
  for (let i = 0; i < out.length; i++) {
    const c = out.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      throw new SaslError(
        "malformed-request",
        `${what} contains a control character`,
      );
    }
  }
  return out;
}

/** Escapes a name for the `n=` and `a=` attributes. */
export function escapeSaslname(name: string): string {
  return name.replaceAll("=", "=3D").replaceAll(",", "=2C");
}

/** Unescapes a saslname, or returns `undefined` if it is malformed. */
export function unescapeSaslname(value: string): string | undefined {
  if (value === "" || value.includes(",")) return undefined;
  if (/=(?!2C|3D)/.test(value)) return undefined;
  return value.replaceAll("=2C", ",").replaceAll("=3D", "=");
}

/** Whether `nonce` is a valid SCRAM nonce (printable ASCII except ','). */
export function isNonce(nonce: string): boolean {
  return /^[\x21-\x2b\x2d-\x7e]+$/.test(nonce);
}

/** A fresh random nonce: 18 random bytes as base64 (24 characters). */
export function randomNonce(): string {
  return encodeBase64(crypto.getRandomValues(new Uint8Array(18)));
}

/** Whether `part` looks like an extension attribute (`x=value`). */
export function isAttribute(part: string): boolean {
  return /^[A-Za-z]=/.test(part);
}

/** ClientKey, StoredKey and ServerKey from SaltedPassword. */
export async function scramKeys(
  hash: ScramHash,
  saltedPassword: Uint8Array,
): Promise<
  { clientKey: Uint8Array; storedKey: Uint8Array; serverKey: Uint8Array }
> {
  const clientKey = await hmac(hash, saltedPassword, utf8("Client Key"));
  const storedKey = await digest(hash, clientKey);
  const serverKey = await hmac(hash, saltedPassword, utf8("Server Key"));
  return { clientKey, storedKey, serverKey };
}

/** Maps a SCRAM `e=` server-error-value to an RFC 6120 SASL condition. */
export function serverErrorCondition(
  value: string,
): "incorrect-encoding" | "temporary-auth-failure" | "not-authorized" {
  if (value === "invalid-encoding") return "incorrect-encoding";
  if (value === "no-resources") return "temporary-auth-failure";
  return "not-authorized";
}
