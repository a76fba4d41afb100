/**
 * Parser limits and their defaults.
 *
 * @module
 */

/**
 * Limits that bound the memory a peer can make the parser hold. Exceeding one
 * raises an `XmlError` with condition `policy-violation` while
 * lexing, before more than the limit (plus the chunk at hand) is buffered.
 */
export interface ParserLimits {
  /**
   * Largest depth-1 element (stanza), and largest root start tag, in bytes.
   * Default 262,144 (256 KiB, as Prosody).
   */
  maxStanzaBytes: number;
  /** Deepest element nesting, counting the root as 1. Default 64. */
  maxDepth: number;
  /** Most attributes (namespace declarations included) on one element. Default 256. */
  maxAttributes: number;
  /** Longest element or attribute name, prefix included, in UTF-16 code units. Default 1,024. */
  maxNameLength: number;
}

/**
 * The default {@linkcode ParserLimits}.
 *
 * @example The defaults
 * ```ts
 * import { DEFAULT_LIMITS } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_LIMITS.maxStanzaBytes, 262_144);
 * assert.equal(DEFAULT_LIMITS.maxDepth, 64);
 * ```
 */
export const DEFAULT_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxStanzaBytes: 262_144,
  maxDepth: 64,
  maxAttributes: 256,
  maxNameLength: 1_024,
});
