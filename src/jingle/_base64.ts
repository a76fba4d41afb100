// Base64 for IBB data packets: the runtime's own codec where it has one
// (Uint8Array.prototype.toBase64 and Uint8Array.fromBase64, several times
// faster than going through binary strings on blocks of kilobytes), else
// the package's portable one. Both are strict: padded, canonical, no
// whitespace.

import {
  decodeBase64 as portableDecode,
  encodeBase64 as portableEncode,
} from "../sasl/_base64.ts";

interface NativeBase64 {
  fromBase64(
    text: string,
    options: { lastChunkHandling: "strict" },
  ): Uint8Array;
}

const native = Uint8Array as unknown as Partial<NativeBase64>;
const toBase64 = (Uint8Array.prototype as unknown as {
  toBase64?: (this: Uint8Array) => string;
}).toBase64;
const WHITESPACE = /[\t\n\f\r ]/;

/** Encodes bytes as padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return toBase64 !== undefined ? toBase64.call(bytes) : portableEncode(bytes);
}

/** Decodes canonical padded base64, or returns `undefined` for anything else. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (native.fromBase64 === undefined || toBase64 === undefined) {
    return portableDecode(text);
  }
  if (WHITESPACE.test(text)) return undefined;
  try {
    return native.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}
