/**
 * Differential tests: our parser against saxes (with namespaces), the
 * oracle. On well-formed documents both must give the same trace; on broken
 * ones, whatever we accept saxes must accept with the same trace, and
 * whatever saxes accepts we must accept unless it uses a feature restricted
 * XML forbids.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { isDeepStrictEqual } from "node:util";
import { parseDocument } from "../../src/xml/parse_document.ts";
import {
  isNameStartChar,
  nameChar,
  runs,
  utf8,
  xmlDocument,
} from "./_arbitraries.ts";
import { markupSoup, mutatedDocument } from "./_mutations.ts";
import {
  type Entry,
  flatten,
  runParser,
  saxesRead,
  saxesTrace,
  Trace,
} from "./_trace.ts";

/** Decodes strict UTF-8, keeping a BOM; `null` when the bytes are not UTF-8. */
function decodeStrict(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes,
    );
  } catch {
    return null;
  }
}

/**
 * Whether saxes may accept this document although XMPP forbids it: a
 * comment, a DOCTYPE, a processing instruction, an XML declaration of
 * another version or encoding, or a byte order mark.
 */
function usesRestrictedXml(text: string): boolean {
  if (text.startsWith("\uFEFF")) return true;
  if (/<!--|<!DOCTYPE/.test(text) || text.indexOf("<?", 1) !== -1) return true;
  if (!text.startsWith("<?")) return false;
  const decl = /^<\?xml[ \t\r\n]([^?]*)\?>/.exec(text);
  if (decl === null) return true;
  const body = decl[1]!;
  if (!/version\s*=\s*(['"])1\.0\1/.test(body)) return true;
  return /encoding/.test(body) &&
    !/encoding\s*=\s*(['"])utf-8\1/i.test(body);
}

/** A trace entry with namespace names trimmed, as saxes has them. */
function trimNamespaces(entry: Entry): Entry {
  if (entry.t === "text") return entry;
  if (entry.t === "close") return { ...entry, ns: entry.ns.trim() };
  const attrs = Object.fromEntries(
    Object.entries(entry.attrs).map(([key, value]) => [
      key.replace(/^\{([^}]*)\}/, (_, uri: string) => `{${uri.trim()}}`),
      value,
    ]),
  );
  return { ...entry, ns: entry.ns.trim(), attrs };
}

function saxesOutcome(bytes: Uint8Array): Entry[] | Error {
  const text = decodeStrict(bytes);
  if (text === null) return new Error("Not UTF-8");
  try {
    return saxesTrace(text);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/**
 * Asserts that our parser and saxes agree on a document that may be broken.
 *
 * @param bytes The document.
 */
function assertAgreesWithSaxes(bytes: Uint8Array): void {
  const ours = runParser([bytes]);
  const theirs = saxesOutcome(bytes);
  if (ours.error === null) {
    if (theirs instanceof Error) {
      // saxes trims namespace names, so it reads xmlns:p=' ' as xmlns:p=''.
      if (/undefine prefix/.test(theirs.message)) return;
      assert.fail(`XmlParser accepts what saxes rejects: ${theirs.message}`);
    }
    // saxes trims namespace names; XML Namespaces does not.
    const entries = isDeepStrictEqual(ours.entries, theirs)
      ? ours.entries
      : ours.entries.map(trimNamespaces);
    assert.deepEqual(entries, theirs);
    assert.deepEqual(ours.problems, []);
  } else if (!(theirs instanceof Error)) {
    const text = decodeStrict(bytes)!;
    if (!usesRestrictedXml(text)) {
      assert.fail(
        `XmlParser rejects with ${ours.error.condition} at byte ` +
          `${ours.error.offset} what saxes accepts`,
      );
    }
  }
}

Deno.test("XmlParser gives saxes' events and declaration on random documents", () => {
  fc.assert(
    fc.property(xmlDocument(), (doc) => {
      const ours = runParser([utf8(doc)]);
      const theirs = saxesRead(doc);
      assert.equal(ours.error, null);
      assert.deepEqual(ours.problems, []);
      assert.deepEqual(ours.entries, theirs.entries);
      assert.deepEqual(ours.declaration, theirs.declaration);
    }),
    { numRuns: runs(200) },
  );
});

Deno.test("XmlParser in tree mode gives saxes' events on random documents", () => {
  fc.assert(
    fc.property(xmlDocument(), (doc) => {
      const ours = runParser([utf8(doc)], { tree: true });
      assert.equal(ours.error, null);
      assert.deepEqual(ours.problems, []);
      assert.deepEqual(ours.entries, saxesTrace(doc));
    }),
    { numRuns: runs(200) },
  );
});

Deno.test("parseDocument() builds the tree saxes reads on random documents", () => {
  fc.assert(
    fc.property(xmlDocument(), fc.boolean(), (doc, asBytes) => {
      const trace = new Trace();
      flatten(parseDocument(asBytes ? utf8(doc) : doc), 0, trace);
      assert.deepEqual(trace.entries, saxesTrace(doc));
    }),
    { numRuns: runs(200) },
  );
});

Deno.test("XmlParser agrees with saxes on mutated documents", () => {
  fc.assert(fc.property(mutatedDocument(), assertAgreesWithSaxes), {
    numRuns: runs(500),
  });
});

Deno.test("XmlParser agrees with saxes on random markup", () => {
  fc.assert(
    fc.property(markupSoup, (soup) => assertAgreesWithSaxes(utf8(soup))),
    { numRuns: runs(2000) },
  );
});

Deno.test("XmlParser accepts exactly the names saxes accepts", () => {
  const anyChar = fc
    .oneof(
      fc.integer({ min: 0, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0x10ffff }),
    )
    .filter((cp) => cp !== 0x3a)
    .map((cp) => String.fromCodePoint(cp));
  const name = fc
    .array(fc.oneof(nameChar, anyChar), { minLength: 1, maxLength: 4 })
    .map((chars) => chars.join(""));
  fc.assert(
    fc.property(name, fc.nat(2), (n, where) => {
      const doc = [
        `<${n}/>`,
        `<r ${n}='v'/>`,
        `<p:${n} xmlns:p='urn:p'>x</p:${n}>`,
      ][where]!;
      if (where === 2 && !isNameStartChar(n.codePointAt(0)!)) {
        // Not an NCName after the colon: saxes lets it through, XML
        // Namespaces does not.
        assert.notEqual(runParser([utf8(doc)]).error, null);
      } else assertAgreesWithSaxes(utf8(doc));
    }),
    { numRuns: runs(1000) },
  );
});

Deno.test("XmlParser resolves exactly the character references saxes resolves", () => {
  const code = fc.oneof(
    fc.integer({ min: 0, max: 0x20 }),
    fc.integer({ min: 0xd7f0, max: 0xe010 }),
    fc.integer({ min: 0xfff0, max: 0x10010 }),
    fc.integer({ min: 0x10fff0, max: 0x110010 }),
    fc.nat(),
  );
  const ref = fc.oneof(
    code.map((n) => `&#${n};`),
    code.map((n) => `&#x${n.toString(16)};`),
    code.map((n) => `&#X${n.toString(16)};`),
    code.map((n) => `&#x${n.toString(16).toUpperCase()};`),
    fc.constantFrom(
      "&#;",
      "&#x;",
      "&#00000000000000000000065;",
      "&#x0000000000000000000041;",
      "&#99999999999999999999999;",
      "&#-1;",
      "&#x-1;",
      "&#1a;",
      "&#xg;",
      "&# 65;",
    ),
  );
  fc.assert(
    fc.property(ref, fc.boolean(), (r, inAttribute) => {
      const doc = inAttribute ? `<r a='${r}'/>` : `<r>${r}</r>`;
      assertAgreesWithSaxes(utf8(doc));
    }),
    { numRuns: runs(1000) },
  );
});

Deno.test("XmlParser accepts exactly the characters saxes accepts", () => {
  const char = fc
    .oneof(
      fc.integer({ min: 0, max: 0xff }),
      fc.integer({ min: 0xd7f0, max: 0xd7ff }),
      fc.integer({ min: 0xe000, max: 0xe010 }),
      fc.integer({ min: 0xfdc0, max: 0x10010 }),
      fc.integer({ min: 0x10fff0, max: 0x10ffff }),
    )
    .map((cp) => String.fromCodePoint(cp));
  fc.assert(
    fc.property(char, fc.nat(2), (c, where) => {
      const doc = [`<r>${c}</r>`, `<r a='${c}'/>`, `<r><![CDATA[${c}]]></r>`][
        where
      ]!;
      assertAgreesWithSaxes(utf8(doc));
    }),
    { numRuns: runs(1000) },
  );
});
