/**
 * Fuzz tests: mutated documents (byte flips, inserted markup, invalid UTF-8,
 * NUL, truncation, duplication), random bytes and hostile shapes never make
 * the parser throw anything but an `XmlError`, and every run ends.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { from, type Observable } from "rxjs";
import { XmlError } from "../../src/xml/errors.ts";
import { parseFrames } from "../../src/xml/frames.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { parseXml } from "../../src/xml/parse_xml.ts";
import { XmlParser } from "../../src/xml/parser.ts";
import type { XmlSink } from "../../src/xml/sink.ts";
import { runs, utf8, xmlDocument } from "./_arbitraries.ts";
import { mutatedDocument, split, splitSeeds } from "./_mutations.ts";
import { type Outcome, runParser } from "./_trace.ts";

const NULL_SINK: XmlSink = {
  open() {},
  start() {},
  text() {},
  end() {},
  close() {},
};

/** Checks what every run must give, whatever the input. */
function assertSane(outcome: Outcome, length: number): void {
  assert.deepEqual(outcome.problems, []);
  if (outcome.error === null) {
    assert.equal(outcome.bytesRead, length);
    return;
  }
  const { offset, line, column } = outcome.error;
  assert.ok(offset >= 0 && offset <= length, `offset ${offset} of ${length}`);
  assert.ok(line >= 1 && column >= 1, `line ${line}, column ${column}`);
}

/** Bytes with a prefix that gets the parser past the prolog. */
const randomBytes: fc.Arbitrary<Uint8Array> = fc
  .tuple(
    fc.constantFrom(
      "",
      "<a>",
      "<a b='",
      "<a><![CDATA[",
      "<?xml version='1.0'?><a>",
    ),
    fc.uint8Array({ maxLength: 48 }),
  )
  .map(([prefix, tail]) => new Uint8Array([...utf8(prefix), ...tail]));

for (const tree of [false, true]) {
  const mode = tree ? "tree" : "event";

  Deno.test(`XmlParser in ${mode} mode throws nothing but XmlError on mutated documents`, () => {
    fc.assert(
      fc.property(
        mutatedDocument(),
        splitSeeds,
        fc.boolean(),
        (bytes, seeds, stream) => {
          assertSane(
            runParser(split(bytes, seeds), { tree, stream }),
            bytes.length,
          );
        },
      ),
      { numRuns: runs(400) },
    );
  });

  Deno.test(`XmlParser in ${mode} mode throws nothing but XmlError on mutated streams`, () => {
    fc.assert(
      fc.property(
        mutatedDocument({ stream: true }),
        splitSeeds,
        (bytes, seeds) => {
          assertSane(runParser(split(bytes, seeds), { tree }), bytes.length);
        },
      ),
      { numRuns: runs(400) },
    );
  });

  Deno.test(`XmlParser in ${mode} mode throws nothing but XmlError on random bytes`, () => {
    fc.assert(
      fc.property(randomBytes, splitSeeds, (bytes, seeds) => {
        assertSane(runParser(split(bytes, seeds), { tree }), bytes.length);
      }),
      { numRuns: runs(1000) },
    );
  });
}

/**
 * Line and column of a byte offset, or `null` where that is ambiguous: the
 * offset is inside a character, the input before it is not UTF-8, or it
 * splits a CRLF or follows a BOM.
 */
function position(
  bytes: Uint8Array,
  offset: number,
): { line: number; column: number } | null {
  if (bytes[offset - 1] === 0x0d || (bytes[0] === 0xef && bytes[1] === 0xbb)) {
    return null;
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
      .decode(bytes.subarray(0, offset));
  } catch {
    return null;
  }
  if (offset < bytes.length && (bytes[offset]! & 0xc0) === 0x80) return null;
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  return { line: lines.length, column: lines.at(-1)!.length + 1 };
}

Deno.test("XmlParser reports the line and column of its byte offset", () => {
  fc.assert(
    fc.property(mutatedDocument(), splitSeeds, (bytes, seeds) => {
      const { error } = runParser(split(bytes, seeds));
      if (error === null) return;
      const expected = position(bytes, error.offset);
      if (expected === null) return;
      assert.deepEqual({ line: error.line, column: error.column }, expected);
    }),
    { numRuns: runs(400) },
  );
});

Deno.test("XmlParser counts CR, LF and CRLF as one line end each in error positions", () => {
  for (const end of ["\n", "\r", "\r\n"]) {
    for (
      const [doc, column] of [[`<a>${end}\0</a>`, 1], [
        `<a b='${end}'\0/>`,
        2,
      ]] as const
    ) {
      const { error } = runParser([utf8(doc)]);
      assert.deepEqual(
        { line: error?.line, column: error?.column },
        { line: 2, column },
        JSON.stringify(doc),
      );
    }
  }
});

Deno.test("XmlParser fails valid documents only with policy-violation under tiny limits", () => {
  const limits = fc.record({
    maxStanzaBytes: fc.integer({ min: 1, max: 400 }),
    maxDepth: fc.integer({ min: 1, max: 4 }),
    maxAttributes: fc.integer({ min: 1, max: 3 }),
    maxNameLength: fc.integer({ min: 1, max: 6 }),
  });
  fc.assert(
    fc.property(
      xmlDocument(),
      limits,
      fc.boolean(),
      splitSeeds,
      (doc, options, tree, seeds) => {
        const bytes = utf8(doc);
        const outcome = runParser(split(bytes, seeds), { ...options, tree });
        assertSane(outcome, bytes.length);
        if (outcome.error !== null) {
          assert.equal(outcome.error.condition, "policy-violation");
        }
        for (const entry of outcome.entries) {
          assert.ok(
            entry.depth < options.maxDepth + (entry.t === "text" ? 1 : 0),
          );
          if (entry.t === "open") {
            assert.ok(entry.name.length <= options.maxNameLength, entry.name);
            assert.ok(Object.keys(entry.attrs).length <= options.maxAttributes);
          }
        }
      },
    ),
    { numRuns: runs(400) },
  );
});

Deno.test("XmlParser refuses more input after an error, with XmlError", () => {
  fc.assert(
    fc.property(
      mutatedDocument(),
      fc.uint8Array({ maxLength: 8 }),
      (bytes, more) => {
        const parser = new XmlParser(NULL_SINK, { stream: false });
        try {
          parser.write(bytes);
          parser.end();
          return;
        } catch (error) {
          if (!(error instanceof XmlError)) throw error;
        }
        assert.throws(() => parser.write(more), XmlError);
        assert.throws(() => parser.end(), XmlError);
      },
    ),
    { numRuns: runs(300) },
  );
});

Deno.test("parseDocument() throws nothing but XmlError on mutated documents", () => {
  fc.assert(
    fc.property(mutatedDocument(), (bytes) => {
      try {
        parseDocument(bytes);
      } catch (error) {
        if (!(error instanceof XmlError)) throw error;
      }
    }),
    { numRuns: runs(300) },
  );
});

Deno.test("parseXml() and parseFrames() end with an XmlError or complete on mutated streams", () => {
  fc.assert(
    fc.property(
      mutatedDocument({ stream: true }),
      splitSeeds,
      (bytes, seeds) => {
        const chunks = split(bytes, seeds);
        const runs: Observable<unknown>[] = [
          from(chunks).pipe(parseXml()),
          from(chunks).pipe(parseFrames()),
        ];
        for (const run of runs) {
          let ended = false;
          run.subscribe({
            error(error) {
              assert.ok(error instanceof XmlError, String(error));
              ended = true;
            },
            complete() {
              ended = true;
            },
          });
          assert.ok(ended);
        }
      },
    ),
    { numRuns: runs(300) },
  );
});

// ---------------------------------------------------------------------------
// Hostile shapes, at the default limits

/** Parses with default limits, expecting policy-violation. */
function assertPolicyViolation(chunks: Iterable<string>, tree = false): void {
  const parser = new XmlParser(NULL_SINK, { tree });
  assert.throws(
    () => {
      for (const chunk of chunks) parser.write(utf8(chunk));
      parser.end();
    },
    (error) =>
      error instanceof XmlError && error.condition === "policy-violation",
  );
}

function* repeat(head: string, unit: string, times: number, tail = "") {
  yield head;
  for (let i = 0; i < times; i++) yield unit;
  yield tail;
}

Deno.test("XmlParser rejects 100,000 nested elements with policy-violation", () => {
  assertPolicyViolation(repeat("", "<a>", 100_000));
  assertPolicyViolation(repeat("", "<a>", 100_000), true);
});

Deno.test("XmlParser rejects 100,000 attributes with policy-violation", () => {
  assertPolicyViolation([
    "<r>",
    "<a " + Array.from({ length: 100_000 }, (_, i) => `a${i}='1'`).join(" "),
    "/></r>",
  ]);
});

Deno.test("XmlParser rejects a 1 MB name with policy-violation", () => {
  assertPolicyViolation(repeat("<r><", "a".repeat(1024), 1024, "/></r>"));
  assertPolicyViolation(repeat("<r><a ", "b".repeat(1024), 1024, "='1'/></r>"));
});

Deno.test("XmlParser rejects a 1 MB stanza with policy-violation", () => {
  for (const tree of [false, true]) {
    assertPolicyViolation(
      repeat(
        "<r><message><body>",
        "x".repeat(1024),
        1024,
        "</body></message></r>",
      ),
      tree,
    );
    assertPolicyViolation(
      repeat("<r><message a='", "x".repeat(1024), 1024, "'/></r>"),
      tree,
    );
    assertPolicyViolation(
      repeat(
        "<r><message><![CDATA[",
        "x".repeat(1024),
        1024,
        "]]></message></r>",
      ),
      tree,
    );
  }
});

Deno.test("XmlParser rejects a 1 MB stream header with policy-violation", () => {
  assertPolicyViolation(repeat("<stream a='", "x".repeat(1024), 1024, "'>"));
});

Deno.test("XmlParser rejects a stream header over the limit that comes in one chunk, at the limit's offset", () => {
  const parser = new XmlParser(NULL_SINK, { maxStanzaBytes: 1000 });
  assert.throws(
    () => parser.write(utf8(`<stream a='${"x".repeat(2000)}'>`)),
    (error) =>
      error instanceof XmlError && error.condition === "policy-violation" &&
      error.offset === 1000,
  );
});

Deno.test("XmlParser reads 100,000 nested elements when maxDepth allows it", () => {
  let depth = 0;
  const sink: XmlSink = {
    ...NULL_SINK,
    start(_, d) {
      depth = Math.max(depth, d);
    },
  };
  const parser = new XmlParser(sink, {
    maxDepth: 200_000,
    maxStanzaBytes: 1 << 24,
    stream: false,
  });
  parser.write(utf8("<a>".repeat(100_000)));
  parser.write(utf8("</a>".repeat(100_000)));
  parser.end();
  assert.equal(depth, 99_999);
});
