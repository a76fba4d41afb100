// A complete end-to-end stream (header exchange, stanzas, ordered close)
// inside an In-Band Bytestream, itself carried by two of our streams over
// memory; in both roles. Deno's sanitizers stay on: every iq deadline is
// cleared by its answer before a test ends.

import { causes } from "./_causes.ts";
import assert from "node:assert/strict";
import { E2EStream, initiate } from "../../src/e2e.ts";
import { Session } from "../../src/stream/session.ts";
import { IbbError, type IbbTransport } from "../../src/jingle/mod.ts";
import { exchangeAndClose, openIbb, outer } from "./_ibb_pair.ts";

const COUNT = 1000;

async function innerStreams(
  initiatorEnd: IbbTransport,
  recipientEnd: IbbTransport,
) {
  const recipient = new Session({
    role: "recipient",
    transport: recipientEnd,
    from: "juliet@pronto",
    tls: "off",
  });
  const [initiator] = await Promise.all([
    initiate({
      transport: initiatorEnd,
      from: "romeo@forza",
      to: "juliet@pronto",
      tls: "off",
    }),
    recipient.negotiate(),
  ]);
  return { initiator, recipient: new E2EStream(recipient) };
}

for (const opener of ["initiator", "recipient"] as const) {
  Deno.test(`an inner stream whose ${opener} opened the bytestream carries 1,000 stanzas each way in order and closes in order`, async () => {
    const streams = await outer();
    const { mine, hers } = await openIbb(streams);
    // Romeo opened the bytestream; he is the inner initiator or recipient.
    const { initiator, recipient } = opener === "initiator"
      ? await innerStreams(mine, hers)
      : await innerStreams(hers, mine);
    assert.equal(initiator.info.peer?.from, "juliet@pronto");
    assert.equal(recipient.info.peerAddress, "romeo@forza");

    const expected = Array.from({ length: COUNT }, (_, i) => `line ${i}`);
    await exchangeAndClose(initiator, recipient, expected);
    await Promise.all([mine.closed, hers.closed]);
    await streams.close();
  });
}

Deno.test("an inner stream whose outer stream vanishes ends unclean with the bytestream's typed error", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams);
  const { initiator, recipient } = await innerStreams(mine, hers);
  streams.julietWire.close();
  const [mineEnded, hersEnded] = await Promise.all([
    initiator.closed,
    recipient.closed,
  ]);
  for (const ended of [mineEnded, hersEnded]) {
    assert.equal(ended.clean, false);
    const cause = causes(ended.error).find((e) => e instanceof IbbError);
    assert.ok(
      cause instanceof IbbError && cause.reason === "stream-ended",
      String(ended.error),
    );
  }
  await Promise.all([mine.closed, hers.closed]);
  await Promise.all([streams.romeo.closed, streams.juliet.closed]);
});
