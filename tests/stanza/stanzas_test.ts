import assert from "node:assert/strict";
import { map } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { stanzas } from "../../src/stanza/stanzas.ts";
import { Iq, Message, Presence } from "../../src/stanza/view.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";
import type { StreamFrame } from "../../src/xml/events.ts";
import type { Element } from "../../src/xml/element.ts";

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) =>
    assert.deepEqual(actual, expected)
  );
}

const el = (xml: string): Element => parseDocument(xml);
const frame = (xml: string): StreamFrame => ({
  type: "element",
  element: el(xml),
});
const FRAMES: Record<string, StreamFrame> = {
  h: {
    type: "header",
    element: el("<stream xmlns='http://etherx.jabber.org/streams'/>"),
    declaration: undefined,
  },
  f: frame(
    "<features xmlns='http://etherx.jabber.org/streams'><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></features>",
  ),
  m: frame("<message xmlns='jabber:client'><body>hi</body></message>"),
  p: frame("<presence xmlns='jabber:server' type='unavailable'/>"),
  i: frame(
    "<iq xmlns='jabber:client' type='get' id='1'><ping xmlns='urn:xmpp:ping'/></iq>",
  ),
  x: frame("<message xmlns='urn:not-a-stanza'/>"),
  c: { type: "close" },
};

/** A view as a short string: kind and one fact. */
function show(view: Message | Presence | Iq): string {
  switch (view.kind) {
    case "message":
      return `message ${view.body}`;
    case "presence":
      return `presence ${view.type}`;
    case "iq":
      return `iq ${view.type}`;
  }
}

Deno.test("stanzas() turns element frames into views, skipping headers, closes and non-stanzas", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold("-h-f-m-x-p-i-c-|", FRAMES);
    expectObservable(source.pipe(stanzas(), map(show))).toBe(
      "-----m---p-i---|",
      { m: "message hi", p: "presence unavailable", i: "iq get" },
    );
    expectSubscriptions(source.subscriptions).toBe("^--------------!");
  });
});

Deno.test("stanzas(kind) lets only that kind through, typed as its view", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-m-p-i-m-|", FRAMES);
    expectObservable(
      source.pipe(stanzas("message"), map((m: Message) => m.body)),
    ).toBe("-a-----a-|", { a: "hi" });
    expectObservable(
      source.pipe(stanzas("iq"), map((iq: Iq) => iq.payload?.name)),
    ).toBe("-----a---|", { a: "ping" });
  });
});

Deno.test("stanzas() takes bare elements too, as a stream's stanzas$ gives them", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-a-b-|", {
      a: el("<message xmlns='jabber:client'><body>x</body></message>"),
      b: el("<foo xmlns='jabber:client'/>"),
    });
    expectObservable(source.pipe(stanzas(), map(show))).toBe("-a---|", {
      a: "message x",
    });
  });
});

Deno.test("stanzas() passes errors on and unsubscribes from its source when unsubscribed", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const failing = cold("-m-#", FRAMES, new Error("bad input"));
    expectObservable(failing.pipe(stanzas(), map(show))).toBe(
      "-a-#",
      { a: "message hi" },
      new Error("bad input"),
    );
    const endless = cold("-m-m-m-m-", FRAMES);
    expectObservable(endless.pipe(stanzas(), map(show)), "^--!").toBe("-a-", {
      a: "message hi",
    });
    expectSubscriptions(endless.subscriptions).toBe("^--!");
  });
});

Deno.test("the views stanzas() gives are the classes of view.ts", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-m-p-i-|", FRAMES);
    expectObservable(
      source.pipe(
        stanzas(),
        map((v) =>
          v instanceof Message
            ? "M"
            : v instanceof Presence
            ? "P"
            : v instanceof Iq
            ? "I"
            : "?"
        ),
      ),
    ).toBe("-M-P-I-|", { M: "M", P: "P", I: "I" });
  });
});
