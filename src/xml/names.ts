/**
 * Name checks of XML 1.0 fifth edition with Namespaces, on the character
 * tables the tokenizer uses.
 *
 * @module
 */

import {
  ASCII_CLASS,
  isNameCharNonAscii,
  isNameStartNonAscii,
  NAME_CHAR,
  NAME_START,
} from "./_chars.ts";

const SIMPLE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Whether a string is an XML name without a colon (an NCName), which is what
 * element local names, attribute local names and prefixes must be.
 *
 * @param name Any string.
 * @returns Whether it is an NCName.
 *
 * @example Checking names
 * ```ts
 * import { isNcName } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isNcName("body"));
 * assert.ok(isNcName("\u{10000}x"));
 * assert.ok(!isNcName("1st"));
 * assert.ok(!isNcName("stream:features"));
 * ```
 */
export function isNcName(name: string): boolean {
  if (SIMPLE.test(name)) return true;
  let ok = name.length > 0;
  for (let i = 0; ok && i < name.length; i++) {
    const c = name.charCodeAt(i);
    const start = i === 0;
    if (c < 0x80) {
      ok = (ASCII_CLASS[c]! & (start ? NAME_START : NAME_CHAR)) !== 0;
    } else ok = start ? isNameStartNonAscii(c) : isNameCharNonAscii(c);
    if (ok && c >= 0xd800 && c <= 0xdbff) {
      // A high surrogate in range stands for #x10000-#xEFFFF; its low half
      // must follow.
      const low = name.charCodeAt(++i);
      ok = low >= 0xdc00 && low <= 0xdfff;
    }
  }
  return ok;
}
