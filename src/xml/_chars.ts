// Character classes and UTF-8 helpers for the tokenizer. Private module.

import { Buffer } from "node:buffer";

// Ranges at least this long are measured natively (about 13x a loop over
// 4,096 code units of mixed text); shorter ones by the loop, which costs no
// call.
const NATIVE_LENGTH = 64;

/** Bit set in {@link ASCII_CLASS}: may start a name (no colon). */
export const NAME_START = 1;
/** Bit set in {@link ASCII_CLASS}: may continue a name (no colon). */
export const NAME_CHAR = 2;
/** Bit set in {@link ASCII_CLASS}: XML white space. */
export const SPACE = 4;

/** Class bits of the 128 ASCII code units. */
export const ASCII_CLASS: Uint8Array = (() => {
  const table = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    const ch = String.fromCharCode(c);
    if (/[A-Za-z_]/.test(ch)) table[c] = NAME_START | NAME_CHAR;
    else if (/[0-9.\-]/.test(ch)) table[c] = NAME_CHAR;
  }
  for (const c of [0x20, 0x09, 0x0a, 0x0d]) table[c] = SPACE;
  return table;
})();

/**
 * NameStartChar of XML 1.0 fifth edition for a UTF-16 code unit at or above
 * 0x80. A high surrogate counts when its pair lands in #x10000-#xEFFFF; the
 * decoder guarantees a low surrogate follows it.
 */
export function isNameStartNonAscii(c: number): boolean {
  return (c >= 0xc0 && c <= 0xd6) || (c >= 0xd8 && c <= 0xf6) ||
    (c >= 0xf8 && c <= 0x2ff) || (c >= 0x370 && c <= 0x37d) ||
    (c >= 0x37f && c <= 0x1fff) || c === 0x200c || c === 0x200d ||
    (c >= 0x2070 && c <= 0x218f) || (c >= 0x2c00 && c <= 0x2fef) ||
    (c >= 0x3001 && c <= 0xd7ff) || (c >= 0xd800 && c <= 0xdb7f) ||
    (c >= 0xf900 && c <= 0xfdcf) || (c >= 0xfdf0 && c <= 0xfffd);
}

/** NameChar of XML 1.0 fifth edition for a code unit at or above 0x80. */
export function isNameCharNonAscii(c: number): boolean {
  return isNameStartNonAscii(c) || c === 0xb7 ||
    (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040;
}

/**
 * Code units that are never XML Chars once UTF-8 decoding succeeded: C0
 * controls other than tab, line feed and carriage return, U+FFFE and U+FFFF.
 * (The fatal decoder already refuses encoded surrogates.)
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
export const NOT_XML_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]/;

/** Whether a code point is an XML Char (for character references). */
export function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff);
}

/**
 * UTF-8 length of `text.slice(start, end)`, for text decoded from UTF-8
 * (no lone surrogate), of which the range may cut a surrogate pair at either
 * end: each half then counts two bytes.
 */
export function utf8Length(text: string, start: number, end: number): number {
  if (end - start >= NATIVE_LENGTH) {
    // A slice views the text; its length is counted natively, where a half
    // of a pair counts three bytes (U+FFFD): two here.
    let bytes = Buffer.byteLength(text.slice(start, end), "utf8");
    if ((text.charCodeAt(start) & 0xfc00) === 0xdc00) bytes--;
    if ((text.charCodeAt(end - 1) & 0xfc00) === 0xd800) bytes--;
    return bytes;
  }
  let bytes = end - start;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) {
      // Two bytes below 0x800, three above; a surrogate pair is two units of
      // two extra bytes each (4 bytes in all).
      bytes += c < 0x800 || (c & 0xf800) === 0xd800 ? 1 : 2;
    }
  }
  return bytes;
}

/**
 * Bytes at the end of `bytes` that start a UTF-8 sequence the chunk does not
 * complete (0 to 3). Invalid sequences count as complete: the decoder will
 * reject them.
 */
export function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = bytes[n - back]!;
    if ((b & 0xc0) === 0x80) continue; // continuation byte, look further back
    const need = b >= 0xf0 && b <= 0xf4
      ? 4
      : b >= 0xe0 && b < 0xf0
      ? 3
      : b >= 0xc2 && b < 0xe0
      ? 2
      : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/**
 * Offset of the first byte where `bytes` stops being valid UTF-8 (the
 * WHATWG decoder's rules: no overlongs, no surrogates, nothing above
 * U+10FFFF), or -1 when all of it is valid.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number, lower = 0x80, upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      if (b === 0xf4) upper = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return i;
      const c = bytes[i + k]!;
      if (c < lower || c > upper) return i;
      lower = 0x80;
      upper = 0xbf;
    }
    i += need + 1;
  }
  return -1;
}

/**
 * Offset of the first byte of `bytes` (valid UTF-8) that encodes a character
 * outside XML's Char production: a C0 control other than tab, line feed and
 * carriage return, or U+FFFE / U+FFFF (EF BF BE / EF BF BF). -1 if none.
 * Reads four bytes at a time; this runs on every byte of input.
 */
export function firstNonXmlChar(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  const head = Math.min(n, (4 - (bytes.byteOffset & 3)) & 3);
  for (; i < head; i++) if (isSuspect(bytes[i]!) && isBad(bytes, i)) return i;
  const words = (n - i) >> 2;
  if (words > 0) {
    const view = new Uint32Array(bytes.buffer, bytes.byteOffset + i, words);
    for (let w = 0; w < words; w++) {
      const x = view[w]!;
      const y = x ^ 0xefefefef; // a zero byte where x has 0xEF
      // Some byte below 0x20, or some byte equal to 0xEF (the classic
      // "has less than" and "has zero byte" bit tricks).
      if ((((x - 0x20202020) & ~x) | ((y - 0x01010101) & ~y)) & 0x80808080) {
        const at = i + w * 4;
        for (let k = at; k < at + 4; k++) {
          if (isSuspect(bytes[k]!) && isBad(bytes, k)) return k;
        }
      }
    }
    i += words * 4;
  }
  for (; i < n; i++) if (isSuspect(bytes[i]!) && isBad(bytes, i)) return i;
  return -1;
}

function isSuspect(b: number): boolean {
  return b < 0x20 || b === 0xef;
}

function isBad(bytes: Uint8Array, i: number): boolean {
  const b = bytes[i]!;
  if (b === 0xef) {
    return bytes[i + 1] === 0xbf &&
      (bytes[i + 2] === 0xbe || bytes[i + 2] === 0xbf);
  }
  return b !== 0x09 && b !== 0x0a && b !== 0x0d;
}
