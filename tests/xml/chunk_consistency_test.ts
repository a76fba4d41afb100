// Inputs where the error (condition and position) or the events once
// depended on where the input was cut, found by the time-budgeted fuzzer
// (scripts/fuzz/). Each is parsed whole and cut at the places that made a
// difference; everything but text cut short by the error must agree.

import assert from "node:assert/strict";
import type { XmlParserOptions } from "../../src/xml/parser.ts";
import { utf8 } from "./_arbitraries.ts";
import { cutAt } from "./_mutations.ts";
import { runParser } from "./_trace.ts";

const HEAD = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams'>";

function outcome(text: string, cuts: number[], options: XmlParserOptions) {
  const { entries, error } = runParser(cutAt(utf8(text), cuts), options);
  return { entries: entries.filter((e) => e.t !== "text"), error };
}

function sameWhateverTheCuts(
  text: string,
  cuts: number[][],
  options: XmlParserOptions,
  expected: { condition: string; offset: number; line?: number },
) {
  const whole = outcome(text, [], options);
  assert.equal(whole.error?.condition, expected.condition);
  assert.equal(whole.error?.offset, expected.offset);
  if (expected.line !== undefined) {
    assert.equal(whole.error?.line, expected.line);
  }
  for (const c of cuts) {
    assert.deepEqual(outcome(text, c, options), whole, `cut at ${c}`);
  }
}

Deno.test("text at stream level after a CRLF is reported at its byte, line and column", () => {
  const text = `${HEAD}\r\nJ</stream:stream>`;
  sameWhateverTheCuts(text, [[HEAD.length + 1], [HEAD.length + 2]], {
    stream: true,
  }, { condition: "bad-format", offset: HEAD.length + 2, line: 2 });
});

Deno.test("text at stream level wins over a bad reference later in the same run", () => {
  const text = `${HEAD}ab&#xZZ;</stream:stream>`;
  sameWhateverTheCuts(text, [[HEAD.length + 2], [HEAD.length + 4]], {
    stream: true,
  }, { condition: "bad-format", offset: HEAD.length });
});

Deno.test("white space by reference at stream level is white space; other text by reference is bad-format at the '&'", () => {
  const ok = runParser([utf8(`${HEAD}&#x20;&#10;<a/></stream:stream>`)], {
    stream: true,
  });
  assert.equal(ok.error, null);
  const text = `${HEAD} &#x41;</stream:stream>`;
  sameWhateverTheCuts(text, [[HEAD.length + 3]], { stream: true }, {
    condition: "bad-format",
    offset: HEAD.length + 1,
  });
});

Deno.test("CDATA at stream level is bad-format at its first non-space character", () => {
  const text = `${HEAD}<![CDATA[ \r\n x]]></stream:stream>`;
  sameWhateverTheCuts(text, [[HEAD.length + 10]], { stream: true }, {
    condition: "bad-format",
    offset: HEAD.length + 13,
    line: 2,
  });
});

Deno.test("CDATA at stream level cut right after its opening is bad-format at its first non-space character, before the stanza limit", () => {
  const text = `${HEAD}<![CDATA[ <not> & ${"m".repeat(150)}]]></stream:stream>`;
  const opening = HEAD.length + 9;
  sameWhateverTheCuts(
    text,
    [[opening, opening + 150], [opening + 1, opening + 140], [opening + 60]],
    {
      stream: true,
      maxStanzaBytes: 141,
    },
    { condition: "bad-format", offset: opening + 1 },
  );
});

Deno.test("a CDATA section of white space at stream level longer than the stanza limit is a policy-violation, whole or cut", () => {
  const text = `${HEAD}<![CDATA[${" ".repeat(200)}]]></stream:stream>`;
  sameWhateverTheCuts(text, [[HEAD.length + 150], [HEAD.length + 10]], {
    stream: true,
    maxStanzaBytes: 141,
  }, { condition: "policy-violation", offset: HEAD.length + 141 });
});

Deno.test("a reference inside CDATA at stream level is text, not the white space it would name", () => {
  const text = `${HEAD}<![CDATA[ &#32;]]></stream:stream>`;
  sameWhateverTheCuts(text, [[HEAD.length + 11]], { stream: true }, {
    condition: "bad-format",
    offset: HEAD.length + 10,
  });
});

Deno.test("CDATA in a stanza past the stanza limit reaches no sink, whole or cut", () => {
  const text = `${HEAD}<message><body><![CDATA[${
    "y".repeat(200)
  }]]></body></message>`;
  sameWhateverTheCuts(text, [[HEAD.length + 150], [HEAD.length + 30]], {
    stream: true,
    maxStanzaBytes: 141,
  }, { condition: "policy-violation", offset: HEAD.length + 141 });
});

Deno.test("a name over maxNameLength inside a tag cut short wins over the tag's size", () => {
  const text = `<abcdefgh a='${"x".repeat(50)}'>`;
  sameWhateverTheCuts(text, [[2, 40], [2], [40]], {
    maxNameLength: 3,
    maxStanzaBytes: 20,
  }, { condition: "policy-violation", offset: 1 });
});

Deno.test("event mode: nothing from past maxStanzaBytes reaches the sink, whatever the cuts", () => {
  const text = `${HEAD}<message><body>${"é".repeat(200)}</body><x/></message>`;
  sameWhateverTheCuts(text, [[450], [300], [HEAD.length + 20]], {
    maxStanzaBytes: 299,
    stream: true,
  }, { condition: "policy-violation", offset: HEAD.length + 299 });
});

Deno.test("an error found only in a whole token loses to the stanza limit when the token ends past it", () => {
  // '<' in an attribute value whose closing quote is past the limit.
  sameWhateverTheCuts(`<r a='x<${"y".repeat(60)}'/>`, [[40], [10]], {
    maxStanzaBytes: 20,
  }, { condition: "policy-violation", offset: 20 });
  // One attribute too many, its value ending past the limit.
  sameWhateverTheCuts(`<r a='1' b='2' c='${"z".repeat(60)}'/>`, [[40], [17]], {
    maxAttributes: 2,
    maxStanzaBytes: 30,
  }, { condition: "policy-violation", offset: 30 });
  // A stanza over maxDepth whose tag ends past the limit.
  sameWhateverTheCuts(
    `${HEAD}<message a='${"z".repeat(150)}'/>`,
    [[HEAD.length + 30], [HEAD.length + 120]],
    { maxDepth: 1, maxStanzaBytes: 100, stream: true },
    { condition: "policy-violation", offset: HEAD.length + 100 },
  );
  // An unbound prefix, known only at the tag's end, past the limit.
  sameWhateverTheCuts(`<p:r a='${"z".repeat(60)}'/>`, [[10], [40]], {
    maxStanzaBytes: 30,
  }, { condition: "policy-violation", offset: 30 });
  // The same errors within the limit are reported as they are.
  sameWhateverTheCuts(`<r a='x<y'/>`, [[8]], {}, {
    condition: "not-well-formed",
    offset: 7,
  });
  sameWhateverTheCuts(`<p:r a='z'/>`, [[3]], {}, {
    condition: "bad-namespace-prefix",
    offset: 0,
  });
});

Deno.test("a name over maxNameLength is refused one character past the limit, whatever the cuts and the name's end", () => {
  const text = `<stream:${"s".repeat(400)} xmlns:stream='x'>`;
  sameWhateverTheCuts(text, [[10], [33], [300]], {
    maxNameLength: 24,
    maxStanzaBytes: 295,
  }, { condition: "policy-violation", offset: 1 });
});

Deno.test("a mismatched end tag is reported at its '<' only when the mismatch shows within the stanza limit", () => {
  const start = `${HEAD}<query/><success pad='${"p".repeat(100)}'>SCRAM`;
  const unit = HEAD.length + "<query/>".length;
  // The mismatch shows at the 'c' of </challenge>, one byte past the limit.
  const limit = start.length + 2 - unit;
  const text = `${start}</challenge></stream:stream>`;
  const cutsOneByOne = Array.from({ length: text.length - 1 }, (_, i) => i + 1);
  sameWhateverTheCuts(text, [cutsOneByOne, [start.length + 4]], {
    maxStanzaBytes: limit,
    stream: true,
  }, { condition: "policy-violation", offset: unit + limit });
  // With room for it, the mismatch is reported at the end tag.
  sameWhateverTheCuts(text, [cutsOneByOne], { stream: true }, {
    condition: "not-well-formed",
    offset: start.length,
  });
});

Deno.test("errors reported at a '<' or '&' but known later yield to the stanza limit crossed in between", () => {
  // A processing instruction whose '?' is the first byte past the limit.
  sameWhateverTheCuts("<r><m><?pi?></m></r>", [[7], [8]], {
    maxStanzaBytes: 3,
  }, { condition: "policy-violation", offset: 6 });
  // A bad character reference, revealed past the limit.
  sameWhateverTheCuts("<r><m>ab&#xZZ;</m></r>", [[10], [11]], {
    maxStanzaBytes: 6,
  }, { condition: "policy-violation", offset: 9 });
  // A comment whose opening ends past the limit.
  sameWhateverTheCuts("<r><m><!-- c --></m></r>", [[8], [9]], {
    maxStanzaBytes: 4,
  }, { condition: "policy-violation", offset: 7 });
  // Within the limit, each is reported where it starts.
  sameWhateverTheCuts("<r><m><?pi?></m></r>", [[7]], {}, {
    condition: "restricted-xml",
    offset: 6,
  });
  sameWhateverTheCuts("<r><m>ab&#xZZ;</m></r>", [[10]], {}, {
    condition: "not-well-formed",
    offset: 8,
  });
});
