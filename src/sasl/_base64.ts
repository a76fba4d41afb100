// Strict base64 (RFC 4648 section 4), for SASL messages and IBB data
// packets: the runtime's own codec where it has one
// (Uint8Array.prototype.toBase64 and Uint8Array.fromBase64, several times
// faster than going through binary strings on blocks of kilobytes), else a
// portable one. Both are strict: padded, canonical, no whitespace.

const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const WHITESPACE = /[\t\n\f\r ]/;

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

/** Encodes bytes as padded base64. */
export function encodeBase64(bytes: Uint8Array): string {
  return toBase64 !== undefined
    ? toBase64.call(bytes)
    : portableEncodeBase64(bytes);
}

/**
 * Decodes canonical padded base64, or returns `undefined` for anything else
 * (bad characters, bad padding, non-zero pad bits, white space).
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (native.fromBase64 === undefined || toBase64 === undefined) {
    return portableDecodeBase64(text);
  }
  if (WHITESPACE.test(text)) return undefined;
  try {
    return native.fromBase64(text, { lastChunkHandling: "strict" });
  } catch {
    return undefined;
  }
}

/** {@linkcode encodeBase64} without the runtime's codec (tested against it). */
export function portableEncodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** {@linkcode decodeBase64} without the runtime's codec (tested against it). */
export function portableDecodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return portableEncodeBase64(bytes) === text ? bytes : undefined;
}
