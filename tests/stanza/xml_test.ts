import assert from "node:assert/strict";
import { Element } from "../../src/xml/element.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { serialize } from "../../src/xml/serialize.ts";
import { isNcName, xml } from "../../src/stanza/xml.ts";

Deno.test("xml() takes its namespace from xmlns and does not keep it as an attribute", () => {
  const el = xml("query", { xmlns: "jabber:iq:roster", ver: "1" });
  assert.equal(el.ns, "jabber:iq:roster");
  assert.deepEqual(el.attrs, { ver: "1" });
  assert.equal(serialize(el), "<query xmlns='jabber:iq:roster' ver='1'/>");
});

Deno.test("xml() drops undefined and null attributes and stringifies numbers and booleans", () => {
  const el = xml("x", {
    a: undefined,
    b: null,
    c: 0,
    d: false,
    e: true,
    f: "",
  });
  assert.deepEqual(el.attrs, { c: "0", d: "false", e: "true", f: "" });
});

Deno.test("xml() drops null, undefined and false children, flattens arrays and merges text", () => {
  const el = xml(
    "x",
    null,
    "a",
    null,
    undefined,
    false,
    ["b", 1, [2, xml("y"), ""]],
    "",
    "c",
    "d",
  );
  assert.equal(el.children.length, 3);
  assert.equal(el.children[0], "ab12");
  assert.ok(el.children[1] instanceof Element);
  assert.equal(el.children[2], "cd");
});

Deno.test("xml() puts children without xmlns in their parent's namespace", () => {
  const el = xml(
    "message",
    { xmlns: "jabber:client" },
    xml("body", null, "hi"),
    xml("x", { xmlns: "urn:ext" }, xml("item")),
  );
  assert.equal(el.getChild("body")?.ns, "jabber:client");
  assert.equal(el.getChild("x")?.ns, "urn:ext");
  assert.equal(el.getChild("x")?.getChild("item")?.ns, "urn:ext");
  assert.equal(
    serialize(el),
    "<message xmlns='jabber:client'><body>hi</body>" +
      "<x xmlns='urn:ext'><item/></x></message>",
  );
});

Deno.test("xml() binds unbound descendants when their unbound ancestor is placed", () => {
  const inner = xml("c", null);
  const middle = xml("b", null, inner);
  assert.equal(middle.ns, "");
  assert.equal(inner.ns, "");
  const outer = xml("a", { xmlns: "urn:a" }, middle);
  assert.equal(middle.ns, "urn:a");
  assert.equal(inner.ns, "urn:a");
  assert.equal(serialize(outer), "<a xmlns='urn:a'><b><c/></b></a>");
});

Deno.test("xml() leaves an unbound element at the top in no namespace", () => {
  const el = xml("b", null, xml("c"));
  assert.equal(el.ns, "");
  assert.equal(serialize(el), "<b><c/></b>");
});

Deno.test("xml() binds an element once: moved to another parent it keeps its namespace", () => {
  const body = xml("body", null, "hi");
  xml("message", { xmlns: "jabber:client" }, body);
  xml("message", { xmlns: "jabber:server" }, body);
  assert.equal(body.ns, "jabber:client");
});

Deno.test("xml() keeps an explicit empty xmlns and never rebinds parsed elements", () => {
  const none = xml("none", { xmlns: "" });
  const parsed = parseDocument("<parsed/>");
  const made = new Element("made");
  const el = xml("a", { xmlns: "urn:a" }, none, parsed, made);
  assert.equal(none.ns, "");
  assert.equal(parsed.ns, "");
  assert.equal(made.ns, "");
  assert.equal(
    serialize(el),
    "<a xmlns='urn:a'><none xmlns=''/><parsed xmlns=''/><made xmlns=''/></a>",
  );
});

Deno.test("xml() accepts xml: and Clark-notation attribute keys", () => {
  const el = xml("body", {
    xmlns: "jabber:client",
    "xml:lang": "en",
    "{urn:ext}flag": "1",
  });
  assert.equal(
    serialize(el),
    "<body xmlns='jabber:client' xmlns:ns0='urn:ext' xml:lang='en' ns0:flag='1'/>",
  );
});

Deno.test("xml() rejects invalid element names and attribute keys with TypeError", () => {
  for (const name of ["", "1a", "a:b", "a b", "-a", "<"]) {
    assert.throws(() => xml(name), TypeError, name);
  }
  for (const key of ["", "a:b", "xmlns:p", "1a", "{urn:x}", "{urn:x", "xml:"]) {
    assert.throws(() => xml("a", { [key]: "v" }), TypeError, key);
  }
});

Deno.test("xml() rejects children that are neither elements nor text", () => {
  assert.throws(() => xml("a", null, true as unknown as string), TypeError);
  assert.throws(() => xml("a", null, {} as unknown as string), TypeError);
});

Deno.test("isNcName() follows XML 1.0 names without a colon", () => {
  for (const ok of ["a", "_a", "a-b.c1", "é", "ns\u00B7x", "\u{10000}x"]) {
    assert.ok(isNcName(ok), ok);
  }
  for (const bad of ["", "a:b", ".a", "1", "\u00B7a", "a\u0000"]) {
    assert.ok(!isNcName(bad), bad);
  }
});
