// SOCKS5 candidates a hostile peer offers, tried with the package's own
// SOCKS5 module over loopback TCP: ports that accept and then answer
// nothing or trickle, closed ports, sixteen of them at once. The tries end
// within their deadlines, every socket is closed after, and the session
// falls back (transport-replace) or fails with a typed error.

import assert from "node:assert/strict";
import { xml } from "../../src/stanza/xml.ts";
import type { Element } from "../../src/xml/element.ts";
import { JingleError } from "../../src/jingle/mod.ts";
import { hostileNet, outcome } from "./_hostile_net.ts";
import { JINGLE, S5B, sessionInitiate, XMLSTREAM } from "./_offers.ts";

const IBB = "urn:xmpp:jingle:transports:ibb:1";
const MALLORY = "mallory@evil.example/lair";

/** A TCP listener that takes connections and never finishes a handshake. */
function tarpit(mode: "silent" | "trickle") {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const ended: Promise<boolean>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      conns.push(conn);
      ended.push((async () => {
        const buffer = new Uint8Array(64);
        let timer: ReturnType<typeof setInterval> | undefined;
        if (mode === "trickle") {
          // A method selection, then a CONNECT reply one byte at a time,
          // far slower than any deadline.
          const bytes = [5, 0, 5, 0, 0, 3, 40, ...Array(42).fill(0x61)];
          let i = 0;
          timer = setInterval(() => {
            if (i < bytes.length) {
              conn.write(new Uint8Array([bytes[i++]!])).catch(() => {});
            }
          }, 60);
        }
        try {
          while (await conn.read(buffer) !== null) { /* drop */ }
          return true; // the other end closed
        } catch {
          return true; // reset: closed as well
        } finally {
          clearInterval(timer);
        }
      })());
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    conns,
    /** Whether every connection was closed by the other end. */
    async closedByPeer(): Promise<boolean[]> {
      return await Promise.all(ended);
    },
    async close() {
      listener.close();
      await accepting.catch(() => {});
      for (const conn of conns) {
        try {
          conn.close();
        } catch { /* closed */ }
      }
    },
  };
}

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function s5bOffer(
  sid: string,
  candidates: { host: string; port: number }[],
): Element {
  return sessionInitiate(
    sid,
    xml(
      "transport",
      { xmlns: S5B, sid: "t-s5b" },
      ...candidates.map((c, i) =>
        xml("candidate", {
          cid: `c${i}`,
          host: c.host,
          port: c.port,
          jid: MALLORY,
          priority: 8_000_000 - i,
          type: "direct",
        })
      ),
    ),
    { initiator: MALLORY },
  );
}

function action(request: Element): string | undefined {
  return request.getChild("jingle", JINGLE)?.attrs.action;
}

Deno.test("sixteen SOCKS5 candidates that answer nothing, trickle or are closed are all given up within the deadline and closed, and the fallback that never opens fails with a typed timeout", async () => {
  const silent = tarpit("silent");
  const trickle = tarpit("trickle");
  const candidates = Array.from({ length: 16 }, (_, i) => ({
    host: "127.0.0.1",
    port: i % 3 === 0 ? silent.port : i % 3 === 1 ? trickle.port : closedPort(),
  }));
  const net = await hostileNet({
    timeoutMs: 1000,
    socks5: { proxies: false, connectTimeoutMs: 300 },
  });
  const sid = "hostile-s5b";
  const jingle = (name: string, ...children: Element[]) =>
    xml("jingle", { xmlns: JINGLE, action: name, sid }, ...children);
  net.onStranger = (request) => {
    const said = action(request);
    const reply = (payload: Element) =>
      setTimeout(() => void outcome(net.inject(MALLORY, payload)), 0);
    if (said === "session-accept") {
      // We have no candidates either.
      reply(jingle(
        "transport-info",
        xml(
          "content",
          { creator: "initiator", name: "xmlstream" },
          xml(
            "transport",
            { xmlns: S5B, sid: "t-s5b" },
            xml("candidate-error"),
          ),
        ),
      ));
    } else if (said === "transport-info") {
      reply(jingle(
        "transport-replace",
        xml(
          "content",
          { creator: "initiator", name: "xmlstream" },
          xml("transport", { xmlns: IBB, sid: "t-ibb", "block-size": 4096 }),
        ),
      ));
    }
  };
  const settled = Promise.withResolvers<unknown>();
  net.romeo.jingle.accept(async (offer) => {
    assert.equal(offer.transport, "s5b");
    await offer.accept().then(settled.resolve, settled.resolve);
  });
  assert.equal(
    await outcome(net.inject(MALLORY, s5bOffer(sid, candidates))),
    "result",
  );
  const error = await settled.promise;
  assert.ok(
    error instanceof JingleError && error.reason === "timeout",
    String(error),
  );
  const said = net.toStrangers.map(action);
  assert.deepEqual(said, [
    "session-accept",
    "transport-info",
    "transport-accept",
    "session-terminate",
  ]);
  assert.ok(silent.conns.length > 0 && trickle.conns.length > 0);
  const closed = [
    ...await silent.closedByPeer(),
    ...await trickle.closedByPeer(),
  ];
  assert.ok(closed.every(Boolean));
  await silent.close();
  await trickle.close();
  await net.close();
});

Deno.test("seventeen SOCKS5 candidates are refused bad-request, and sixteen are taken", async () => {
  const net = await hostileNet({
    timeoutMs: 500,
    socks5: { proxies: false, connectTimeoutMs: 200 },
  });
  net.romeo.jingle.accept((offer) => offer.decline());
  const many = (n: number) =>
    Array.from(
      { length: n },
      () => ({ host: "127.0.0.1", port: closedPort() }),
    );
  assert.equal(
    await outcome(net.inject(MALLORY, s5bOffer("a", many(17)))),
    "bad-request",
  );
  assert.equal(
    await outcome(net.inject(MALLORY, s5bOffer("b", many(16)))),
    "result",
  );
  await net.close();
});

Deno.test("a peer that accepts our SOCKS5 offer with candidates that never answer, claims ours and never completes a handshake on it, is given up on, and open() fails with a typed timeout after the fallback goes unanswered", async () => {
  const silent = tarpit("silent");
  const net = await hostileNet({
    timeoutMs: 800,
    socks5: {
      directAddresses: ["127.0.0.1"],
      proxies: false,
      connectTimeoutMs: 300,
    },
  });
  const lurking: Promise<boolean>[] = [];
  const conns: Deno.Conn[] = [];
  net.onStranger = (request) => {
    const payload = request.getChild("jingle", JINGLE)!;
    if (payload.attrs.action !== "session-initiate") return;
    const sid = payload.attrs.sid!;
    const ours = payload.getChild("content", JINGLE)!.getChild(
      "transport",
      S5B,
    )!;
    const candidate = ours.getChild("candidate", S5B)!;
    setTimeout(async () => {
      // Connects to our streamhost, and says nothing there.
      const conn = await Deno.connect({
        hostname: candidate.attrs.host!,
        port: Number(candidate.attrs.port),
      });
      conns.push(conn);
      lurking.push((async () => {
        try {
          while (await conn.read(new Uint8Array(64)) !== null) { /* drop */ }
        } catch { /* reset */ }
        return true;
      })());
      const content = (transport: Element) =>
        xml("content", { creator: "initiator", name: "xmlstream" }, transport);
      await outcome(net.inject(
        MALLORY,
        xml(
          "jingle",
          { xmlns: JINGLE, action: "session-accept", sid, responder: MALLORY },
          xml(
            "content",
            { creator: "initiator", name: "xmlstream" },
            xml("description", { xmlns: XMLSTREAM }),
            xml(
              "transport",
              { xmlns: S5B, sid: ours.attrs.sid! },
              ...Array.from({ length: 16 }, (_, i) =>
                xml("candidate", {
                  cid: `m${i}`,
                  host: "127.0.0.1",
                  port: silent.port,
                  jid: MALLORY,
                  priority: 9_000_000 - i,
                  type: "direct",
                })),
            ),
          ),
        ),
      ));
      await outcome(net.inject(
        MALLORY,
        xml(
          "jingle",
          { xmlns: JINGLE, action: "transport-info", sid },
          content(
            xml(
              "transport",
              { xmlns: S5B, sid: ours.attrs.sid! },
              xml("candidate-used", { cid: candidate.attrs.cid! }),
            ),
          ),
        ),
      ));
    }, 0);
  };
  await assert.rejects(
    net.romeo.jingle.open(MALLORY),
    (error) => error instanceof JingleError && error.reason === "timeout",
  );
  assert.deepEqual(net.toStrangers.map(action), [
    "session-initiate",
    "transport-info",
    "transport-replace",
    "session-terminate",
  ]);
  assert.equal(silent.conns.length, 16);
  assert.ok((await silent.closedByPeer()).every(Boolean));
  assert.equal(lurking.length, 1);
  assert.ok(await lurking[0], "our streamhost closed the silent connection");
  for (const conn of conns) {
    try {
      conn.close();
    } catch { /* closed */ }
  }
  await silent.close();
  await net.close();
});
