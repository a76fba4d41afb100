// Jingle XML Streams over IBB between two clients of the test network:
// stanzas both ways, the ordered close, declining, and a peer that
// vanishes.

import { causes } from "./_causes.ts";
import assert from "node:assert/strict";
import type { E2EStream } from "../../src/e2e.ts";
import { message } from "../../src/stanza/stanza.ts";
import {
  IbbError,
  JingleError,
  type JingleStream,
  JingleStreams,
} from "../../src/jingle/mod.ts";
import {
  JULIET,
  julietCert,
  lovers,
  openPair,
  outgoingOf,
  ROMEO,
  romeoCert,
} from "./_jingle_pair.ts";
import { exchange } from "./_ibb_pair.ts";

const COUNT = 200;

/** {@linkcode exchange} of `COUNT` messages each way. */
function exchangeMany(a: E2EStream, b: E2EStream): Promise<void> {
  return exchange(a, b, Array.from({ length: COUNT }, (_, i) => `Hark ${i}`));
}

Deno.test("open() over IBB gives an encrypted stream both ways, and close() ends the inner stream before the Jingle session", async () => {
  const { romeo, juliet, close } = await lovers();
  const { outgoing, sub } = outgoingOf(romeo);
  const accepted = Promise.withResolvers<JingleStream>();
  juliet.jingle.accept(async (offer) => {
    assert.equal(offer.from, ROMEO);
    assert.equal(offer.transport, "ibb");
    accepted.resolve(await offer.accept());
  });
  const mine = await romeo.jingle.open(JULIET);
  const hers = await accepted.promise;
  assert.equal(mine.jingle.transport, "ibb");
  assert.equal(mine.jingle.fellBack, false);
  assert.equal(mine.jingle.peer, JULIET);
  assert.equal(mine.jingle.role, "initiator");
  assert.equal(hers.jingle.role, "responder");
  assert.equal(hers.jingle.sid, mine.jingle.sid);
  assert.equal(mine.info.encrypted, true);
  assert.equal(mine.info.trustedBy, "known-peers");
  assert.equal(mine.info.authenticated, true);
  // The headers carry the bare JIDs; the pins are keyed on them.
  assert.equal(mine.info.peerAddress, "juliet@pronto");
  assert.equal(hers.info.peerAddress, "romeo@forza");
  assert.deepEqual(romeo.approved, ["juliet@pronto"]);
  assert.deepEqual(juliet.approved, ["romeo@forza"]);

  await exchangeMany(mine, hers);
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.closed, { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  sub.unsubscribe();
  const ibbClose = outgoing.findIndex((t) =>
    t.includes("<close xmlns='http://jabber.org/protocol/ibb'") ||
    t.includes('<close xmlns="http://jabber.org/protocol/ibb"')
  );
  const terminate = outgoing.findIndex((t) => t.includes("session-terminate"));
  assert.ok(ibbClose >= 0, "the bytestream was closed");
  assert.ok(terminate > ibbClose, "session-terminate came after the close");
  assert.ok(outgoing[terminate]!.includes("<success/>"));
  await close();
});

Deno.test("a stream opened by either end carries stanzas, and the responder may close it", async () => {
  const { romeo, juliet, close } = await lovers();
  const accepted = Promise.withResolvers<JingleStream>();
  romeo.jingle.accept(async (offer) => {
    accepted.resolve(await offer.accept());
  });
  const hers = await juliet.jingle.open(ROMEO);
  const mine = await accepted.promise;
  await exchangeMany(hers, mine);
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  await close();
});

Deno.test("open() rejects with a declined JingleError when the peer's handler declines", async () => {
  const { romeo, juliet, close } = await lovers();
  juliet.jingle.accept((offer) => offer.decline());
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error) =>
      error instanceof JingleError && error.reason === "declined" &&
      error.condition === "decline",
  );
  // A handler that decides nothing declines too.
  juliet.jingle.accept(() => {});
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error) => error instanceof JingleError && error.reason === "declined",
  );
  await close();
});

Deno.test("JingleStreams refuses at once a certificate whose key is not its own", async () => {
  const { romeo, close } = await lovers();
  assert.throws(
    () =>
      new JingleStreams(romeo.client.stream, {
        jid: ROMEO,
        certificate: { cert: romeoCert.certPem, key: julietCert.keyPem },
        knownPeers: romeo.knownPeers,
      }),
    (error) => error instanceof TypeError && /do not match/.test(error.message),
  );
  await close();
});

Deno.test("open() is rejected when the peer takes no offers, or is not online", async () => {
  const { romeo, close } = await lovers();
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error) =>
      error instanceof JingleError && error.reason === "rejected" &&
      String(error.message).includes("service-unavailable"),
  );
  await assert.rejects(
    romeo.jingle.open("juliet@pronto/tomb"),
    (error) => error instanceof JingleError && error.reason === "rejected",
  );
  await assert.rejects(romeo.jingle.open("juliet@pronto"), TypeError);
  await close();
});

Deno.test("an undecided offer is ended with timeout after the deadline", async () => {
  const { romeo, juliet, close } = await lovers({}, { timeoutMs: 200 });
  const never = Promise.withResolvers<void>();
  juliet.jingle.accept(() => never.promise);
  await assert.rejects(
    romeo.jingle.open(JULIET),
    (error) =>
      error instanceof JingleError && error.reason === "terminated" &&
      error.condition === "timeout",
  );
  never.resolve();
  await close();
});

Deno.test("a peer that vanishes mid-session ends the stream unclean, with the bytestream's error among the causes", async () => {
  const { romeo, juliet, close } = await lovers();
  const { mine, hers } = await openPair(romeo, juliet);
  juliet.client.wire.close();
  const herEnd = await hers.closed;
  assert.equal(herEnd.clean, false);
  assert.ok(
    causes(herEnd.error).some((e) =>
      e instanceof JingleError && e.reason === "stream-ended"
    ),
    String(herEnd.error),
  );
  // Romeo notices when he next writes: the server has nowhere to send it.
  await mine.send(message({ body: "Juliet?" })).catch(() => {});
  const myEnd = await mine.closed;
  assert.equal(myEnd.clean, false);
  assert.ok(
    causes(myEnd.error).some((e) => e instanceof IbbError),
    String(myEnd.error),
  );
  await close();
});

Deno.test("open() with a signal that aborts ends the session with cancel and rejects with the signal's reason", async () => {
  const { romeo, juliet, close } = await lovers();
  const offered = Promise.withResolvers<unknown>();
  const decided = Promise.withResolvers<void>();
  const refused = Promise.withResolvers<unknown>();
  juliet.jingle.accept(async (offer) => {
    offered.resolve(undefined);
    await decided.promise;
    await offer.accept().catch(refused.resolve);
  });
  const abort = new AbortController();
  const opening = romeo.jingle.open(JULIET, { signal: abort.signal });
  await offered.promise;
  abort.abort(new Error("Changed my mind"));
  await assert.rejects(opening, /Changed my mind/);
  decided.resolve();
  const seen = await refused.promise;
  assert.ok(
    seen instanceof JingleError && seen.condition === "cancel",
    String(seen),
  );
  await assert.rejects(
    romeo.jingle.open(JULIET, { signal: abort.signal }),
    /Changed my mind/,
  );
  await close();
});
