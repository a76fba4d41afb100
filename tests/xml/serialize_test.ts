/**
 * Serializer tests: round trips through the parser (and through saxes), the
 * fixpoint, and escaping.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { Element } from "../../src/xml/element.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { serialize } from "../../src/xml/serialize.ts";
import { elementTree, runs } from "./_arbitraries.ts";
import { flatten, normalized, saxesTrace, Trace } from "./_trace.ts";

/** Parses what serialize() wrote and checks it gives the element back. */
function assertRoundTrip(el: Element): string {
  const xml = serialize(el);
  assert.deepEqual(normalized(parseDocument(xml)), normalized(el), xml);
  return xml;
}

Deno.test("parseDocument(serialize(el)) gives el back on random trees", () => {
  fc.assert(fc.property(elementTree(), (el) => void assertRoundTrip(el)), {
    numRuns: runs(300),
  });
});

Deno.test("serialize() is a fixpoint through parseDocument() on random trees", () => {
  fc.assert(
    fc.property(elementTree(), (el) => {
      const xml = serialize(el);
      assert.equal(serialize(parseDocument(xml)), xml);
    }),
    { numRuns: runs(300) },
  );
});

Deno.test("saxes reads what serialize() writes as the same tree", () => {
  fc.assert(
    fc.property(elementTree(), (el) => {
      const trace = new Trace();
      flatten(el, 0, trace);
      assert.deepEqual(saxesTrace(serialize(el)), trace.entries);
    }),
    { numRuns: runs(300) },
  );
});

Deno.test("serialize() escapes < and & in text", () => {
  const xml = assertRoundTrip(
    new Element("body", "", {}, ["<b>x</b> &amp; &#65; a&b"]),
  );
  assert.ok(!xml.includes("<b>"), xml);
  assert.ok(!xml.includes("&amp; &"), xml);
});

Deno.test("serialize() never writes ]]> in text", () => {
  for (const text of ["]]>", "]]]]>>", "a]]>b]]>", "]", "]]", "]>"]) {
    const xml = assertRoundTrip(new Element("a", "", {}, [text]));
    assert.ok(!xml.includes("]]>"), xml);
  }
});

Deno.test("serialize() keeps > in text and attributes", () => {
  assertRoundTrip(new Element("a", "", { v: "x>y" }, ["1 > 0", ">"]));
});

Deno.test("serialize() escapes both kinds of quotes in attributes", () => {
  for (const value of [`it's`, `say "hi"`, `'"'"`, `&'<>"`]) {
    assertRoundTrip(new Element("a", "", { v: value }));
  }
});

Deno.test("serialize() writes CR, LF and tab in attributes as character references", () => {
  const el = new Element("a", "", { v: "x\r\ny\tz\rw\n" });
  const xml = assertRoundTrip(el);
  assert.match(xml, /&#(?:13|x[dD]);/);
  assert.match(xml, /&#(?:10|x[aA]);/);
  assert.match(xml, /&#(?:9|x9);/);
  assert.doesNotMatch(xml, /[\r\n\t]/);
});

Deno.test("serialize() keeps CR in text through a round trip", () => {
  for (const text of ["a\r\nb", "\r", "a\rb", "\r\r\n\n"]) {
    assertRoundTrip(new Element("a", "", {}, [text]));
  }
});

Deno.test("serialize() keeps non-ASCII and astral characters", () => {
  assertRoundTrip(
    new Element("日本", "urn:é", { "ü": "😀", [`{urn:ф}ж`]: "𠀀" }, [
      "Ça va 🎉",
    ]),
  );
});

Deno.test("serialize() declares a namespace only where it changes", () => {
  const el = new Element("message", "jabber:client", {}, [
    new Element("body", "jabber:client", {}, ["Hi"]),
    new Element("x", "urn:x", {}, [new Element("y", "urn:x")]),
  ]);
  const xml = assertRoundTrip(el);
  assert.equal(xml.match(/xmlns=/g)?.length, 2, xml);
});

Deno.test("serialize() undeclares the default namespace for a child in none", () => {
  const el = new Element("a", "urn:a", {}, [new Element("b")]);
  const xml = assertRoundTrip(el);
  assert.match(xml, /xmlns=(''|"")/);
});

Deno.test("serialize() declares a prefix for a namespaced attribute", () => {
  const el = new Element("a", "urn:x", { "{urn:x}v": "1", v: "2" });
  const xml = assertRoundTrip(el);
  const declared = /xmlns:([^=\s]+)=['"]urn:x['"]/.exec(xml);
  assert.ok(declared, xml);
  assert.ok(xml.includes(`${declared[1]}:v=`), xml);
});

Deno.test("serialize() writes xml:lang without declaring the xml prefix", () => {
  const xml = assertRoundTrip(new Element("a", "", { "xml:lang": "en" }));
  assert.ok(xml.includes("xml:lang="), xml);
  assert.ok(!xml.includes("xmlns:xml"), xml);
});

Deno.test("serialize() keeps empty elements and empty attributes", () => {
  assertRoundTrip(new Element("a", "", { e: "" }, [new Element("b"), ""]));
});

Deno.test("serialize() refuses a character XML cannot carry, in short and long text and attributes alike", () => {
  const bad = ["\u0000", "\u0001", "\u000B", "\u001F", "\uFFFE", "\uFFFF"];
  const lone = ["\uD800", "\uDFFF", "a\uDC00\uD800b"];
  for (const char of [...bad, ...lone]) {
    for (const pad of [0, 10, 300, 20_000]) {
      const text = "x".repeat(pad) + char + "y".repeat(pad);
      assert.throws(
        () => serialize(new Element("a", "", {}, [text])),
        TypeError,
        `text, pad ${pad}, U+${char.charCodeAt(0).toString(16)}`,
      );
      assert.throws(
        () => serialize(new Element("a", "", { v: text }, [])),
        TypeError,
        `attribute, pad ${pad}, U+${char.charCodeAt(0).toString(16)}`,
      );
    }
  }
});

Deno.test("serialize() escapes short and long text and attributes alike, and keeps tab, LF and pairs in text", () => {
  for (const pad of [0, 300, 20_000]) {
    const x = "x".repeat(pad);
    const text = `${x}a<b&c>\r\t\n🎉${x}`;
    assert.equal(
      serialize(new Element("a", "", { v: text }, [text])),
      `<a v='${x}a&lt;b&amp;c&gt;&#xD;&#x9;&#xA;🎉${x}'>` +
        `${x}a&lt;b&amp;c&gt;&#xD;\t\n🎉${x}</a>`,
    );
    assert.equal(
      serialize(new Element("a", "", {}, [x + "ok"])),
      `<a>${x}ok</a>`,
    );
  }
});
