// Every parser of an isolate shares one name cache: parsers whose writes
// interleave, with the same names bound to other namespaces, must read
// exactly what each reads alone.

import assert from "node:assert/strict";
import fc from "fast-check";
import { XmlParser } from "../../src/xml/parser.ts";
import { XmlError } from "../../src/xml/errors.ts";
import type { Element } from "../../src/xml/element.ts";
import type { XmlSink } from "../../src/xml/sink.ts";
import { runs, utf8, xmlDocument } from "./_arbitraries.ts";
import { split, splitSeeds } from "./_mutations.ts";
import { plain, type PlainElement } from "./_trace.ts";

interface Read {
  frames: (PlainElement | string)[];
  error?: string;
}

function reader(): { parser: XmlParser; read: Read } {
  const read: Read = { frames: [] };
  const sink: XmlSink = {
    open(root: Element) {
      read.frames.push(`open ${root.ns} ${JSON.stringify(root.attrs)}`);
    },
    start() {},
    text() {},
    end(element: Element) {
      read.frames.push(plain(element));
    },
    close() {
      read.frames.push("close");
    },
  };
  return { parser: new XmlParser(sink, { tree: true, stream: false }), read };
}

function write(parser: XmlParser, read: Read, chunk: Uint8Array | null) {
  if (read.error !== undefined) return;
  try {
    if (chunk === null) parser.end();
    else parser.write(chunk);
  } catch (error) {
    assert.ok(error instanceof XmlError);
    read.error = `${error.condition} ${error.offset}`;
  }
}

function alone(chunks: Uint8Array[]): Read {
  const { parser, read } = reader();
  for (const chunk of [...chunks, null]) write(parser, read, chunk);
  return read;
}

Deno.test("two parsers binding the same prefixed names to other namespaces, writes interleaved", () => {
  const doc = (uri: string) =>
    utf8(
      `<r xmlns:p='${uri}'>${"<p:m p:a='1' q='2'><p:b/></p:m>".repeat(50)}</r>`,
    );
  const [a, b] = [reader(), reader()];
  const [x, y] = [doc("urn:one"), doc("urn:two")];
  for (let i = 0; i < x.length; i += 7) {
    write(a.parser, a.read, x.subarray(i, i + 7));
    write(b.parser, b.read, y.subarray(i, i + 7));
  }
  write(a.parser, a.read, null);
  write(b.parser, b.read, null);
  assert.deepEqual(a.read, alone([x]));
  assert.deepEqual(b.read, alone([y]));
  const first = a.read.frames[1] as PlainElement;
  assert.equal(first.ns, "urn:one");
  assert.deepEqual(Object.keys(first.attrs), ["{urn:one}a", "q"]);
  const second = b.read.frames[1] as PlainElement;
  assert.equal(second.ns, "urn:two");
  assert.deepEqual(Object.keys(second.attrs), ["{urn:two}a", "q"]);
});

Deno.test("any two documents read interleaved, in any chunking, read as each alone", () => {
  fc.assert(
    fc.property(
      xmlDocument(),
      xmlDocument(),
      splitSeeds,
      splitSeeds,
      (one, two, seedsOne, seedsTwo) => {
        const chunksOne = split(utf8(one), seedsOne);
        const chunksTwo = split(utf8(two), seedsTwo);
        const [a, b] = [reader(), reader()];
        const inputA = [...chunksOne, null];
        const inputB = [...chunksTwo, null];
        for (let i = 0; i < Math.max(inputA.length, inputB.length); i++) {
          if (i < inputA.length) write(a.parser, a.read, inputA[i]!);
          if (i < inputB.length) write(b.parser, b.read, inputB[i]!);
        }
        assert.deepEqual(a.read, alone(chunksOne));
        assert.deepEqual(b.read, alone(chunksTwo));
      },
    ),
    { numRuns: runs(300) },
  );
});

Deno.test("a name cached by a parser with larger limits is still refused by one whose maxNameLength it exceeds", () => {
  const name = "abcdefghij";
  new XmlParser({ open() {}, start() {}, text() {}, end() {}, close() {} })
    .write(utf8(`<${name}>`)); // caches the name
  const parser = new XmlParser(
    { open() {}, start() {}, text() {}, end() {}, close() {} },
    { maxNameLength: 6 },
  );
  assert.throws(
    () => parser.write(utf8(`<${name}>`)),
    (e: unknown) => e instanceof XmlError && e.condition === "policy-violation",
  );
});
