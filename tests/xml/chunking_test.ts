/**
 * Chunking tests: however the input is split (inside multi-byte characters,
 * names, attribute values, entities, `]]>`, the XML declaration, the stream
 * header, or into empty chunks), the parser gives what it gives for the
 * input in one chunk: the same trace for valid input, the same error (same
 * condition, same byte offset, same line and column) for invalid input.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { runs, utf8, xmlDocument } from "./_arbitraries.ts";
import {
  interestingSplits,
  mutatedDocument,
  split,
  splitSeeds,
} from "./_mutations.ts";
import { type Outcome, runParser } from "./_trace.ts";

const STREAM_HEADER = "<?xml version='1.0' encoding='UTF-8'?>" +
  "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' " +
  "to='jüliet@example.com' version='1.0' xml:lang='en'>";

/** Valid inputs with every kind of token, for exhaustive two-chunk splits. */
const VALID = [
  STREAM_HEADER +
  "<message to='rómeo@example.net' type=\"chat\" id='a&amp;b&#x27;c'>" +
  "<body>Ça va ? &lt;3 &#128512; &#x1F600; 🎉 ]]&gt; " +
  "<![CDATA[<not a tag> & ]]]]><![CDATA[> done]]>\r\nline</body>" +
  "</message>\n " +
  "<p:x xmlns:p='urn:p' p:a='1' a='2'/>" +
  "</stream:stream>",
  "<日本語 属性='値'>テキスト&#x20000;𠀀<ü/></日本語>",
];

/** Invalid inputs, each failing at a spot a split can straddle. */
const INVALID = [
  STREAM_HEADER + "<message>]]></message>",
  STREAM_HEADER + "<message>&#0;</message>",
  STREAM_HEADER + "<message>&#xD800;</message>",
  STREAM_HEADER + "<message>&bogus;</message>",
  STREAM_HEADER + "<message a='&amp'/>",
  STREAM_HEADER + "<!-- comment -->",
  STREAM_HEADER + "<?pi data?>",
  STREAM_HEADER + "<message></massage>",
  STREAM_HEADER + "<message a='1' a='2'/>",
  STREAM_HEADER + "<p:message/>",
  STREAM_HEADER + "<message xmlns:p=''/>",
  STREAM_HEADER + "<mess\u00d7age/>",
  "<?xml version='1.1'?><a/>",
  "<?xml version='1.0' encoding='ISO-8859-1'?><a/>",
  "<!DOCTYPE a><a/>",
  "<a>\u{1F600}\uFFFE</a>",
  "<a b='<'/>",
  "<a>text",
  // Found by the properties below: an error inside a start tag that was
  // split, a later bad character, and a bad reference before `]]>`.
  "<a<",
  "<a b='c d='e",
  "<r a='<'",
  "<r><a x=''<a\0>",
  "<a></a b",
  "<a></a b\0>",
  "<r>&]]></r>",
  // From the W3C suite (not-wf-sa-181 without its DOCTYPE), and a misplaced
  // XML declaration, whose message once depended on the split.
  "<doc>&e;]]></doc>",
  "<doc>&#0;]]></doc>",
  "<doc/><?xml version='1.0'?>",
];

/** The outcome without text, which may be delivered before an error or not. */
function markupOnly(outcome: Outcome): unknown {
  return outcome.entries.filter((entry) => entry.t !== "text");
}

function assertSameOutcome(
  chunks: Uint8Array[],
  whole: Outcome,
  tree: boolean,
): void {
  const parts = runParser(chunks, { tree });
  try {
    if (whole.error === null) {
      assert.deepEqual(parts, whole);
    } else {
      assert.deepEqual(parts.error, whole.error);
      assert.deepEqual(markupOnly(parts), markupOnly(whole));
    }
  } catch (error) {
    if (error instanceof Error) {
      const shown = chunks.map((c) => JSON.stringify(decoder.decode(c)));
      error.message = `Chunks ${shown.join(" + ")}\n${error.message}`;
    }
    throw error;
  }
}

const decoder = new TextDecoder();

for (const tree of [false, true]) {
  const mode = tree ? "tree" : "event";

  Deno.test(`XmlParser in ${mode} mode gives the same events for any chunking of a valid document`, () => {
    fc.assert(
      fc.property(xmlDocument(), splitSeeds, (doc, seeds) => {
        const bytes = utf8(doc);
        const whole = runParser([bytes], { tree });
        assert.equal(whole.error, null);
        assert.deepEqual(whole.problems, []);
        assert.equal(whole.bytesRead, bytes.length);
        assertSameOutcome(split(bytes, seeds), whole, tree);
      }),
      { numRuns: runs(200) },
    );
  });

  Deno.test(`XmlParser in ${mode} mode gives the same events when fed byte by byte`, () => {
    fc.assert(
      fc.property(xmlDocument({ depth: 2 }), (doc) => {
        const bytes = utf8(doc);
        const whole = runParser([bytes], { tree });
        const bytewise = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
        assertSameOutcome(bytewise, whole, tree);
      }),
      { numRuns: runs(50) },
    );
  });

  Deno.test(`XmlParser in ${mode} mode reports the same error for any chunking of an invalid document`, () => {
    fc.assert(
      fc.property(mutatedDocument(), splitSeeds, (bytes, seeds) => {
        const whole = runParser([bytes], { tree });
        assertSameOutcome(split(bytes, seeds), whole, tree);
      }),
      { numRuns: runs(300) },
    );
  });

  Deno.test(`XmlParser in ${mode} mode gives the same events for every two-chunk split of valid input`, () => {
    for (const doc of VALID) {
      const bytes = utf8(doc);
      const whole = runParser([bytes], { tree });
      assert.equal(whole.error, null, doc);
      for (let i = 0; i <= bytes.length; i++) {
        assertSameOutcome(
          [bytes.subarray(0, i), bytes.subarray(i)],
          whole,
          tree,
        );
      }
    }
  });

  Deno.test(`XmlParser in ${mode} mode reports the same error for every two-chunk split of invalid input`, () => {
    for (const doc of INVALID) {
      const bytes = utf8(doc);
      const whole = runParser([bytes], { tree });
      assert.notEqual(whole.error, null, doc);
      for (let i = 0; i <= bytes.length; i++) {
        assertSameOutcome(
          [bytes.subarray(0, i), bytes.subarray(i)],
          whole,
          tree,
        );
      }
    }
  });
}

Deno.test("XmlParser reports the header size as the bytes up to the end of the root start tag", () => {
  fc.assert(
    fc.property(xmlDocument({ depth: 1 }), (doc) => {
      const bytes = utf8(doc);
      const size = runParser([bytes]).headerBytes;
      assert.ok(size !== null && size > 0);
      assert.equal(bytes[size - 1], 0x3e); // ">"
      assert.equal(runParser([bytes.subarray(0, size)]).headerBytes, size);
      assert.equal(runParser([bytes.subarray(0, size - 1)]).headerBytes, null);
    }),
    { numRuns: runs(200) },
  );
});

Deno.test("XmlParser reports the same error for every split of invalid UTF-8", () => {
  const cases = [
    [0xff],
    [0xc0, 0x80],
    [0xe2, 0x82],
    [0xed, 0xa0, 0x80],
    [0xf0, 0x80, 0x80, 0x80],
    [0xf4, 0x90, 0x80, 0x80],
    [0xe2, 0x82, 0x41],
  ];
  for (const bad of cases) {
    for (const where of ["<a>", "<a b='", "<a", "<a><![CDATA["]) {
      const bytes = new Uint8Array([...utf8(where), ...bad, ...utf8("x")]);
      const whole = runParser([bytes]);
      assert.equal(whole.error?.condition, "not-well-formed", where);
      assert.equal(whole.error?.offset, utf8(where).length, where);
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          assertSameOutcome(
            [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)],
            whole,
            false,
          );
        }
      }
    }
  }
});

Deno.test("XmlParser reads U+FFFD in the input as a character and refuses invalid UTF-8 next to it", () => {
  const good = runParser([utf8("<a b='\uFFFD'>x\uFFFDy</a>")]);
  assert.equal(good.error, null);
  const seen = JSON.stringify(good.entries);
  assert.ok(seen.includes('"b":"\uFFFD"'), seen);
  assert.ok(seen.includes("x\uFFFDy"), seen);
  for (const where of ["<a>\uFFFD", "<a b='\uFFFD"]) {
    const bytes = new Uint8Array([...utf8(where), 0xff, ...utf8("x")]);
    const outcome = runParser([bytes]);
    assert.equal(outcome.error?.condition, "not-well-formed", where);
    assert.equal(outcome.error?.offset, utf8(where).length, where);
  }
});

Deno.test("interestingSplits() finds splits inside multi-byte characters", () => {
  const bytes = utf8("<a>é😀</a>");
  const inside = interestingSplits(bytes).filter((i) =>
    (bytes[i]! & 0xc0) === 0x80
  );
  assert.deepEqual(inside, [4, 6, 7, 8]);
});
