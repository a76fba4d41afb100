import assert from "node:assert/strict";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { serialize } from "../../src/xml/serialize.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { jid } from "../../src/stanza/jid.ts";
import {
  CLIENT_NS,
  iq,
  iqError,
  iqResult,
  message,
  presence,
  randomId,
  SERVER_NS,
} from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";

Deno.test("message() builds a message in jabber:client with body, subject and thread", () => {
  const el = message(
    {
      to: jid("juliet@capulet.example/balcony"),
      from: "romeo@montague.example/orchard",
      type: "chat",
      id: "m1",
      lang: "en",
      subject: "Hi",
      body: "Art thou <there>?",
      thread: "t1",
    },
    xml("active", { xmlns: "http://jabber.org/protocol/chatstates" }),
  );
  assert.equal(
    serialize(el),
    "<message xmlns='jabber:client' to='juliet@capulet.example/balcony' " +
      "from='romeo@montague.example/orchard' type='chat' id='m1' xml:lang='en'>" +
      "<subject>Hi</subject><body>Art thou &lt;there&gt;?</body><thread>t1</thread>" +
      "<active xmlns='http://jabber.org/protocol/chatstates'/></message>",
  );
  assert.equal(el.getChild("body")?.ns, CLIENT_NS);
});

Deno.test("message() with no options is an empty message and keeps an empty body", () => {
  assert.equal(serialize(message()), "<message xmlns='jabber:client'/>");
  assert.equal(
    serialize(message({ body: "" })),
    "<message xmlns='jabber:client'><body/></message>",
  );
});

Deno.test("stanza builders take another namespace, and their children follow it", () => {
  const el = message({ ns: SERVER_NS, body: "hi" }, xml("x"));
  assert.equal(el.ns, SERVER_NS);
  assert.deepEqual(el.elements().map((c) => c.ns), [SERVER_NS, SERVER_NS]);
  assert.equal(
    serialize(el),
    "<message xmlns='jabber:server'><body>hi</body><x/></message>",
  );
});

Deno.test("presence() builds show, status and priority", () => {
  assert.equal(serialize(presence()), "<presence xmlns='jabber:client'/>");
  assert.equal(
    serialize(
      presence({
        type: "unavailable",
        status: "Gone",
        priority: -128,
        id: "p",
      }),
    ),
    "<presence xmlns='jabber:client' type='unavailable' id='p'>" +
      "<status>Gone</status><priority>-128</priority></presence>",
  );
  assert.equal(
    serialize(presence({ show: "xa", priority: 0 })),
    "<presence xmlns='jabber:client'><show>xa</show><priority>0</priority></presence>",
  );
});

Deno.test("presence() refuses a priority outside -128..127 or not an integer", () => {
  for (const priority of [128, -129, 1.5, NaN, Infinity]) {
    assert.throws(() => presence({ priority }), RangeError, String(priority));
  }
});

Deno.test("iq() builds a request with an unguessable id when none is given", () => {
  const el = iq(
    { type: "set", to: "juliet@capulet.example" },
    xml("query", { xmlns: "jabber:iq:roster" }),
  );
  assert.match(el.attrs.id!, /^[A-Za-z0-9_-]{22}$/);
  assert.equal(
    serialize(el),
    `<iq xmlns='jabber:client' to='juliet@capulet.example' type='set' id='${el.attrs.id}'>` +
      "<query xmlns='jabber:iq:roster'/></iq>",
  );
  assert.equal(iq({ type: "result", id: "r" }).attrs.id, "r");
});

Deno.test("iq() refuses get and set without exactly one child element", () => {
  for (const type of ["get", "set"] as const) {
    assert.throws(() => iq({ type }), TypeError);
    assert.throws(() => iq({ type }, "text only"), TypeError);
    assert.throws(() => iq({ type }, xml("a"), xml("b")), TypeError);
    assert.ok(iq({ type }, " ", xml("a"), " "));
  }
});

Deno.test("iq() allows at most one child in a result and needs <error/> in an error", () => {
  assert.ok(iq({ type: "result" }));
  assert.ok(iq({ type: "result" }, xml("a")));
  assert.throws(() => iq({ type: "result" }, xml("a"), xml("b")), TypeError);
  assert.throws(() => iq({ type: "error" }), TypeError);
  assert.throws(
    () => iq({ type: "error" }, xml("a", { xmlns: "urn:x" })),
    TypeError,
  );
  assert.throws(
    () => iq({ type: "nope" as "get" }, xml("a")),
    TypeError,
  );
});

Deno.test("randomId() gives distinct 128-bit base64url ids", () => {
  const ids = new Set(Array.from({ length: 1000 }, randomId));
  assert.equal(ids.size, 1000);
  for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{22}$/);
});

const request = parseDocument(
  "<iq xmlns='jabber:client' type='get' id='v1' " +
    "from='romeo@montague.example/orchard' to='juliet@capulet.example/balcony'>" +
    "<query xmlns='jabber:iq:version'/></iq>",
);

Deno.test("iqResult() swaps to and from and keeps id and namespace", () => {
  const reply = iqResult(
    request,
    xml("query", { xmlns: "jabber:iq:version" }, xml("name", null, "x")),
  );
  assert.equal(
    serialize(reply),
    "<iq xmlns='jabber:client' to='romeo@montague.example/orchard' " +
      "from='juliet@capulet.example/balcony' type='result' id='v1'>" +
      "<query xmlns='jabber:iq:version'><name>x</name></query></iq>",
  );
});

Deno.test("iqResult() leaves absent addresses absent and follows a jabber:server request", () => {
  const bare = parseDocument(
    "<iq xmlns='jabber:server' type='set' id='s'><a xmlns='urn:a'/></iq>",
  );
  assert.equal(
    serialize(iqResult(bare)),
    "<iq xmlns='jabber:server' type='result' id='s'/>",
  );
});

Deno.test("iqResult() and iqError() answer only an iq get or set with an id", () => {
  for (
    const text of [
      "<iq xmlns='jabber:client' type='result' id='x'/>",
      "<iq xmlns='jabber:client' type='error' id='x'><error/></iq>",
      "<iq xmlns='jabber:client' type='get'><a/></iq>",
      "<message xmlns='jabber:client' type='get' id='x'/>",
    ]
  ) {
    const el = parseDocument(text);
    assert.throws(() => iqResult(el), TypeError, text);
    assert.throws(() => iqError(el, "bad-request"), TypeError, text);
  }
});

Deno.test("iqError() builds the error reply with the condition's default type", () => {
  assert.equal(
    serialize(iqError(request, "item-not-found")),
    "<iq xmlns='jabber:client' to='romeo@montague.example/orchard' " +
      "from='juliet@capulet.example/balcony' type='error' id='v1'>" +
      "<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
      "</error></iq>",
  );
});

Deno.test("iqError() takes an explicit type and text", () => {
  const reply = iqError(request, "not-acceptable", "cancel", "No & never");
  assert.equal(
    serialize(reply.getChild("error")!, CLIENT_NS),
    "<error type='cancel'><not-acceptable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
      "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>No &amp; never</text></error>",
  );
});

Deno.test("iqError() sends a StanzaError back as it is", () => {
  const error = new StanzaError("policy-violation", {
    type: "wait",
    text: "Slow down",
    lang: "en",
    by: "capulet.example",
    application: xml("too-many", { xmlns: "urn:app" }),
  });
  const reply = iqError(request, error);
  assert.equal(
    serialize(reply.getChild("error")!, CLIENT_NS),
    "<error type='wait' by='capulet.example'>" +
      "<policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
      "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>Slow down</text>" +
      "<too-many xmlns='urn:app'/></error>",
  );
  const back = StanzaError.fromElement(parseDocument(serialize(reply)));
  assert.equal(back.condition, "policy-violation");
  assert.equal(back.type, "wait");
  assert.equal(back.text, "Slow down");
  assert.equal(back.lang, "en");
  assert.equal(back.by, "capulet.example");
  assert.equal(back.application?.name, "too-many");
});
