/**
 * Run by scan_test.ts: the character check where there is no WebAssembly
 * (taken away before the first check loads the module). Prints, as JSON,
 * what it found in inputs long enough for the module.
 *
 * @module
 */

delete (globalThis as { WebAssembly?: unknown }).WebAssembly;
const { findNonXmlChar, hasNonXmlChar } = await import(
  "../../src/xml/_scan.ts"
);

const bytes = new Uint8Array(40_000).fill(0x61);
bytes[35_000] = 0x01;
console.log(JSON.stringify({
  wasm: typeof (globalThis as { WebAssembly?: unknown }).WebAssembly,
  found: findNonXmlChar(bytes),
  clean: findNonXmlChar(bytes.subarray(0, 30_000)),
  text: hasNonXmlChar("a".repeat(5000) + "\u0001"),
  cleanText: hasNonXmlChar("a".repeat(5000)),
}));
