/**
 * Documents from a small grammar of XML with namespaces, made to sit on the
 * edges the XMPP corpus seldom reaches: character and entity references in
 * text and attribute values (valid, out of range, surrogates, unknown), line
 * ends in every spelling, CDATA sections, `]]>` in text, white space in
 * attribute values, prefixes declared, redeclared, undeclared and bound to
 * the same namespace twice, the `xml` and `xmlns` prefixes, names with
 * several colons or characters outside ASCII, and now and then one
 * character of markup out of place. For differential fuzzing: about half
 * are well-formed.
 *
 * @module
 */

import type { Rng } from "./rng.ts";

const XML_NS = "http://www.w3.org/XML/1998/namespace";

const NAMES = [
  "a",
  "b",
  "item",
  "x-y.z",
  "_u",
  "é",
  "名",
  "p:a",
  "p:b",
  "q:a",
  "r:c",
];
const ODD_NAMES = ["a:b:c", ":a", "a:", "1a", "-a", "p:1", "xmlns:a", "xml:e"];

// Namespace names a prefix may be bound to; two prefixes bound to the same
// one make their attributes of the same local name collide.
const URIS = ["urn:p", "urn:q", "urn:p", "http://e/x", "urn:é"];
// And what no prefix may be bound to, or no prefix declared.
const BAD_URIS = ["", XML_NS, "http://www.w3.org/2000/xmlns/"];

const TEXT_PIECES = [
  "a",
  "text ",
  " ",
  "\t",
  "\n",
  "\r",
  "\r\n",
  "\n\r",
  "é",
  "\u{1F600}",
  "\u00a0",
  "&amp;",
  "&lt;",
  "&gt;",
  "&quot;",
  "&apos;",
  "&#9;",
  "&#10;",
  "&#13;",
  "&#xD;",
  "&#x20;",
  "&#x10FFFF;",
  "&#65;",
  "&#x1F600;",
  "]",
  "]]",
  ">",
  "'",
  '"',
];
const BAD_TEXT_PIECES = [
  "&#0;",
  "&#xD800;",
  "&#x110000;",
  "&#xFFFE;",
  "&bogus;",
  "&",
  "&#;",
  "&#x;",
  "&amp",
  "<",
  "]]>",
  "\u0001",
];

function piece(rng: Rng, bad: number): string {
  return rng.chance(bad) ? rng.pick(BAD_TEXT_PIECES) : rng.pick(TEXT_PIECES);
}

function text(rng: Rng, bad: number): string {
  let out = "";
  const n = rng.int(0, 6);
  for (let i = 0; i < n; i++) out += piece(rng, bad);
  if (rng.chance(0.1)) {
    let inner = "";
    for (let i = rng.int(0, 4); i > 0; i--) {
      inner += rng.pick(["x", "<b>", "&amp;", "]", "]]", "\r\n", "é"]);
    }
    out += `<![CDATA[${inner}]]>`;
  }
  return out;
}

function value(rng: Rng, bad: number, quote: string): string {
  let out = "";
  const n = rng.int(0, 5);
  for (let i = 0; i < n; i++) {
    const p = piece(rng, bad);
    out += p === quote ? (rng.chance(bad) ? p : "") : p;
  }
  return out;
}

function name(rng: Rng, bad: number): string {
  return rng.chance(bad / 2) ? rng.pick(ODD_NAMES) : rng.pick(NAMES);
}

function attributes(rng: Rng, bad: number, bound: boolean): string {
  let out = "";
  // The same name twice only when breaking the rules.
  const used = new Set(bound ? ["xmlns:p", "xmlns:q", "xmlns:r"] : []);
  const n = rng.int(0, 4);
  for (let i = 0; i < n; i++) {
    const space = rng.pick([" ", "  ", "\n", "\t", "\r\n"]);
    const quote = rng.chance(0.5) ? "'" : '"';
    const kind = rng.int(0, 9);
    let key: string;
    let val: string;
    if (kind <= 1) {
      key = `xmlns:${
        rng.chance(bad) ? rng.pick(["xml", "xmlns"]) : rng.pick(["p", "q", "r"])
      }`;
      val = rng.chance(bad) ? rng.pick(BAD_URIS) : rng.pick(URIS);
    } else if (kind === 2) {
      key = "xmlns";
      val = rng.chance(0.2) ? "" : rng.chance(bad) ? XML_NS : rng.pick(URIS);
    } else if (kind === 3) {
      key = rng.pick(["xml:lang", "xml:space", "xml:id"]);
      val = value(rng, bad, quote);
    } else {
      key = name(rng, bad);
      val = value(rng, bad, quote);
    }
    if (used.has(key) && !rng.chance(bad)) continue;
    used.add(key);
    const eq = rng.pick(["=", "=", " = ", "\n=\t"]);
    out += `${space}${key}${eq}${quote}${val}${quote}`;
  }
  return out;
}

function element(rng: Rng, depth: number, bad: number): string {
  const tag = name(rng, bad);
  // The root binds the prefixes, most of the time, so that most documents
  // get past the namespaces to the rest.
  const bindings = depth === 0 && !rng.chance(bad * 2)
    ? ` xmlns:p='urn:p' xmlns:q="urn:q" xmlns:r='${rng.pick(URIS)}'`
    : "";
  const open = `<${tag}${bindings}${attributes(rng, bad, bindings !== "")}${
    rng.pick(["", " ", "\n"])
  }`;
  if (rng.chance(0.2)) return `${open}/>`;
  let body = "";
  const children = depth > 4 ? 0 : rng.int(0, 3);
  for (let i = 0; i < children; i++) {
    body += text(rng, bad) + element(rng, depth + 1, bad);
  }
  body += text(rng, bad);
  const close = rng.chance(bad / 4) ? name(rng, bad) : tag;
  return `${open}>${body}</${close}${rng.pick(["", " ", "\n"])}>`;
}

/**
 * One document of the grammar.
 *
 * @param rng The draws.
 * @returns Its UTF-8 bytes.
 */
export function grammarDocument(rng: Rng): Uint8Array {
  // Most documents keep to the rules; the rest break them here and there.
  const bad = rng.chance(0.5) ? 0 : rng.pick([0.02, 0.05, 0.15]);
  const declaration = rng.weighted(
    [
      [4, ""],
      [2, "<?xml version='1.0'?>"],
      [1, `<?xml version="1.0" encoding="UTF-8" standalone='yes'?>\n`],
      [bad > 0 ? 1 : 0, "<?xml version='1.1'?>"],
    ] as const,
  );
  const before = rng.pick(["", "\n", " \r\n"]);
  const after = rng.pick(["", "\n", " ", rng.chance(bad) ? "x" : ""]);
  return new TextEncoder().encode(
    declaration + before + element(rng, 0, bad) + after,
  );
}
