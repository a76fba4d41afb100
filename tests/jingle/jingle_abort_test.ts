// A side that gives up on a live session tells the peer inside the stream:
// a stream error, so the peer's stream ends unclean with a typed cause,
// never like an ordered close.

import { causes } from "./_causes.ts";
import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { message } from "../../src/stanza/stanza.ts";
import { StreamError } from "../../src/stream/errors.ts";
import { JingleError, type JingleStream } from "../../src/jingle/mod.ts";
import { lovers, openPair, type Party } from "./_jingle_pair.ts";
import { loopbackSocks5 } from "./_loopback_socks5.ts";

async function s5bSession(
  romeo: Party,
  juliet: Party,
): Promise<{ mine: JingleStream; hers: JingleStream }> {
  const { mine, hers } = await openPair(romeo, juliet);
  assert.equal(mine.jingle.transport, "s5b");
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
  return { mine, hers };
}

function socks5Lovers() {
  const socks5 = { backend: loopbackSocks5(), directAddresses: ["127.0.0.1"] };
  return lovers({ socks5 }, { socks5 });
}

Deno.test("over SOCKS5, when one side's client stream is cut, the peer's stream ends unclean with the stream error it was sent", async () => {
  const { romeo, juliet, close } = await socks5Lovers();
  const { mine, hers } = await s5bSession(romeo, juliet);
  romeo.client.wire.close();
  const herEnd = await hers.closed;
  assert.equal(herEnd.clean, false);
  const error = herEnd.error;
  assert.ok(error instanceof StreamError, String(error));
  assert.equal(error.sent, false);
  assert.equal(error.condition, "undefined-condition");
  assert.match(error.text ?? "", /client stream ended/);
  const myEnd = await mine.closed;
  assert.equal(myEnd.clean, false);
  assert.ok(
    causes(myEnd.error).some((e) =>
      e instanceof JingleError && e.reason === "stream-ended"
    ),
    String(myEnd.error),
  );
  await close();
});

Deno.test("over SOCKS5, a side whose engine closes ends the peer's stream unclean, whichever of its stream error and session-terminate comes first", async () => {
  const { romeo, juliet, close } = await socks5Lovers();
  const { mine, hers } = await s5bSession(romeo, juliet);
  await juliet.jingle.close(); // terminates every session with gone
  const myEnd = await mine.closed;
  assert.equal(myEnd.clean, false);
  assert.ok(
    causes(myEnd.error).some((e) =>
      (e instanceof StreamError && !e.sent) ||
      (e instanceof JingleError && e.condition === "gone")
    ),
    String(myEnd.error),
  );
  const herEnd = await hers.closed;
  assert.equal(herEnd.clean, false);
  assert.ok(herEnd.error instanceof StreamError && herEnd.error.sent);
  await close();
});

Deno.test("the ordered close over SOCKS5 stays clean on both sides", async () => {
  const { romeo, juliet, close } = await socks5Lovers();
  const { mine, hers } = await s5bSession(romeo, juliet);
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.closed, { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  await close();
});
