/**
 * Jingle XML Streams through a real server when something goes wrong: the
 * peer declines, the peer vanishes mid-session, Prosody's proxy refuses the
 * activation, a SOCKS5 connection with the wrong hash, an IBB data packet
 * out of sequence sent through Prosody. Each ends with a typed error on
 * both sides, and Deno's sanitizers check that nothing is left behind.
 *
 * Run with `deno task test:interop` (installs and starts Prosody itself).
 */

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { iq, message } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import type { CloseResult } from "../../src/stream/session.ts";
import * as socks5 from "../../src/jingle/socks5.ts";
import {
  IBB_NS,
  IbbError,
  JingleError,
  type JingleErrorReason,
  type JingleStream,
  type Socks5Backend,
  Socks5Error,
} from "../../src/jingle/mod.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { type Lovers, openPair, withLovers } from "./_jingle_prosody.ts";
import type { TcpTap } from "./_tcp_tap.ts";
import { tappedSocks5 } from "./_tapped_socks5.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("jingle_faults_interop_test");

function isJingle(reason: JingleErrorReason) {
  return (error: unknown) =>
    error instanceof JingleError && error.reason === reason;
}

/** An error and its causes, outermost first. */
function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && out.length < 8;) {
    out.push(e);
    e = e instanceof Error ? e.cause : undefined;
  }
  return out;
}

/**
 * An unclean end whose error, or one of its causes, is of one of the given
 * classes (the stream layer wraps what its transport failed with).
 *
 * @returns That error.
 */
function assertBroken(
  result: CloseResult,
  ...types: (abstract new (...args: never[]) => Error)[]
): Error {
  assert.equal(result.clean, false);
  const found = chain(result.error).find((e) =>
    types.some((type) => e instanceof type)
  );
  assert.ok(found instanceof Error, `typed error: ${result.error}`);
  return found;
}

/** One message each way, so the stream is known to work. */
async function talk(mine: JingleStream, hers: JingleStream): Promise<void> {
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
  const back = firstValueFrom(mine.stanzas$);
  await hers.send(message({ body: "Here" }));
  assert.equal((await back).getChildText("body"), "Here");
}

/** The responder's outcome, when romeo's open() fails. */
function responderOutcome(lovers: Lovers): Promise<unknown> {
  const outcome = Promise.withResolvers<unknown>();
  lovers.juliet.jingle.accept(async (offer) => {
    try {
      outcome.resolve(await offer.accept());
    } catch (error) {
      outcome.resolve(error);
    }
  });
  return outcome.promise;
}

Deno.test({
  name:
    "When the peer declines through Prosody, open() rejects with declined and both client streams run on",
  ignore: SKIP,
  async fn() {
    await withLovers({}, async (lovers) => {
      const offered = Promise.withResolvers<string>();
      lovers.juliet.jingle.accept(async (offer) => {
        offered.resolve(offer.from);
        await offer.decline();
      });
      await assert.rejects(
        lovers.romeo.jingle.open(lovers.juliet.jid),
        isJingle("declined"),
      );
      assert.equal(await offered.promise, lovers.romeo.jid);
      // Both ends still talk to Prosody.
      assert.ok(await lovers.romeo.client.ping({ to: "pronto" }) >= 0);
      assert.ok(await lovers.juliet.client.ping({ to: "pronto" }) >= 0);
    });
  },
});

Deno.test({
  name:
    "When the peer's client stream is cut mid-session over IBB, both streams inside end unclean with a typed error",
  ignore: SKIP,
  async fn() {
    await withLovers({ tapJuliet: true }, async (lovers) => {
      const [mine, hers] = await openPair(lovers);
      await talk(mine, hers);
      lovers.juliet.tap!.sever();
      // Juliet's side sees its client stream end; romeo's learns when
      // Prosody bounces his next IBB packet, juliet being gone.
      assertBroken(await hers.closed, JingleError, IbbError);
      await mine.send(message({ body: "Are you there?" })).catch(() => {});
      assertBroken(await mine.closed, IbbError, JingleError);
      assert.equal((await lovers.juliet.client.closed).clean, false);
    });
  },
});

Deno.test({
  name:
    "When the peer vanishes mid-session over SOCKS5 (its client stream and its bytestream cut), both streams end unclean with a typed error",
  ignore: SKIP,
  async fn() {
    // Juliet's machine goes away: her client stream and her bytestream,
    // each through a tap, are cut at once.
    const taps: TcpTap[] = [];
    const direct = {
      backend: tappedSocks5(taps),
      directAddresses: ["127.0.0.1"],
      proxies: false,
    };
    try {
      await withLovers({
        tapJuliet: true,
        romeo: { socks5: direct },
        juliet: { socks5: direct },
      }, async (lovers) => {
        const [mine, hers] = await openPair(lovers);
        assert.equal(mine.jingle.transport, "s5b");
        await talk(mine, hers);
        lovers.juliet.tap!.sever();
        for (const tap of taps) tap.sever();
        assertBroken(await hers.closed, JingleError, TransportError);
        assertBroken(await mine.closed, TransportError);
      });
    } finally {
      await Promise.all(taps.map((t) => t.close()));
    }
  },
});

/**
 * The module, recording what its functions reject with, and with `mangle`
 * applied to the arguments of some.
 */
function recording(
  errors: unknown[],
  mangle: {
    activation?: (sid: string) => string;
    dstAddr?: (dstAddr: string) => string;
  },
): Socks5Backend {
  const record = <T>(promise: Promise<T>) =>
    promise.catch((error) => {
      errors.push(error);
      throw error;
    });
  return {
    ...socks5,
    connectSocks5: (host, port, dstAddr, options) =>
      record(socks5.connectSocks5(
        host,
        port,
        mangle.dstAddr?.(dstAddr) ?? dstAddr,
        options,
      )),
    activateProxy: (client, proxy, sid, target, options) =>
      record(socks5.activateProxy(
        client,
        proxy,
        mangle.activation?.(sid) ?? sid,
        target,
        options,
      )),
  };
}

Deno.test({
  name:
    "When Prosody's proxy refuses the activation, the activator's SOCKS5 fails activation-refused and a SOCKS5-only open() rejects with failed-transport",
  ignore: SKIP,
  async fn() {
    const errors: unknown[] = [];
    // The activation names a sid nobody connected with: item-not-found.
    const backend = recording(errors, { activation: (sid) => `${sid}-other` });
    await withLovers({
      romeo: { socks5: { backend }, transports: ["s5b"] },
      juliet: { socks5: { backend }, transports: ["s5b"] },
    }, async (lovers) => {
      const hers = responderOutcome(lovers);
      await assert.rejects(
        lovers.romeo.jingle.open(lovers.juliet.jid),
        isJingle("failed-transport"),
      );
      assert.ok(await hers instanceof JingleError, String(await hers));
      assert.ok(
        errors.some((e) =>
          e instanceof Socks5Error && e.reason === "activation-refused" &&
          /item-not-found/.test(e.message)
        ),
        String(errors),
      );
    });
  },
});

Deno.test({
  name:
    "When the peer connects to Prosody's proxy with the wrong SOCKS5 hash, the proxy refuses the activation (not-allowed) and the session falls back to IBB",
  ignore: SKIP,
  async fn() {
    const errors: unknown[] = [];
    const wrong = recording(errors, {
      dstAddr: (dstAddr) => [...dstAddr].reverse().join(""),
    });
    await withLovers({
      romeo: { socks5: { backend: recording(errors, {}) } },
      // Juliet offers no candidate and reaches romeo's with a wrong hash.
      juliet: { socks5: { backend: wrong, proxies: false } },
    }, async (lovers) => {
      const [mine, hers] = await openPair(lovers);
      assert.equal(mine.jingle.transport, "ibb");
      assert.equal(mine.jingle.fellBack, true);
      assert.equal(hers.jingle.fellBack, true);
      assert.ok(
        errors.some((e) =>
          e instanceof Socks5Error && e.reason === "activation-refused" &&
          /not-allowed/.test(e.message)
        ),
        String(errors),
      );
      await talk(mine, hers);
      assert.deepEqual(await mine.close(), { clean: true });
      assert.deepEqual(await hers.close(), { clean: true });
    });
  },
});

Deno.test({
  name:
    "When the peer connects to a direct candidate with the wrong SOCKS5 hash, our streamhost refuses it and a SOCKS5-only open() rejects with failed-transport",
  ignore: SKIP,
  async fn() {
    const errors: unknown[] = [];
    const wrong = recording(errors, {
      dstAddr: (dstAddr) => [...dstAddr].reverse().join(""),
    });
    const romeo = { directAddresses: ["127.0.0.1"], proxies: false };
    await withLovers({
      romeo: { socks5: romeo, transports: ["s5b"] },
      juliet: { socks5: { backend: wrong, proxies: false } },
    }, async (lovers) => {
      const hers = responderOutcome(lovers);
      await assert.rejects(
        lovers.romeo.jingle.open(lovers.juliet.jid),
        isJingle("failed-transport"),
      );
      assert.ok(await hers instanceof JingleError, String(await hers));
      assert.ok(
        errors.some((e) => e instanceof Socks5Error && e.reason === "refused"),
        String(errors),
      );
    });
  },
});

Deno.test({
  name:
    "An IBB data packet out of sequence, sent through Prosody, is refused unexpected-request and ends both streams with a typed error",
  ignore: SKIP,
  async fn() {
    await withLovers({}, async (lovers) => {
      const [mine, hers] = await openPair(lovers);
      await talk(mine, hers);
      // From juliet's client stream, as her engine would send it, but with
      // a sequence number far from the one due.
      const bad = iq(
        { type: "set", to: lovers.romeo.jid },
        xml("data", {
          xmlns: IBB_NS,
          sid: mine.jingle.transportSid,
          seq: "40000",
        }, btoa("not the next packet")),
      );
      await assert.rejects(
        lovers.juliet.client.request(bad),
        (error) =>
          error instanceof StanzaError &&
          error.condition === "unexpected-request",
      );
      const error = assertBroken(await mine.closed, IbbError);
      assert.equal((error as IbbError).reason, "sequence");
      assertBroken(await hers.closed, JingleError, IbbError);
      // The client streams are unharmed.
      assert.ok(await lovers.romeo.client.ping({ to: "pronto" }) >= 0);
      assert.ok(await lovers.juliet.client.ping({ to: "pronto" }) >= 0);
    });
  },
});
