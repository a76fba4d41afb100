// The SOCKS5 transport of Jingle XML Streams with a loopback test backend:
// a direct candidate used, and the fallback to IBB (transport-replace)
// when no candidate can be reached or the responder has no SOCKS5.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { message } from "../../src/stanza/stanza.ts";
import type { JingleStream } from "../../src/jingle/mod.ts";
import { JULIET, lovers, openPair, outgoingOf, ROMEO } from "./_jingle_pair.ts";
import { LoopbackProxy, loopbackSocks5 } from "./_loopback_socks5.ts";

async function talk(a: JingleStream, b: JingleStream): Promise<void> {
  const heard = firstValueFrom(b.stanzas$);
  await a.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
  const back = firstValueFrom(a.stanzas$);
  await b.send(message({ body: "Here" }));
  assert.equal((await back).getChildText("body"), "Here");
}

Deno.test("open() over SOCKS5 uses a direct candidate, and the outer streams carry no stream data", async () => {
  const backend = loopbackSocks5();
  const socks5 = { backend, directAddresses: ["127.0.0.1"] };
  const { romeo, juliet, close } = await lovers({ socks5 }, { socks5 });
  const { outgoing, sub } = outgoingOf(romeo);
  const accepted = Promise.withResolvers<JingleStream>();
  juliet.jingle.accept(async (offer) => {
    assert.equal(offer.transport, "s5b");
    accepted.resolve(await offer.accept());
  });
  const mine = await romeo.jingle.open(JULIET);
  const hers = await accepted.promise;
  assert.equal(mine.jingle.transport, "s5b");
  assert.equal(mine.jingle.fellBack, false);
  assert.equal(mine.jingle.candidate?.type, "direct");
  // Both used the other's candidate at the same priority: the initiator's
  // pick (the responder's candidate) is nominated.
  assert.equal(mine.jingle.candidate?.offeredBy, "peer");
  assert.equal(hers.jingle.candidate?.offeredBy, "us");
  assert.equal(mine.info.encrypted, true);
  await talk(mine, hers);
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  sub.unsubscribe();
  const text = outgoing.join("");
  assert.ok(text.includes("candidate-used"));
  assert.ok(!text.includes("http://jabber.org/protocol/ibb"), "no IBB");
  assert.ok(text.includes("session-terminate"));
  await close();
});

Deno.test("with socks5: {} the engine uses the package's SOCKS5 module: a real SOCKS5 handshake to a direct candidate carries the stream", async () => {
  const socks5 = { directAddresses: ["127.0.0.1"], proxies: false };
  const { romeo, juliet, close } = await lovers({ socks5 }, { socks5 });
  const { mine, hers } = await openPair(romeo, juliet);
  assert.equal(mine.jingle.transport, "s5b");
  assert.equal(mine.jingle.candidate?.type, "direct");
  assert.equal(hers.jingle.fellBack, false);
  await talk(mine, hers);
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  await close();
});

Deno.test("when no SOCKS5 candidate can be reached, both send candidate-error and the session falls back to IBB", async () => {
  const backend = loopbackSocks5({ refuse: true });
  const socks5 = { backend, directAddresses: ["127.0.0.1"] };
  const { romeo, juliet, close } = await lovers({ socks5 }, { socks5 });
  const { outgoing, sub } = outgoingOf(romeo);
  const { mine, hers } = await openPair(romeo, juliet);
  assert.equal(mine.jingle.transport, "ibb");
  assert.equal(mine.jingle.fellBack, true);
  assert.equal(hers.jingle.fellBack, true);
  assert.equal(mine.jingle.candidate, undefined);
  assert.ok(backend.attempts >= 2, "both ends tried the other's candidate");
  await talk(mine, hers);
  assert.deepEqual(await mine.close(), { clean: true });
  await hers.closed;
  sub.unsubscribe();
  const text = outgoing.join("");
  assert.ok(text.indexOf("candidate-error") >= 0);
  assert.ok(
    text.indexOf("transport-replace") > text.indexOf("candidate-error"),
  );
  await close();
});

Deno.test("a responder without SOCKS5 accepts without candidates, and the initiator falls back to IBB", async () => {
  const backend = loopbackSocks5();
  const { romeo, juliet, close } = await lovers({
    socks5: { backend, directAddresses: ["127.0.0.1"] },
  });
  const accepted = Promise.withResolvers<JingleStream>();
  juliet.jingle.accept(async (offer) => {
    assert.equal(offer.transport, "s5b");
    accepted.resolve(await offer.accept());
  });
  const mine = await romeo.jingle.open(JULIET);
  const hers = await accepted.promise;
  assert.equal(mine.jingle.transport, "ibb");
  assert.equal(mine.jingle.fellBack, true);
  // Juliet tried nothing, and did not connect to Romeo's candidate.
  assert.equal(backend.attempts, 0);
  assert.equal(backend.listeners[0]?.accepted, 0);
  await talk(mine, hers);
  await mine.close();
  await hers.closed;
  await close();
});

Deno.test("an initiator that offers SOCKS5 only ends the session with connectivity-error when no candidate works", async () => {
  const backend = loopbackSocks5({ refuse: true });
  const socks5 = { backend, directAddresses: ["127.0.0.1"] };
  const { romeo, juliet, close } = await lovers({
    socks5,
    transports: ["s5b"],
  }, { socks5 });
  const ended = Promise.withResolvers<unknown>();
  juliet.jingle.accept(async (offer) => {
    await offer.accept().catch(ended.resolve);
  });
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error: Error & { reason?: string }) => error.reason === "failed-transport",
  );
  const seen = await ended.promise as Error & { condition?: string };
  assert.equal(seen.condition, "connectivity-error");
  assert.equal(backend.listeners.every((l) => l.accepted === 0), true);
  await close();
});

Deno.test("over the server's SOCKS5 proxy, the offerer of the nominated candidate activates it and says so", async () => {
  const relay = new LoopbackProxy();
  const { romeo, juliet, close } = await lovers(
    { socks5: { backend: loopbackSocks5({ proxy: { relay, jid: ROMEO } }) } },
    {
      socks5: { backend: loopbackSocks5({ proxy: { relay, jid: JULIET } }) },
    },
  );
  const { outgoing, sub } = outgoingOf(juliet);
  const { mine, hers } = await openPair(romeo, juliet);
  assert.equal(mine.jingle.transport, "s5b");
  assert.deepEqual(mine.jingle.candidate, { type: "proxy", offeredBy: "peer" });
  assert.deepEqual(hers.jingle.candidate, { type: "proxy", offeredBy: "us" });
  assert.equal(relay.activated.length, 1);
  await talk(mine, hers);
  assert.deepEqual(await mine.close(), { clean: true });
  await hers.closed;
  sub.unsubscribe();
  assert.ok(outgoing.join("").includes("<activated "));
  await close();
  await relay.close();
});

Deno.test("a proxy that refuses activation makes its offerer send proxy-error, and the session falls back to IBB", async () => {
  const relay = new LoopbackProxy();
  const { romeo, juliet, close } = await lovers(
    { socks5: { backend: loopbackSocks5({ proxy: { relay, jid: ROMEO } }) } },
    {
      socks5: {
        backend: loopbackSocks5({
          proxy: { relay, jid: JULIET, refuseActivation: true },
        }),
      },
    },
  );
  const { outgoing, sub } = outgoingOf(juliet);
  const { mine, hers } = await openPair(romeo, juliet);
  assert.equal(mine.jingle.transport, "ibb");
  assert.equal(mine.jingle.fellBack, true);
  assert.equal(relay.activated.length, 0);
  await talk(mine, hers);
  await mine.close();
  await hers.closed;
  sub.unsubscribe();
  assert.ok(outgoing.join("").includes("<proxy-error/>"));
  await close();
  await relay.close();
});
