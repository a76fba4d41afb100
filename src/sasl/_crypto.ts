// Web Crypto helpers for SCRAM (RFC 5802 section 2.2).

import type { ScramHash } from "./_scram.ts";

/** Copies into a fresh ArrayBuffer-backed array, as Web Crypto wants. */
function buf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes);
}

/** HMAC(key, data). */
export async function hmac(
  hash: ScramHash,
  key: Uint8Array,
  data: Uint8Array,
): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    buf(key),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, buf(data)));
}

/** H(data). */
export async function digest(
  hash: ScramHash,
  data: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(hash, buf(data)));
}

/** Hi(password, salt, i): PBKDF2 with HMAC, one hash-length block. */
export async function hi(
  hash: ScramHash,
  password: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey(
    "raw",
    buf(password),
    "PBKDF2",
    false,
    [
      "deriveBits",
    ],
  );
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash, salt: buf(salt), iterations },
    k,
    hashLength(hash) * 8,
  );
  return new Uint8Array(bits);
}

/** The output length of the hash, in bytes. */
export function hashLength(hash: ScramHash): number {
  return hash === "SHA-1" ? 20 : hash === "SHA-256" ? 32 : 64;
}

/** a XOR b (same lengths). */
export function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}
