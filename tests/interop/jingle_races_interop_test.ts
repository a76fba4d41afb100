/**
 * Jingle XML Streams through a real server when both sides act at once or
 * one side goes away with its bytestream still up: two clients opening to
 * each other at the same moment get one session (XEP-0166 tie-break), and
 * a client whose stream to Prosody is cut tells its peer, over the SOCKS5
 * bytestream, with a stream error.
 *
 * Run with `deno task test:interop` (installs and starts Prosody itself).
 */

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { message } from "../../src/stanza/stanza.ts";
import { StreamError } from "../../src/stream/errors.ts";
import type { JingleStream } from "../../src/jingle/mod.ts";
import { openPair, withLovers } from "./_jingle_prosody.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("jingle_races_interop_test");

async function talk(mine: JingleStream, hers: JingleStream): Promise<void> {
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
}

Deno.test({
  name:
    "When both clients open to each other at once through Prosody, both open() calls settle with the two ends of one session",
  ignore: SKIP,
  async fn() {
    await withLovers({}, async (lovers) => {
      let offers = 0;
      for (const party of [lovers.romeo, lovers.juliet]) {
        party.jingle.accept((offer) => {
          offers++;
          return offer.decline();
        });
      }
      const [mine, hers] = await Promise.all([
        lovers.romeo.jingle.open(lovers.juliet.jid),
        lovers.juliet.jingle.open(lovers.romeo.jid),
      ]);
      assert.equal(offers, 0);
      assert.equal(mine.jingle.sid, hers.jingle.sid);
      assert.notEqual(mine.jingle.role, hers.jingle.role);
      await talk(mine, hers);
      assert.deepEqual(await mine.close(), { clean: true });
      assert.deepEqual(await hers.close(), { clean: true });
    });
  },
});

Deno.test({
  name:
    "When a client's stream to Prosody is cut mid-session over SOCKS5 direct, its peer's stream ends unclean with the stream error sent over the bytestream",
  ignore: SKIP,
  async fn() {
    const direct = {
      socks5: { directAddresses: ["127.0.0.1"], proxies: false },
    };
    await withLovers({
      tapJuliet: true,
      romeo: direct,
      juliet: direct,
    }, async (lovers) => {
      const [mine, hers] = await openPair(lovers);
      assert.equal(mine.jingle.transport, "s5b");
      await talk(mine, hers);
      lovers.juliet.tap!.sever(); // her client stream only
      const myEnd = await mine.closed;
      assert.equal(myEnd.clean, false);
      assert.ok(myEnd.error instanceof StreamError, String(myEnd.error));
      assert.equal(myEnd.error.sent, false);
      assert.equal(myEnd.error.condition, "undefined-condition");
      assert.equal((await hers.closed).clean, false);
    });
  },
});
