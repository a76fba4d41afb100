import assert from "node:assert/strict";
import { openTag, readHeader, streamId } from "../../src/stream/header.ts";
import { StreamError } from "../../src/stream/errors.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";

function header(xml: string) {
  return parseDocument(xml.replace(/>$/, "/>"));
}

Deno.test("openTag() writes the declaration, both namespaces and escaped attributes", () => {
  assert.equal(
    openTag({
      from: "romeo@forza",
      to: "juliet@pronto",
      id: undefined,
      version: "1.0",
      lang: "en",
      ns: "jabber:client",
    }, true),
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
      "xmlns:stream='http://etherx.jabber.org/streams' from='romeo@forza' " +
      "to='juliet@pronto' version='1.0' xml:lang='en'>",
  );
  assert.match(
    openTag({
      from: "a'b",
      to: undefined,
      id: undefined,
      version: undefined,
      lang: undefined,
      ns: "jabber:client",
    }, false),
    /^<stream:stream [^>]*from='a&apos;b'>$/,
  );
});

Deno.test("readHeader() reads addresses, id, version and the content namespace", () => {
  const h = readHeader(
    header(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='a' to='b' id='x' version='1.0' xml:lang='en'>",
    ),
    "jabber:client",
  );
  assert.deepEqual(h, {
    from: "a",
    to: "b",
    id: "x",
    version: "1.0",
    lang: "en",
    ns: "jabber:client",
  });
});

Deno.test("readHeader() refuses wrong namespaces and versions above 1 with the RFC 6120 condition", () => {
  const cases: [string, string][] = [
    [
      "<stream:stream xmlns='jabber:client' xmlns:stream='urn:other' version='1.0'>",
      "invalid-namespace",
    ],
    [
      "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>",
      "invalid-namespace",
    ],
    [
      "<stream xmlns='http://etherx.jabber.org/streams' version='1.0'>",
      "invalid-namespace",
    ],
    [
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='2.0'>",
      "unsupported-version",
    ],
    [
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='one'>",
      "unsupported-version",
    ],
  ];
  for (const [xml, condition] of cases) {
    assert.throws(
      () => readHeader(header(xml), "jabber:client"),
      (e: unknown) =>
        e instanceof StreamError && e.condition === condition && e.sent,
      xml,
    );
  }
  // 1.x is read as 1.0 (RFC 6120 section 4.7.5).
  assert.equal(
    readHeader(
      header(
        "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.5'>",
      ),
      "jabber:client",
    ).version,
    "1.0",
  );
});

Deno.test("streamId() gives 128 unpredictable bits, never twice the same", () => {
  const ids = new Set(Array.from({ length: 1000 }, () => streamId()));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{22}$/);
});
