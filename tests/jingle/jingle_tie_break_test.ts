// Two parties that open a session to each other at once (XEP-0166
// tie-break): the session-initiate with the lower sid overrules the other,
// which is refused with conflict and <tie-break/>, and both open() calls
// settle with the one session that is left.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { iq, iqResult, message } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import type { Element } from "../../src/xml/element.ts";
import { JingleError, type JingleStream } from "../../src/jingle/mod.ts";
import { network } from "./_jingle_network.ts";
import { IBB, JINGLE, sessionInitiate } from "./_offers.ts";
import { loopbackSocks5 } from "./_loopback_socks5.ts";
import {
  JULIET,
  lovers,
  party,
  ROMEO,
  romeoCert,
  scriptedJuliet,
} from "./_jingle_pair.ts";

function initiateFrom(from: string, to: string, sid: string) {
  return iq(
    { type: "set", to },
    sessionInitiate(
      sid,
      xml("transport", { xmlns: IBB, sid: `ibb-${sid}`, "block-size": 4096 }),
      { initiator: from },
    ),
  );
}

Deno.test("when both open() at once, one session results and both calls settle with its two ends, with no offer to either handler", async () => {
  const { romeo, juliet, close } = await lovers();
  let offers = 0;
  const count = (offer: { decline(): Promise<void> }) => {
    offers++;
    return offer.decline();
  };
  romeo.jingle.accept(count);
  juliet.jingle.accept(count);
  const [mine, hers] = await Promise.all([
    romeo.jingle.open(JULIET),
    juliet.jingle.open(ROMEO),
  ]);
  assert.equal(offers, 0);
  assert.equal(mine.jingle.sid, hers.jingle.sid);
  assert.notEqual(mine.jingle.role, hers.jingle.role);
  assert.equal(mine.jingle.peer, JULIET);
  assert.equal(hers.jingle.peer, ROMEO);
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  await close();
});

Deno.test("a session-initiate with a higher sid than ours, before the peer acknowledged ours, is refused with conflict and <tie-break/>", async () => {
  const { net, romeo, juliet, offers } = await scriptedJuliet();
  const answer = Promise.withResolvers<unknown>();
  juliet.handle("set", JINGLE, "jingle", async (request) => {
    const payload = request.getChild("jingle", JINGLE)!;
    if (payload.attrs.action === "session-initiate") {
      // Hers crosses his: "~" sorts after any sid of ours.
      answer.resolve(
        await juliet.request(initiateFrom(JULIET, ROMEO, "~")).catch((e) => e),
      );
      setTimeout(() =>
        void juliet.request(
          iq(
            { type: "set", to: ROMEO },
            xml(
              "jingle",
              {
                xmlns: JINGLE,
                action: "session-terminate",
                sid: payload.attrs.sid!,
              },
              xml("reason", {}, xml("decline")),
            ),
          ),
        ).catch(() => {}), 0);
    }
    return iqResult(request);
  });
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error) => error instanceof JingleError && error.reason === "declined",
  );
  const seen = await answer.promise;
  assert.ok(seen instanceof StanzaError, String(seen));
  assert.equal(seen.condition, "conflict");
  assert.equal(seen.application?.name, "tie-break");
  assert.equal(seen.application?.ns, "urn:xmpp:jingle:errors:1");
  assert.equal(offers(), 0);
  await romeo.jingle.close();
  await net.close();
});

Deno.test("a session-initiate with a lower sid overrules ours: it is acknowledged, and our open() answers it as its responder", async () => {
  const { net, romeo, juliet, offers } = await scriptedJuliet();
  const accepted = Promise.withResolvers<Element>();
  const hersAcknowledged = Promise.withResolvers<unknown>();
  juliet.handle("set", JINGLE, "jingle", async (request) => {
    const payload = request.getChild("jingle", JINGLE)!;
    const action = payload.attrs.action;
    if (action === "session-initiate") {
      // Hers crosses his: "-" sorts before any sid of ours.
      hersAcknowledged.resolve(
        await juliet.request(initiateFrom(JULIET, ROMEO, "-")).catch((e) => e),
      );
      return new StanzaError("conflict", {
        application: xml("tie-break", { xmlns: "urn:xmpp:jingle:errors:1" }),
      });
    }
    if (action === "session-accept") {
      accepted.resolve(payload);
      setTimeout(() =>
        void juliet.request(
          iq(
            { type: "set", to: ROMEO },
            xml(
              "jingle",
              { xmlns: JINGLE, action: "session-terminate", sid: "-" },
              xml("reason", {}, xml("gone")),
            ),
          ),
        ).catch(() => {}), 0);
    }
    return iqResult(request);
  });
  const opening = romeo.jingle.open(JULIET);
  const acknowledged = await hersAcknowledged.promise;
  assert.ok(!(acknowledged instanceof Error), String(acknowledged));
  const accept = await accepted.promise;
  assert.equal(accept.attrs.sid, "-");
  assert.equal(accept.attrs.responder, ROMEO);
  // Juliet ends the session she won before any bytestream: open() says so.
  await assert.rejects(
    opening,
    (error: unknown) =>
      error instanceof JingleError && error.condition === "gone",
  );
  assert.equal(offers(), 0);
  await romeo.jingle.close();
  await net.close();
});

Deno.test("three rounds of both opening at once each end with one shared session", async () => {
  const { romeo, juliet, close } = await lovers();
  for (let i = 0; i < 3; i++) {
    const [mine, hers]: JingleStream[] = await Promise.all([
      romeo.jingle.open(JULIET),
      juliet.jingle.open(ROMEO),
    ]);
    assert.equal(mine!.jingle.sid, hers!.jingle.sid);
    assert.deepEqual(await mine!.close(), { clean: true });
    await hers!.closed;
  }
  await close();
});

Deno.test("when both open() at once over SOCKS5, the one session left carries the stream over SOCKS5", async () => {
  const socks5 = { backend: loopbackSocks5(), directAddresses: ["127.0.0.1"] };
  const { romeo, juliet, close } = await lovers({ socks5 }, { socks5 });
  const [mine, hers] = await Promise.all([
    romeo.jingle.open(JULIET),
    juliet.jingle.open(ROMEO),
  ]);
  assert.equal(mine.jingle.sid, hers.jingle.sid);
  assert.equal(mine.jingle.transport, "s5b");
  assert.equal(hers.jingle.transport, "s5b");
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  await close();
});

Deno.test("an open() that lost the tie-break and is aborted while it waits for the winner's session rejects with the signal's reason", async () => {
  const net = await network([ROMEO, JULIET]);
  const romeo = await party(net.clients.get(ROMEO)!, romeoCert);
  const juliet = net.clients.get(JULIET)!.stream;
  const refused = Promise.withResolvers<void>();
  juliet.handle("set", JINGLE, "jingle", () => {
    // Refused with <tie-break/>, and no session-initiate of hers follows.
    setTimeout(refused.resolve, 0);
    return new StanzaError("conflict", {
      application: xml("tie-break", { xmlns: "urn:xmpp:jingle:errors:1" }),
    });
  });
  const abort = new AbortController();
  const opening = romeo.jingle.open(JULIET, { signal: abort.signal });
  await refused.promise;
  abort.abort(new Error("Changed my mind"));
  await assert.rejects(opening, /Changed my mind/);
  await romeo.jingle.close();
  await net.close();
});
