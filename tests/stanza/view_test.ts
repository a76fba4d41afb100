import assert from "node:assert/strict";
import { Element } from "../../src/xml/element.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { message, presence } from "../../src/stanza/stanza.ts";
import { asStanza, Iq, Message, Presence } from "../../src/stanza/view.ts";

Deno.test("Message reads addresses, id, language, type, body, subject and thread", () => {
  const view = new Message(parseDocument(
    "<message xmlns='jabber:client' to='Juliet@Capulet.example/balcony' " +
      "from='romeo@montague.example' id='m1' type='groupchat' xml:lang='en'>" +
      "<subject>S</subject><body>B</body><thread>T</thread></message>",
  ));
  assert.equal(view.kind, "message");
  assert.equal(view.to?.toString(), "juliet@capulet.example/balcony");
  assert.equal(view.rawTo, "Juliet@Capulet.example/balcony");
  assert.equal(view.from?.local, "romeo");
  assert.equal(view.id, "m1");
  assert.equal(view.lang, "en");
  assert.equal(view.type, "groupchat");
  assert.equal(view.body, "B");
  assert.equal(view.subject, "S");
  assert.equal(view.thread, "T");
  assert.equal(view.error, undefined);
});

Deno.test("Message reads a missing or unknown type as normal", () => {
  assert.equal(new Message(message()).type, "normal");
  assert.equal(
    new Message(parseDocument("<message xmlns='jabber:client' type='odd'/>"))
      .type,
    "normal",
  );
});

Deno.test("views read an invalid address as undefined and keep the raw string", () => {
  const view = new Message(parseDocument(
    "<message xmlns='jabber:client' from='@bad' to='a@'/>",
  ));
  assert.equal(view.from, undefined);
  assert.equal(view.rawFrom, "@bad");
  assert.equal(view.to, undefined);
  assert.equal(view.rawTo, "a@");
  const none = new Message(message());
  assert.equal(none.from, undefined);
  assert.equal(none.rawFrom, undefined);
});

Deno.test("views ignore children in another namespace than the stanza's", () => {
  const view = new Message(parseDocument(
    "<message xmlns='jabber:client'><body xmlns='urn:other'>no</body><body>yes</body></message>",
  ));
  assert.equal(view.body, "yes");
});

Deno.test("Presence reads type, show, status and priority with RFC 6121 defaults", () => {
  const view = new Presence(
    presence({ show: "chat", status: "Here", priority: 10 }),
  );
  assert.equal(view.kind, "presence");
  assert.equal(view.type, undefined);
  assert.equal(view.show, "chat");
  assert.equal(view.status, "Here");
  assert.equal(view.priority, 10);
  const bare = new Presence(presence({ type: "subscribe" }));
  assert.equal(bare.type, "subscribe");
  assert.equal(bare.show, undefined);
  assert.equal(bare.priority, 0);
});

Deno.test("Presence reads an unknown type or show as undefined and a bad priority as 0", () => {
  for (const priority of ["128", "-129", "x", "1.5", "", "0x10"]) {
    const view = new Presence(parseDocument(
      `<presence xmlns='jabber:client' type='weird'><show>busy</show>` +
        `<priority>${priority}</priority></presence>`,
    ));
    assert.equal(view.type, undefined);
    assert.equal(view.show, undefined);
    assert.equal(view.priority, 0, priority);
  }
  const padded = new Presence(parseDocument(
    "<presence xmlns='jabber:client'><show> away </show><priority> +5 </priority></presence>",
  ));
  assert.equal(padded.show, "away");
  assert.equal(padded.priority, 5);
});

Deno.test("Iq reads its type and payload, skipping <error/>", () => {
  const request = new Iq(parseDocument(
    "<iq xmlns='jabber:client' type='set' id='1'><query xmlns='jabber:iq:roster'/></iq>",
  ));
  assert.equal(request.kind, "iq");
  assert.equal(request.type, "set");
  assert.equal(request.payload?.name, "query");
  const error = new Iq(parseDocument(
    "<iq xmlns='jabber:client' type='error' id='1'>" +
      "<error type='cancel'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>" +
      "<query xmlns='jabber:iq:roster'/></iq>",
  ));
  assert.equal(error.payload?.name, "query");
  assert.equal(error.error?.condition, "conflict");
  assert.equal(
    new Iq(parseDocument("<iq xmlns='jabber:client' type='x'/>")).type,
    undefined,
  );
  assert.equal(
    new Iq(parseDocument("<iq xmlns='jabber:client' type='result'/>")).payload,
    undefined,
  );
});

Deno.test("view constructors refuse other elements and asStanza() gives undefined for them", () => {
  const cases = [
    "<message xmlns='urn:other'/>",
    "<message/>",
    "<features xmlns='jabber:client'/>",
  ];
  for (const text of cases) {
    assert.equal(asStanza(parseDocument(text)), undefined, text);
  }
  assert.throws(
    () => new Message(parseDocument("<presence xmlns='jabber:client'/>")),
    TypeError,
  );
  assert.throws(() => new Iq(new Element("iq")), TypeError);
});

Deno.test("asStanza() picks the view for message, presence and iq in both stanza namespaces", () => {
  for (const ns of ["jabber:client", "jabber:server"]) {
    assert.ok(asStanza(new Element("message", ns)) instanceof Message);
    assert.ok(asStanza(new Element("presence", ns)) instanceof Presence);
    assert.ok(asStanza(new Element("iq", ns)) instanceof Iq);
  }
});
