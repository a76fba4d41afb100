// Proxy discovery and activation (XEP-0065 sections 4 and 6.3.5) against a
// scripted server: juliet's stream answers as the server and its
// components, by the `to` of each request.

import assert from "node:assert/strict";
import { plainStreams } from "../endpoint/_streams.ts";
import type { E2EStream } from "../../src/e2e.ts";
import {
  activateProxy,
  BYTESTREAMS_NS,
  discoverProxies,
  Socks5Error,
  type Socks5ErrorReason,
} from "../../src/jingle/mod.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { iqResult } from "../../src/stanza/stanza.ts";
import { xml, type XmlChild } from "../../src/stanza/xml.ts";
import type { Element } from "../../src/xml/element.ts";

const ITEMS = "http://jabber.org/protocol/disco#items";
const INFO = "http://jabber.org/protocol/disco#info";

function isSocks5(reason: Socks5ErrorReason) {
  return (error: unknown) =>
    error instanceof Socks5Error && error.reason === reason;
}

type Answer = Element | StanzaError | "silent" | undefined;

/** Romeo, and juliet answering by `to` and payload namespace. */
async function withServer(
  answers: Record<string, (request: Element) => Answer>,
  test: (romeo: E2EStream, seen: Element[]) => Promise<void>,
): Promise<void> {
  const { romeo, juliet } = await plainStreams({
    romeo: { iqTimeoutMs: 2_000 },
  });
  const seen: Element[] = [];
  let release!: () => void;
  const silence = new Promise<undefined>((resolve) =>
    release = () => resolve(undefined)
  );
  juliet.onIq((request) => {
    seen.push(request);
    const payload = request.elements()[0]!;
    const answer = answers[`${request.attrs.to} ${payload.ns}`]?.(request);
    return answer === "silent"
      ? silence
      : answer ?? new StanzaError("service-unavailable");
  });
  try {
    await test(romeo, seen);
  } finally {
    release();
    await Promise.all([romeo.close(), juliet.closed]);
  }
}

function items(request: Element, ...jids: string[]): Element {
  return iqResult(
    request,
    xml("query", { xmlns: ITEMS }, ...jids.map((jid) => xml("item", { jid }))),
  );
}

function info(request: Element, category: string, type: string): Element {
  return iqResult(
    request,
    xml(
      "query",
      { xmlns: INFO },
      xml("identity", { category, type }),
      xml("feature", { var: BYTESTREAMS_NS }),
    ),
  );
}

function hosts(request: Element, ...streamhosts: XmlChild[]): Element {
  return iqResult(
    request,
    xml("query", { xmlns: BYTESTREAMS_NS }, ...streamhosts),
  );
}

const PROXY = {
  "pronto http://jabber.org/protocol/disco#items": (r: Element) =>
    items(
      r,
      "proxy.pronto",
      "conference.pronto",
      "gone.pronto",
      "proxy.pronto",
    ),
  "proxy.pronto http://jabber.org/protocol/disco#info": (r: Element) =>
    info(r, "proxy", "bytestreams"),
  "conference.pronto http://jabber.org/protocol/disco#info": (r: Element) =>
    info(r, "conference", "text"),
  "proxy.pronto http://jabber.org/protocol/bytestreams": (r: Element) =>
    hosts(
      r,
      xml("streamhost", { jid: "proxy.pronto", host: "127.0.0.1", port: 7777 }),
      xml("streamhost", {
        jid: "proxy.pronto",
        zeroconf: "_jabber.bytestreams",
      }),
    ),
};

Deno.test("discoverProxies() finds the item with the proxy/bytestreams identity and its streamhost, once", async () => {
  await withServer(PROXY, async (romeo, seen) => {
    assert.deepEqual(await discoverProxies(romeo, { server: "pronto" }), [
      { jid: "proxy.pronto", host: "127.0.0.1", port: 7777 },
    ]);
    // The bytestreams query went to the proxy only, and carried no sid.
    const queries = seen.filter((r) => r.getChild("query", BYTESTREAMS_NS));
    assert.deepEqual(queries.map((r) => r.attrs.to), ["proxy.pronto"]);
    assert.equal(queries[0]!.attrs.type, "get");
    assert.equal(
      queries[0]!.getChild("query", BYTESTREAMS_NS)!.attrs.sid,
      undefined,
    );
  });
});

Deno.test("discoverProxies() returns [] when the server lists no proxy, or answers disco#items with an error", async () => {
  await withServer({
    "pronto http://jabber.org/protocol/disco#items": (r) =>
      items(r, "conference.pronto"),
    "conference.pronto http://jabber.org/protocol/disco#info": (r) =>
      info(r, "conference", "text"),
  }, async (romeo) => {
    assert.deepEqual(await discoverProxies(romeo, { server: "pronto" }), []);
  });
  await withServer({}, async (romeo) => {
    assert.deepEqual(await discoverProxies(romeo, { server: "pronto" }), []);
  });
});

Deno.test("discoverProxies() leaves out a proxy that refuses us its address", async () => {
  await withServer({
    ...PROXY,
    "proxy.pronto http://jabber.org/protocol/bytestreams": () =>
      new StanzaError("forbidden"),
  }, async (romeo) => {
    assert.deepEqual(await discoverProxies(romeo, { server: "pronto" }), []);
  });
});

const malformed: [string, (r: Element) => Element][] = [
  [
    "a streamhost without a port",
    (r) =>
      hosts(r, xml("streamhost", { jid: "proxy.pronto", host: "127.0.0.1" })),
  ],
  ["a port out of range", (r) =>
    hosts(
      r,
      xml("streamhost", { jid: "proxy.pronto", host: "h", port: 65536 }),
    )],
  ["a port that is no number", (r) =>
    hosts(
      r,
      xml("streamhost", { jid: "proxy.pronto", host: "h", port: "7e3" }),
    )],
  ["no jid", (r) => hosts(r, xml("streamhost", { host: "h", port: 1 }))],
  ["no streamhost at all", (r) => hosts(r)],
  ["no query", (r) => iqResult(r)],
];

for (const [what, answer] of malformed) {
  Deno.test(`discoverProxies() fails protocol on a bytestreams answer with ${what}`, async () => {
    await withServer({
      ...PROXY,
      "proxy.pronto http://jabber.org/protocol/bytestreams": answer,
    }, async (romeo) => {
      await assert.rejects(
        discoverProxies(romeo, { server: "pronto" }),
        isSocks5("protocol"),
      );
    });
  });
}

Deno.test("discoverProxies() fails protocol on a disco#items result without a query", async () => {
  await withServer({
    "pronto http://jabber.org/protocol/disco#items": (r) => iqResult(r),
  }, async (romeo) => {
    await assert.rejects(
      discoverProxies(romeo, { server: "pronto" }),
      isSocks5("protocol"),
    );
  });
});

Deno.test("discoverProxies() fails timeout when a proxy does not answer, and aborted on the signal", async () => {
  const silent = {
    ...PROXY,
    "proxy.pronto http://jabber.org/protocol/bytestreams": () =>
      "silent" as const,
  };
  await withServer(silent, async (romeo) => {
    await assert.rejects(
      discoverProxies(romeo, { server: "pronto", timeoutMs: 50 }),
      isSocks5("timeout"),
    );
    const controller = new AbortController();
    const discovering = discoverProxies(romeo, {
      server: "pronto",
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error("enough")), 20);
    await assert.rejects(discovering, isSocks5("aborted"));
  });
});

Deno.test("discoverProxies() without a server needs a bound identity", async () => {
  await withServer({}, async (romeo) => {
    await assert.rejects(discoverProxies(romeo), TypeError);
  });
});

Deno.test("activateProxy() sends the activation set to the proxy and resolves on its result", async () => {
  await withServer({
    "proxy.pronto http://jabber.org/protocol/bytestreams": (r) => iqResult(r),
  }, async (romeo, seen) => {
    await activateProxy(romeo, "proxy.pronto", "s1", "juliet@pronto/balcony");
    const [request] = seen;
    assert.equal(request!.attrs.type, "set");
    assert.equal(request!.attrs.to, "proxy.pronto");
    const query = request!.getChild("query", BYTESTREAMS_NS)!;
    assert.equal(query.attrs.sid, "s1");
    assert.equal(
      query.getChildText("activate", BYTESTREAMS_NS),
      "juliet@pronto/balcony",
    );
  });
});

Deno.test("activateProxy() fails activation-refused with the proxy's error as cause", async () => {
  await withServer({
    "proxy.pronto http://jabber.org/protocol/bytestreams": () =>
      new StanzaError("not-allowed", { text: "The sender is not connected" }),
  }, async (romeo) => {
    await assert.rejects(
      activateProxy(romeo, "proxy.pronto", "s1", "juliet@pronto/balcony"),
      (error) =>
        isSocks5("activation-refused")(error) &&
        (error as Error).cause instanceof StanzaError &&
        /not-allowed/.test((error as Error).message),
    );
    await assert.rejects(
      activateProxy(romeo, "proxy.pronto", "", "juliet@pronto/balcony"),
      TypeError,
    );
  });
});
