// The search for bytes that encode no XML character, over the whole input:
// 16 bytes at a time in WebAssembly (SIMD) for all but short chunks, where
// the four-bytes-at-a-time JavaScript search is as fast. The module is
// assembled by scripts/wasm/scan_wasm.ts (where it can be read op by op);
// without WebAssembly SIMD the JavaScript search does all of it.
// Private module.

import { firstNonXmlChar, NOT_XML_CHAR, utf8Length } from "./_chars.ts";
import { SCAN_WASM } from "./_scan_wasm.ts";

// Shorter input goes to the JavaScript search (the copy and the call cost
// more than they save); shorter text to the regular expression.
const MIN_BYTES = 128;
const MIN_UNITS = 1024;
// Input is copied into the module's one page of memory this much at a time,
// with the two bytes after it (the U+FFFE/F check reads them) and spaces up
// to the end of the last step (two 16-byte blocks) and two bytes past it.
const WINDOW = 32 * 1024;
const PAD = 2 + 32;
// What `scan()` names is a 16-byte block: a bad character starts in it, and
// may end two bytes past it.
const BLOCK = 16 + 2;

interface Scanner {
  /** The module's memory: input goes in from offset 0. */
  memory: Uint8Array;
  /**
   * Puts spaces after the `filled` bytes written to memory, to the end of
   * the last step, and returns the offset of the first 16-byte block of
   * `[0, len)` that holds a bad character, or -1.
   */
  scan(filled: number, len: number): number;
}

let loaded: Scanner | null | undefined; // null: no WebAssembly SIMD here

/** The module, made on first use; null where it cannot be. */
function scanner(): Scanner | null {
  return loaded ??= load();
}

function load(): Scanner | null {
  try {
    const instance = new WebAssembly.Instance(
      new WebAssembly.Module(SCAN_WASM as Uint8Array<ArrayBuffer>),
    );
    const exports = instance.exports as {
      memory: WebAssembly.Memory;
      scan: (len: number) => number;
    };
    const memory = new Uint8Array(exports.memory.buffer);
    return {
      memory,
      scan(filled, len) {
        memory.fill(0x20, filled, len + PAD);
        return exports.scan(len);
      },
    };
  } catch {
    return null;
  }
}

/**
 * Offset of the first byte of `bytes` (valid UTF-8) that encodes a character
 * outside XML's Char production: a C0 control other than tab, line feed and
 * carriage return, or U+FFFE / U+FFFF. -1 if none. The same answer as
 * `firstNonXmlChar()` of _chars.ts, which it uses for short input.
 */
export function findNonXmlChar(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n < MIN_BYTES) return firstNonXmlChar(bytes);
  const s = scanner();
  if (s === null) return firstNonXmlChar(bytes);
  for (let start = 0; start < n; start += WINDOW) {
    const len = Math.min(WINDOW, n - start);
    // The window, and what follows it (for the U+FFFE/F check).
    const copied = Math.min(len + 2, n - start);
    s.memory.set(bytes.subarray(start, start + copied));
    const block = s.scan(copied, len);
    if (block < 0) continue;
    // The first bad byte from that block on: in it, or in the two bytes
    // after it (the next window's first). None if what was found lies past
    // the input (a space there is no find, but it costs a look).
    const from = start + block;
    const found = firstNonXmlChar(
      bytes.subarray(from, Math.min(n, from + BLOCK)),
    );
    if (found >= 0) return from + found;
  }
  return -1;
}

const encoder = new TextEncoder();

/**
 * Whether `text` holds a character outside XML's Char production other
 * than a surrogate (a C0 control other than tab, line feed and carriage
 * return, or U+FFFE / U+FFFF): `NOT_XML_CHAR.test(text)`, with long ASCII
 * text searched as bytes (its UTF-8 is its code units, which
 * `TextEncoder.encodeInto` writes out at memory speed; other text it
 * encodes far slower than the regular expression reads it).
 */
export function hasNonXmlChar(text: string): boolean {
  const n = text.length;
  // ASCII exactly when each code unit is one byte (a surrogate counts two).
  if (n < MIN_UNITS || utf8Length(text, 0, n) !== n) {
    return NOT_XML_CHAR.test(text);
  }
  const s = scanner();
  if (s === null) return NOT_XML_CHAR.test(text);
  for (let start = 0; start < n; start += WINDOW) {
    const part = n <= WINDOW ? text : text.slice(start, start + WINDOW);
    const len = encoder.encodeInto(part, s.memory).written;
    // ASCII holds no U+FFFE/F: a block found holds a control character
    // (the regular expression says so, in this part only).
    if (s.scan(len, len) >= 0 && NOT_XML_CHAR.test(part)) return true;
  }
  return false;
}
