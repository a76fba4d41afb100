import assert from "node:assert/strict";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { serialize } from "../../src/xml/serialize.ts";
import {
  DEFAULT_ERROR_TYPES,
  STANZA_ERROR_CONDITIONS,
  STANZA_ERROR_NS,
  STANZA_ERROR_TYPES,
  StanzaError,
  stanzaError,
} from "../../src/stanza/error.ts";
import { message } from "../../src/stanza/stanza.ts";

Deno.test("STANZA_ERROR_CONDITIONS lists the 22 conditions of RFC 6120 section 8.3.3, each with a default type", () => {
  assert.equal(STANZA_ERROR_CONDITIONS.length, 22);
  assert.equal(new Set(STANZA_ERROR_CONDITIONS).size, 22);
  assert.deepEqual(
    Object.keys(DEFAULT_ERROR_TYPES).sort(),
    [...STANZA_ERROR_CONDITIONS].sort(),
  );
  for (const type of Object.values(DEFAULT_ERROR_TYPES)) {
    assert.ok((STANZA_ERROR_TYPES as readonly string[]).includes(type));
  }
});

Deno.test("StanzaError.fromElement() reads every condition with every type back from the wire", () => {
  for (const condition of STANZA_ERROR_CONDITIONS) {
    for (const type of STANZA_ERROR_TYPES) {
      const wire = serialize(
        message(
          { type: "error", id: "e" },
          stanzaError(condition, { type, text: `${condition} text` }),
        ),
      );
      const error = StanzaError.fromElement(parseDocument(wire));
      assert.ok(error instanceof Error);
      assert.equal(error.name, "StanzaError");
      assert.equal(error.condition, condition);
      assert.equal(error.type, type);
      assert.equal(error.text, `${condition} text`);
      assert.equal(error.stanza?.attrs.id, "e");
      assert.equal(
        error.message,
        `Stanza error <${condition}/> (${type}): ${condition} text`,
      );
    }
  }
});

Deno.test("StanzaError.fromElement() takes the condition's default type when the type is missing or invalid", () => {
  for (const condition of STANZA_ERROR_CONDITIONS) {
    for (const attr of ["", " type='bogus'"]) {
      const error = StanzaError.fromElement(parseDocument(
        `<iq xmlns='jabber:client' type='error' id='1'><error${attr}>` +
          `<${condition} xmlns='${STANZA_ERROR_NS}'/></error></iq>`,
      ));
      assert.equal(error.condition, condition);
      assert.equal(error.type, DEFAULT_ERROR_TYPES[condition]);
      assert.equal(error.text, undefined);
    }
  }
});

Deno.test("StanzaError.fromElement() gives undefined-condition for a missing error or an unknown condition", () => {
  const none = StanzaError.fromElement(
    parseDocument("<iq xmlns='jabber:client' type='error' id='1'/>"),
  );
  assert.equal(none.condition, "undefined-condition");
  assert.equal(none.type, "cancel");
  const unknown = StanzaError.fromElement(parseDocument(
    `<iq xmlns='jabber:client' type='error' id='1'><error type='modify'>` +
      `<made-up xmlns='${STANZA_ERROR_NS}'/></error></iq>`,
  ));
  assert.equal(unknown.condition, "undefined-condition");
  assert.equal(unknown.type, "modify");
  const empty = StanzaError.fromElement(
    parseDocument(
      "<iq xmlns='jabber:client' type='error' id='1'><error/></iq>",
    ),
  );
  assert.equal(empty.condition, "undefined-condition");
});

Deno.test("StanzaError.fromElement() reads the error child on its own, its text language, by and application condition", () => {
  const error = StanzaError.fromElement(parseDocument(
    `<error xmlns='jabber:client' type='modify' by='example.net'>` +
      `<app xmlns='urn:app'/>` +
      `<text xmlns='${STANZA_ERROR_NS}' xml:lang='fr'>Non</text>` +
      `<bad-request xmlns='${STANZA_ERROR_NS}'/></error>`,
  ));
  assert.equal(error.condition, "bad-request");
  assert.equal(error.stanza, undefined);
  assert.equal(error.text, "Non");
  assert.equal(error.lang, "fr");
  assert.equal(error.by, "example.net");
  assert.equal(error.application?.ns, "urn:app");
});

Deno.test("stanzaError() carries the new address of gone and redirect, and only those", () => {
  const uri = "xmpp:romeo@montague.example?join";
  for (const condition of ["gone", "redirect"] as const) {
    const el = stanzaError(condition, { uri });
    assert.equal(el.getChild(condition, STANZA_ERROR_NS)?.text(), uri);
    assert.equal(StanzaError.fromElement(el).uri, uri);
  }
  const other = stanzaError("conflict", { uri });
  assert.equal(other.getChild("conflict")?.children.length, 0);
});

Deno.test("stanzaError() takes its stanza's namespace and refuses unknown conditions and types", () => {
  const el = message({ type: "error" }, stanzaError("forbidden"));
  assert.equal(el.getChild("error")?.ns, "jabber:client");
  assert.equal(el.getChild("error")?.attrs.type, "auth");
  assert.throws(() => stanzaError("nope" as "gone"), TypeError);
  assert.throws(
    () => stanzaError("gone", { type: "later" as "wait" }),
    TypeError,
  );
});

Deno.test("StanzaError.toElement() and fromElement() round-trip", () => {
  for (const condition of STANZA_ERROR_CONDITIONS) {
    const error = new StanzaError(condition, { text: "t", by: "b" });
    const back = StanzaError.fromElement(error.toElement());
    assert.equal(back.condition, condition);
    assert.equal(back.type, DEFAULT_ERROR_TYPES[condition]);
    assert.equal(back.text, "t");
    assert.equal(back.by, "b");
  }
});

Deno.test("StanzaError keeps its cause and has no text in its message when there is none", () => {
  const cause = new Error("inner");
  const error = new StanzaError("conflict", { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.message, "Stanza error <conflict/> (cancel)");
});
