/**
 * Jingle XML Streams through a real server: two of our clients logged in to
 * Prosody (with its SOCKS5 proxy, mod_proxy65) open an end-to-end stream to
 * each other over IBB, over SOCKS5 through the proxy, over SOCKS5 direct,
 * and over IBB after SOCKS5 failed; each way 10,000 numbered messages,
 * every one checked for arrival and order, then the ordered close. What
 * Prosody relays (the IBB payloads it forwards, the bytes through its
 * proxy, the bytes of the direct connection) never holds the messages'
 * plaintext, which the streams inside do.
 *
 * Prosody's default rate limit (c2s 10 kB/s) lets IBB, which goes through
 * c2s, carry a few hundred of these messages a minute: the 10,000-message
 * IBB runs lift the limits, and a smaller run keeps them.
 *
 * Prosody 0.12's default network backend (epoll) can hold the tail of a
 * burst in its proxy's relay until more bytes come the same way (see
 * `scripts/interop/prosody.ts`), which stalls a stream whose last messages
 * are held: the bulk run through the proxy uses its `select` backend, and
 * one on the default backend has whitespace keepalives inside, which let
 * the held bytes through.
 *
 * Run with `deno task test:interop` (installs and starts Prosody itself).
 */

import assert from "node:assert/strict";
import type { TraceEntry } from "../../src/stream/session.ts";
import type { JingleStreamsOptions } from "../../src/jingle/mod.ts";
import {
  exchangeAndClose,
  MARKER,
  openPair,
  type Party,
} from "./_jingle_prosody.ts";
import { withLovers } from "./_jingle_prosody.ts";
import { indexOf, type TcpTap } from "./_tcp_tap.ts";
import { tappedSocks5 } from "./_tapped_socks5.ts";
import { skipInterop } from "./_skip.ts";
import { concat } from "../xml/_mutations.ts";

const SKIP = skipInterop("jingle_interop_test");

const COUNT = 10_000;
/** Messages each way through IBB at Prosody's default rate limits. */
const LIMITED_COUNT = 200;
const encoder = new TextEncoder();
const marker = encoder.encode(MARKER);
/** A TLS handshake record's first bytes (type 22, version 3.x). */
const TLS_HANDSHAKE = new Uint8Array([0x16, 0x03]);

/** Whether the streams inside saw the marker (in their trace). */
function inner(): {
  options: Partial<JingleStreamsOptions>;
  seen: () => boolean;
} {
  let seen = false;
  return {
    options: {
      stream: {
        trace: (entry) => {
          if (!seen && entry.text.includes(MARKER)) seen = true;
        },
      },
    },
    seen: () => seen,
  };
}

/** What a client's stream to Prosody carries, as the client sees it. */
function outerTrace(party: Party): { entries: TraceEntry[]; stop(): void } {
  const entries: TraceEntry[] = [];
  const sub = party.client.trace$.subscribe((entry) => entries.push(entry));
  return { entries, stop: () => sub.unsubscribe() };
}

/**
 * The IBB payloads of a client stream's trace, decoded, per direction; and
 * how many data packets there were.
 */
function ibbPayloads(
  entries: TraceEntry[],
): { bytes: Uint8Array[]; packets: number } {
  let packets = 0;
  const bytes = (["in", "out"] as const).map((direction) => {
    const text = entries.filter((e) => e.direction === direction)
      .map((e) => e.text).join("");
    const chunks: Uint8Array[] = [];
    for (const match of text.matchAll(/<data\b[^>]*>([^<]*)<\/data>/g)) {
      packets++;
      chunks.push(Uint8Array.from(atob(match[1]!), (c) => c.charCodeAt(0)));
    }
    return concat(...chunks);
  });
  return { bytes, packets };
}

/** Asserts that the IBB payloads carried ciphertext only, and plenty of it. */
function assertIbbCiphertext(entries: TraceEntry[], count: number): void {
  const { bytes, packets } = ibbPayloads(entries);
  assert.ok(packets > 0, "IBB data packets went through Prosody");
  for (const [i, payload] of bytes.entries()) {
    // Each message is longer than the marker: at least that much each way.
    assert.ok(
      payload.length > count * marker.length,
      `${i ? "out" : "in"}: ${payload.length} bytes of IBB payload`,
    );
    // The inner stream's header and STARTTLS go in the clear (XEP-0246),
    // TLS records after.
    const starttls = indexOf(payload, encoder.encode("xmpp-tls"));
    assert.ok(starttls >= 0, "STARTTLS inside the bytestream");
    assert.ok(
      indexOf(payload.subarray(starttls), TLS_HANDSHAKE) > 0,
      "TLS after STARTTLS",
    );
    assert.equal(indexOf(payload, marker), -1, "no plaintext in IBB payloads");
  }
}

Deno.test({
  name:
    "Over IBB through Prosody with its rate limits lifted, 10,000 messages each way arrive in order, then the stream closes in order; Prosody relays only ciphertext",
  ignore: SKIP,
  async fn() {
    const seen = inner();
    await withLovers({
      prosody: { rateLimits: "lifted" },
      romeo: seen.options,
    }, async (lovers) => {
      const trace = outerTrace(lovers.romeo);
      const [mine, hers] = await openPair(lovers);
      assert.equal(mine.jingle.transport, "ibb");
      assert.equal(hers.jingle.transport, "ibb");
      assert.equal(mine.jingle.fellBack, false);
      assert.equal(mine.info.encrypted, true);
      await exchangeAndClose(mine, hers, COUNT);
      trace.stop();
      assertIbbCiphertext(trace.entries, COUNT);
      assert.ok(seen.seen(), "the stream inside carries the plaintext");
    });
  },
});

Deno.test({
  name:
    `Over IBB through Prosody at its default rate limits, ${LIMITED_COUNT} messages each way arrive in order and the stream closes in order`,
  ignore: SKIP,
  async fn() {
    await withLovers({ prosody: { rateLimits: "default" } }, async (lovers) => {
      const trace = outerTrace(lovers.romeo);
      const [mine, hers] = await openPair(lovers);
      assert.equal(mine.jingle.transport, "ibb");
      await exchangeAndClose(mine, hers, LIMITED_COUNT);
      trace.stop();
      assertIbbCiphertext(trace.entries, LIMITED_COUNT);
    });
  },
});

Deno.test({
  name:
    "Over SOCKS5 through Prosody's proxy, 10,000 messages each way arrive in order and the stream closes in order; the proxy carries only ciphertext",
  ignore: SKIP,
  async fn() {
    const taps: TcpTap[] = [];
    const seen = inner();
    const socks5 = { backend: tappedSocks5(taps) };
    try {
      await withLovers({
        prosody: { rateLimits: "default", networkBackend: "select" },
        romeo: { socks5, ...seen.options },
        juliet: { socks5 },
      }, async (lovers) => {
        const trace = outerTrace(lovers.romeo);
        const [mine, hers] = await openPair(lovers);
        assert.equal(mine.jingle.transport, "s5b");
        assert.equal(mine.jingle.candidate?.type, "proxy");
        assert.equal(hers.jingle.candidate?.type, "proxy");
        assert.equal(mine.jingle.fellBack, false);
        await exchangeAndClose(mine, hers, COUNT);
        trace.stop();
        const outer = trace.entries.map((e) => e.text).join("");
        assert.match(outer, /<activated /);
        assert.doesNotMatch(outer, /http:\/\/jabber\.org\/protocol\/ibb/);
      });
      const carried = taps.reduce((n, t) => n + t.bytes, 0);
      assert.ok(carried > 2 * COUNT * marker.length, `${carried} bytes`);
      for (const tap of taps) {
        assert.ok(!tap.contains(marker), "no plaintext through the proxy");
      }
      assert.ok(seen.seen(), "the stream inside carries the plaintext");
    } finally {
      await Promise.all(taps.map((t) => t.close()));
    }
  },
});

Deno.test({
  name:
    "Over SOCKS5 through Prosody's proxy on its default (epoll) backend, whitespace keepalives inside release what its relay holds back: 10,000 messages each way arrive in order",
  ignore: SKIP,
  async fn() {
    // Without keepalives this stalls now and then with the last few dozen
    // messages of a burst held in Prosody's relay; a keepalive is more
    // bytes the same way, which lets them through.
    const socks5 = {};
    const stream = { keepaliveMs: 500 };
    await withLovers({
      prosody: { rateLimits: "default" },
      romeo: { socks5, stream },
      juliet: { socks5, stream },
    }, async (lovers) => {
      const [mine, hers] = await openPair(lovers);
      assert.equal(mine.jingle.candidate?.type, "proxy");
      await exchangeAndClose(mine, hers, COUNT);
    });
  },
});

Deno.test({
  name:
    "Over SOCKS5 direct (a candidate on 127.0.0.1), 10,000 messages each way arrive in order and the stream closes in order, as ciphertext on the wire",
  ignore: SKIP,
  async fn() {
    const taps: TcpTap[] = [];
    const seen = inner();
    const socks5 = {
      backend: tappedSocks5(taps),
      directAddresses: ["127.0.0.1"],
    };
    try {
      await withLovers({
        prosody: { rateLimits: "default" },
        romeo: { socks5, ...seen.options },
        juliet: { socks5 },
      }, async (lovers) => {
        const [mine, hers] = await openPair(lovers);
        assert.equal(mine.jingle.transport, "s5b");
        assert.equal(mine.jingle.candidate?.type, "direct");
        assert.equal(hers.jingle.candidate?.type, "direct");
        await exchangeAndClose(mine, hers, COUNT);
      });
      const carried = taps.reduce((n, t) => n + t.bytes, 0);
      assert.ok(carried > 2 * COUNT * marker.length, `${carried} bytes`);
      for (const tap of taps) {
        assert.ok(!tap.contains(marker), "no plaintext on the connection");
      }
      assert.ok(seen.seen(), "the stream inside carries the plaintext");
    } finally {
      await Promise.all(taps.map((t) => t.close()));
    }
  },
});

Deno.test({
  name:
    "With Prosody's proxy stopped and no direct candidate, SOCKS5 fails and the session falls back to IBB: 10,000 messages each way (rate limits lifted) arrive in order, and info says it fell back",
  ignore: SKIP,
  async fn() {
    const socks5 = {};
    await withLovers({
      prosody: { rateLimits: "lifted" },
      romeo: { socks5 },
      juliet: { socks5 },
      before: (prosody) => prosody.stopProxy(),
    }, async (lovers) => {
      const trace = outerTrace(lovers.romeo);
      const [mine, hers] = await openPair(lovers);
      assert.equal(mine.jingle.transport, "ibb");
      assert.equal(mine.jingle.fellBack, true);
      assert.equal(hers.jingle.fellBack, true);
      const outer = trace.entries.map((e) => e.text).join("");
      assert.match(outer, /candidate-error/);
      assert.match(outer, /transport-replace/);
      await exchangeAndClose(mine, hers, COUNT);
      trace.stop();
      assertIbbCiphertext(trace.entries, COUNT);
    });
  },
});
