// The Jingle engine against a scripted peer (a client stream with no
// engine, answering and sending Jingle iqs by hand): an accept of another
// transport, malformed or misattributed session-initiates, an accept never
// followed by the bytestream, an inner header from someone else, a SOCKS5
// report of a candidate never offered and a refused fallback.

import assert from "node:assert/strict";
import { iq, iqResult } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { StreamError } from "../../src/stream/errors.ts";
import type { Element } from "../../src/xml/element.ts";
import { type E2EStream, initiate } from "../../src/e2e.ts";
import { InBandBytestreams, JingleError } from "../../src/jingle/mod.ts";
import { network } from "./_jingle_network.ts";
import { IBB, JINGLE, S5B, sessionInitiate, XMLSTREAM } from "./_offers.ts";
import { loopbackSocks5 } from "./_loopback_socks5.ts";
import {
  JULIET,
  julietCert,
  MERCUTIO,
  party,
  refused,
  ROMEO,
  romeoCert,
  scriptedJuliet,
} from "./_jingle_pair.ts";

Deno.test("a peer that accepts with another transport than offered is told incompatible-parameters, and open() rejects with bad-peer", async () => {
  const net = await network([ROMEO, JULIET]);
  const romeo = await party(net.clients.get(ROMEO)!, romeoCert);
  const juliet = net.clients.get(JULIET)!.stream;
  const terminated = Promise.withResolvers<Element>();
  juliet.handle("set", JINGLE, "jingle", (request) => {
    const payload = request.getChild("jingle", JINGLE)!;
    const sid = payload.attrs.sid!;
    if (payload.attrs.action === "session-initiate") {
      setTimeout(() =>
        void juliet.request(
          iq(
            { type: "set", to: ROMEO },
            xml(
              "jingle",
              { xmlns: JINGLE, action: "session-accept", sid },
              xml(
                "content",
                { creator: "initiator", name: "xmlstream" },
                xml("description", { xmlns: XMLSTREAM }),
                xml("transport", {
                  xmlns: IBB,
                  sid: "not-the-one-offered",
                  "block-size": 4096,
                }),
              ),
            ),
          ),
        ).catch(() => {}), 0);
    } else if (payload.attrs.action === "session-terminate") {
      terminated.resolve(payload);
    }
    return iqResult(request);
  });
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error) => error instanceof JingleError && error.reason === "bad-peer",
  );
  const reason = (await terminated.promise).getChild("reason", JINGLE);
  assert.equal(reason?.elements()[0]?.name, "incompatible-parameters");
  await romeo.jingle.close();
  await net.close();
});

Deno.test("a session-initiate that is malformed, or names another initiator, is refused with bad-request", async () => {
  const { net, romeo, juliet, offers } = await scriptedJuliet();
  const initiate = (attrs: Record<string, string>, transport: Element) =>
    iq({ type: "set", to: ROMEO }, sessionInitiate("s1", transport, attrs));
  const ibb = (attrs: Record<string, string>) =>
    xml("transport", { xmlns: IBB, ...attrs });
  await refused(juliet, initiate({}, ibb({ sid: "t1" })), "bad-request");
  await refused(
    juliet,
    initiate({}, ibb({ sid: "t1", "block-size": "99999" })),
    "bad-request",
  );
  await refused(
    juliet,
    initiate({ initiator: MERCUTIO }, ibb({ sid: "t1", "block-size": "4096" })),
    "bad-request",
  );
  await refused(
    juliet,
    initiate(
      {},
      xml(
        "transport",
        { xmlns: "urn:xmpp:jingle:transports:s5b:1", sid: "t1" },
        xml("candidate", { cid: "c1", host: "127.0.0.1", port: "0" }),
      ),
    ),
    "bad-request",
  );
  assert.equal(offers(), 0);
  await romeo.jingle.close();
  await net.close();
});

/** Romeo's client, scripted: it sends a session-initiate with IBB. */
async function scriptedOffer(): Promise<{
  net: Awaited<ReturnType<typeof network>>;
  juliet: Awaited<ReturnType<typeof party>>;
  romeo: E2EStream;
  actions: { action: string; payload: Element }[];
  offered: Promise<unknown>;
  accepted: Promise<void>;
}> {
  const net = await network([ROMEO, JULIET]);
  const juliet = await party(net.clients.get(JULIET)!, julietCert, {
    timeoutMs: 300,
  });
  const romeo = net.clients.get(ROMEO)!.stream;
  const actions: { action: string; payload: Element }[] = [];
  const accepted = Promise.withResolvers<void>();
  romeo.handle("set", JINGLE, "jingle", (request) => {
    const payload = request.getChild("jingle", JINGLE)!;
    actions.push({ action: payload.attrs.action!, payload });
    if (payload.attrs.action === "session-accept") accepted.resolve();
    return iqResult(request);
  });
  const offered = Promise.withResolvers<unknown>();
  juliet.jingle.accept(async (offer) => {
    await offer.accept().then(offered.resolve, offered.resolve);
  });
  await romeo.request(
    iq(
      { type: "set", to: JULIET },
      sessionInitiate(
        "s1",
        xml("transport", { xmlns: IBB, sid: "t1", "block-size": 4096 }),
        { initiator: ROMEO },
      ),
    ),
  );
  return {
    net,
    juliet,
    romeo,
    actions,
    offered: offered.promise,
    accepted: accepted.promise,
  };
}

Deno.test("a responder whose peer accepts and never opens the bytestream ends the session with timeout", async () => {
  const { net, juliet, actions, offered, accepted } = await scriptedOffer();
  await accepted;
  const error = await offered;
  assert.ok(
    error instanceof JingleError && error.reason === "timeout",
    String(error),
  );
  const terminate = actions.find((a) => a.action === "session-terminate");
  assert.equal(
    terminate?.payload.getChild("reason", JINGLE)?.elements()[0]?.name,
    "timeout",
  );
  await juliet.jingle.close();
  await net.close();
});

Deno.test("an inner stream header from another address than the session's peer is refused with invalid-from", async () => {
  const { net, juliet, romeo, offered, accepted } = await scriptedOffer();
  await accepted;
  const ibb = new InBandBytestreams(romeo);
  const transport = await ibb.open("t1", { to: JULIET });
  await assert.rejects(
    initiate({
      transport,
      from: "mercutio@forza",
      to: "juliet@pronto",
      tls: "off",
    }),
    (error) =>
      error instanceof StreamError && error.condition === "invalid-from",
  );
  const error = await offered;
  assert.ok(error instanceof Error, String(error));
  await transport.closed;
  ibb.close();
  await juliet.jingle.close();
  await net.close();
});

Deno.test("a SOCKS5 report naming a candidate never offered is item-not-found, and a transport-reject of the fallback ends the session", async () => {
  const net = await network([ROMEO, JULIET]);
  const romeo = await party(net.clients.get(ROMEO)!, romeoCert, {
    socks5: {
      backend: loopbackSocks5({ refuse: true }),
      directAddresses: ["127.0.0.1"],
    },
  });
  const juliet = net.clients.get(JULIET)!.stream;
  const seen: string[] = [];
  const answers: Promise<unknown>[] = [];
  const send = (action: string, ...children: Element[]) =>
    juliet.request(
      iq(
        { type: "set", to: ROMEO },
        xml("jingle", { xmlns: JINGLE, action, sid: sessionSid }, ...children),
      ),
    );
  let sessionSid = "";
  let transportSid = "";
  const s5b = (...children: Element[]) =>
    xml(
      "content",
      { creator: "initiator", name: "xmlstream" },
      xml("transport", { xmlns: S5B, sid: transportSid }, ...children),
    );
  juliet.handle("set", JINGLE, "jingle", (request) => {
    const payload = request.getChild("jingle", JINGLE)!;
    const action = payload.attrs.action!;
    seen.push(action);
    if (action === "session-initiate") {
      sessionSid = payload.attrs.sid!;
      transportSid = payload.getChild("content", JINGLE)!.getChild(
        "transport",
        S5B,
      )!.attrs.sid!;
      setTimeout(() => {
        answers.push((async () => {
          await send(
            "session-accept",
            xml(
              "content",
              { creator: "initiator", name: "xmlstream" },
              xml("description", { xmlns: XMLSTREAM }),
              xml("transport", { xmlns: S5B, sid: transportSid }),
            ),
          );
          await assert.rejects(
            send(
              "transport-info",
              s5b(xml("candidate-used", { cid: "bogus" })),
            ),
            (error) =>
              error instanceof StanzaError &&
              error.condition === "item-not-found",
          );
          await send("transport-info", s5b(xml("candidate-error")));
        })());
      }, 0);
    } else if (action === "transport-replace") {
      setTimeout(() => {
        answers.push(
          send(
            "transport-reject",
            payload.getChild("content", JINGLE)!,
          ).catch(() => {}),
        );
      }, 0);
    }
    return iqResult(request);
  });
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error) =>
      error instanceof JingleError && error.reason === "failed-transport",
  );
  await Promise.all(answers);
  assert.deepEqual(seen, [
    "session-initiate",
    "transport-info",
    "transport-replace",
    "session-terminate",
  ]);
  await romeo.jingle.close();
  await net.close();
});

Deno.test("a session-initiate with a transport this end does not know is acknowledged, then ended with unsupported-transports", async () => {
  const net = await network([ROMEO, JULIET]);
  const romeo = await party(net.clients.get(ROMEO)!, romeoCert);
  let offers = 0;
  romeo.jingle.accept(() => {
    offers++;
  });
  const juliet = net.clients.get(JULIET)!.stream;
  const terminated = Promise.withResolvers<Element>();
  juliet.handle("set", JINGLE, "jingle", (request) => {
    terminated.resolve(request.getChild("jingle", JINGLE)!);
    return iqResult(request);
  });
  await juliet.request(
    iq(
      { type: "set", to: ROMEO },
      sessionInitiate(
        "s1",
        xml("transport", { xmlns: "urn:example:carrier-pigeon" }),
      ),
    ),
  );
  const jingle = await terminated.promise;
  assert.equal(jingle.attrs.action, "session-terminate");
  assert.equal(
    jingle.getChild("reason", JINGLE)?.elements()[0]?.name,
    "unsupported-transports",
  );
  assert.equal(offers, 0);
  await romeo.jingle.close();
  await net.close();
});
