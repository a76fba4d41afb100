/**
 * `deno bench` for the check for characters XML excludes, over 16 KiB:
 * on received bytes, the four-bytes-at-a-time JavaScript search (the
 * baseline) against the WebAssembly SIMD one the parser uses; on text to
 * send, the regular expression (the baseline) against what `serialize()`
 * uses. Each iteration checks that nothing was found.
 *
 * Run: `deno task bench`.
 *
 * @module
 */

import { firstNonXmlChar, NOT_XML_CHAR } from "../src/xml/_chars.ts";
import { findNonXmlChar, hasNonXmlChar } from "../src/xml/_scan.ts";

const SIZE = 16 * 1024;
const TEXTS: Record<string, string> = {
  "ASCII": "Wherefore art thou Romeo? ",
  "ASCII, a line break every 26 bytes": "Wherefore art thou Romeo?\n",
  "Japanese": "ロミオ、あなたはなぜロミオなの？",
};

function filled(unit: string): string {
  let text = unit;
  while (new TextEncoder().encode(text).length < SIZE) text += unit;
  return text;
}

for (const [label, unit] of Object.entries(TEXTS)) {
  const text = filled(unit);
  const bytes = new TextEncoder().encode(text);
  const group = `received bytes: ${label} (${bytes.length} B)`;
  for (
    const [name, find, baseline] of [
      ["JavaScript, 4 bytes at a time", firstNonXmlChar, true],
      ["WebAssembly SIMD, 16 at a time", findNonXmlChar, false],
    ] as const
  ) {
    Deno.bench({
      name,
      group,
      baseline,
      fn() {
        if (find(bytes) !== -1) throw new Error("found one");
      },
    });
  }
}

const ascii = filled(TEXTS["ASCII"]!);
for (
  const [name, has, baseline] of [
    ["regular expression", (t: string) => NOT_XML_CHAR.test(t), true],
    ["serialize()'s check", hasNonXmlChar, false],
  ] as const
) {
  Deno.bench({
    name,
    group: `text to send: ASCII (${ascii.length} units)`,
    baseline,
    fn() {
      if (has(ascii)) throw new Error("found one");
    },
  });
}
