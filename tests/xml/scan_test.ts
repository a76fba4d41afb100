/**
 * The vectorised search for bytes that encode no XML character: the module
 * is what its script assembles, and it finds what the JavaScript search
 * finds, wherever the bad bytes are (block and window edges included).
 */

import assert from "node:assert/strict";
import { probe } from "../_probe.ts";
import {
  firstNonXmlChar,
  NOT_XML_CHAR,
  utf8Length,
} from "../../src/xml/_chars.ts";
import { findNonXmlChar, hasNonXmlChar } from "../../src/xml/_scan.ts";
import { SCAN_WASM } from "../../src/xml/_scan_wasm.ts";
import { assemble } from "../../scripts/wasm/scan_wasm.ts";
import { Random } from "../../bench/_random.ts";

function seededRandom(seed: number): () => number {
  const source = new Random(seed);
  return () => source.next();
}

Deno.test("the module's bytes are what scripts/wasm/scan_wasm.ts assembles, and WebAssembly takes them", () => {
  assert.deepEqual(SCAN_WASM, assemble());
  assert.ok(WebAssembly.validate(SCAN_WASM as Uint8Array<ArrayBuffer>));
});

// Bytes that matter to the search, often; the rest at random.
const INTERESTING = [
  0x00,
  0x01,
  0x08,
  0x09,
  0x0a,
  0x0b,
  0x0d,
  0x1f,
  0x20,
  0xef,
  0xbf,
  0xbe,
  0x7f,
  0x80,
];

function randomBytes(
  random: () => number,
  n: number,
  rate: number,
): Uint8Array {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    bytes[i] = random() < rate
      ? INTERESTING[Math.floor(random() * INTERESTING.length)]!
      : 0x20 + Math.floor(random() * 0x5f);
  }
  return bytes;
}

Deno.test("findNonXmlChar() answers as the JavaScript search on random input of every length to 300 bytes", () => {
  const random = seededRandom(20261203);
  for (let t = 0; t < 30_000; t++) {
    const n = Math.floor(random() * 300);
    const bytes = randomBytes(random, n, random() * 0.05);
    assert.equal(
      findNonXmlChar(bytes),
      firstNonXmlChar(bytes),
      `${[...bytes]}`,
    );
  }
});

Deno.test("findNonXmlChar() finds one bad character at every place around block and window edges, and in views", () => {
  const plain = new Uint8Array(70_000).fill(0x61);
  const places = [0, 1, 15, 16, 17, 127, 128, 129];
  for (const edge of [32 * 1024, 64 * 1024]) {
    for (let d = -20; d <= 20; d++) places.push(edge + d);
  }
  places.push(69_997, 69_998, 69_999);
  const bads = [[0x00], [0x0b], [0x1f], [0xef, 0xbf, 0xbe], [0xef, 0xbf, 0xbf]];
  for (const at of places) {
    for (const bad of bads) {
      if (at + bad.length > plain.length) continue;
      const bytes = plain.slice();
      bytes.set(bad, at);
      assert.equal(findNonXmlChar(bytes), at, `${bad} at ${at}`);
      // A view that starts past the bad byte sees none; one that starts
      // just before it, one at the view's offset.
      const view = bytes.subarray(at - Math.min(at, 5));
      assert.equal(findNonXmlChar(view), Math.min(at, 5));
    }
    // What is fine stays fine: tab, LF, CR, U+FFFD (EF BF BD), U+FEFF.
    for (
      const good of [[0x09], [0x0a], [0x0d], [0xef, 0xbf, 0xbd], [
        0xef,
        0xbb,
        0xbf,
      ]]
    ) {
      if (at + good.length > plain.length) continue;
      const bytes = plain.slice();
      bytes.set(good, at);
      assert.equal(findNonXmlChar(bytes), -1, `${good} at ${at}`);
    }
  }
  // U+FFFE cut by the end of the input is no U+FFFE.
  const cut = plain.slice(0, 40_000);
  cut.set([0xef, 0xbf], 39_998);
  assert.equal(findNonXmlChar(cut), -1);
});

Deno.test("findNonXmlChar() answers as the JavaScript search on random large input", () => {
  const random = seededRandom(7);
  for (let t = 0; t < 200; t++) {
    const n = Math.floor(random() * 200_000);
    // Mostly none, or one or two far apart.
    const bytes = randomBytes(random, n, 0);
    const count = Math.floor(random() * 3);
    for (let k = 0; k < count && n > 0; k++) {
      const at = Math.floor(random() * n);
      bytes[at] = INTERESTING[Math.floor(random() * INTERESTING.length)]!;
    }
    assert.equal(findNonXmlChar(bytes), firstNonXmlChar(bytes));
  }
});

Deno.test("hasNonXmlChar() answers as the regular expression, for ASCII text long and short, with a control character at window edges, and for other text", () => {
  const random = seededRandom(11);
  const controls = ["\u0000", "\u0001", "\u000b", "\u001f"];
  const fine = ["\t", "\n", "\r", "\u007f", "é", "\ufffd", "\ud83d\ude00"];
  const bad = [...controls, "\ufffe", "\uffff"];
  const base = "Wherefore art thou Romeo? ".repeat(3000); // 78,000 units
  const places = [0, 1, 15, 16, 1023, 1024, 70_000, base.length - 1];
  for (const edge of [32 * 1024, 64 * 1024]) {
    for (let d = -3; d <= 3; d++) places.push(edge + d);
  }
  for (const length of [0, 10, 1023, 1024, 5000, 40_000, base.length]) {
    const text = base.slice(0, length);
    assert.equal(hasNonXmlChar(text), false);
    for (const at of places.filter((p) => p < length)) {
      for (const c of [...bad, ...fine]) {
        const changed = text.slice(0, at) + c + text.slice(at + 1);
        assert.equal(
          hasNonXmlChar(changed),
          NOT_XML_CHAR.test(changed),
          `${JSON.stringify(c)} at ${at} of ${length}`,
        );
      }
    }
  }
  for (let t = 0; t < 2000; t++) {
    const pool = [...bad, ...fine, "a", "b", " ", "<", "&"];
    let text = "";
    const n = Math.floor(random() * 3000);
    for (let i = 0; i < n; i++) {
      text += random() < 0.002 ? pool[Math.floor(random() * pool.length)] : "x";
    }
    assert.equal(hasNonXmlChar(text), NOT_XML_CHAR.test(text));
  }
});

Deno.test("without WebAssembly the JavaScript search does all of it, with the same answers", async () => {
  assert.deepEqual(
    await probe(new URL("./_no_wasm_probe.ts", import.meta.url)),
    {
      wasm: "undefined",
      found: 35_000,
      clean: -1,
      text: true,
      cleanText: false,
    },
  );
});

Deno.test("utf8Length() of a range counts what the code-unit loop counts, natively for long ranges, halves of a cut pair two bytes each", () => {
  const loop = (text: string, start: number, end: number) => {
    let bytes = end - start;
    for (let i = start; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) bytes += c < 0x800 || (c & 0xf800) === 0xd800 ? 1 : 2;
    }
    return bytes;
  };
  const random = seededRandom(99);
  const pieces = [
    "a",
    " ",
    "é",
    "Ж",
    "你",
    "😀",
    "\ufffd",
    "\u0800",
    "\u07ff",
    "\uffff",
  ];
  for (let t = 0; t < 3000; t++) {
    let text = "";
    const n = Math.floor(random() * 400);
    while (text.length < n) {
      text += pieces[Math.floor(random() * pieces.length)];
    }
    const start = Math.floor(random() * (text.length + 1));
    const end = start + Math.floor(random() * (text.length - start + 1));
    assert.equal(
      utf8Length(text, start, end),
      loop(text, start, end),
      `${JSON.stringify(text)} [${start}, ${end})`,
    );
  }
  // A pair cut at both ends of a long range.
  const text = "😀" + "x".repeat(100) + "😀";
  assert.equal(utf8Length(text, 1, text.length - 1), 2 + 100 + 2);
  assert.equal(utf8Length(text, 0, text.length), 4 + 100 + 4);
});
