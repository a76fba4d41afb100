/**
 * Constant-time byte comparison.
 *
 * @module
 */

/**
 * Compares two byte arrays in time that depends only on their lengths, not
 * on where they differ. Use it for MACs, proofs and signatures. Lengths are
 * not treated as secret: arrays of different lengths compare unequal at once.
 *
 * @param a The first byte array.
 * @param b The second byte array.
 * @returns `true` if both arrays hold the same bytes.
 *
 * @example Comparing two signatures
 * ```ts
 * import assert from "node:assert/strict";
 *
 * assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])), true);
 * assert.equal(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])), false);
 * ```
 */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
