/**
 * SOCKS5 Bytestreams through Prosody's proxy (mod_proxy65): two of our
 * clients log in, discover the proxy, connect with the same hash, the
 * requester activates, and bytes flow both ways; what Prosody refuses
 * (activation by a hash only one side used, before the target connected, a
 * DST.ADDR that is no SHA-1) fails with a typed error; a proxy stopped
 * while the server runs on refuses connections.
 *
 * Prosody 0.12's default network backend (epoll) can hold the tail of a
 * burst in its relay until more bytes come the same way (see
 * `scripts/interop/prosody.ts`): the bulk test runs on its `select`
 * backend, and a test on the default one sends each chunk only once the
 * previous one came back.
 *
 * Run with `deno task test:interop` (installs and starts Prosody itself).
 */

import assert from "node:assert/strict";
import type { E2EStream } from "../../src/e2e.ts";
import {
  activateProxy,
  connectSocks5,
  discoverProxies,
  socks5DestinationAddress,
  Socks5Error,
  type Socks5ErrorReason,
  type StreamHost,
} from "../../src/jingle/mod.ts";
import {
  login,
  type Prosody,
  type ProsodyOptions,
  startProsody,
} from "../../scripts/interop/prosody.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("socks5_interop_test");

function isSocks5(reason: Socks5ErrorReason) {
  return (error: unknown) =>
    error instanceof Socks5Error && error.reason === reason;
}

/** Prosody with romeo, juliet and the proxy; both logged in. */
async function withClients(
  options: ProsodyOptions,
  test: (
    clients: { prosody: Prosody; romeo: E2EStream; juliet: E2EStream },
  ) => Promise<void>,
): Promise<void> {
  const prosody = await startProsody({
    users: ["romeo", "juliet"],
    proxy65: true,
    ...options,
  });
  const streams: E2EStream[] = [];
  try {
    streams.push(await login(prosody, 0, "orchard", { iqTimeoutMs: 5_000 }));
    streams.push(await login(prosody, 1, "balcony", { iqTimeoutMs: 5_000 }));
    await test({ prosody, romeo: streams[0]!, juliet: streams[1]! });
    assert.doesNotMatch(await prosody.log(), /Error parsing rate/);
  } finally {
    await Promise.all(streams.map((s) => s.close().catch(() => {})));
    await prosody.stop();
  }
}

function bytes(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 131 + seed) & 0xff);
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

async function readAll(conn: Deno.Conn, size: number): Promise<Uint8Array> {
  const data = new Uint8Array(size);
  for (let at = 0; at < size;) {
    const got = await conn.read(data.subarray(at));
    if (got === null) throw new Error(`closed after ${at} of ${size} bytes`);
    at += got;
  }
  return data;
}

Deno.test({
  name:
    "Two clients discover Prosody's proxy, connect with the same hash, the requester activates, and megabytes flow both ways in order",
  ignore: SKIP,
  async fn() {
    await withClients({
      rateLimits: "lifted",
      networkBackend: "select",
    }, async (c) => {
      const expected: StreamHost[] = [{
        jid: "proxy.pronto",
        host: "127.0.0.1",
        port: c.prosody.proxy!.port,
      }];
      assert.deepEqual(await discoverProxies(c.romeo), expected);
      assert.deepEqual(await discoverProxies(c.juliet), expected);
      const requester = c.romeo.info.identity!;
      const target = c.juliet.info.identity!;
      assert.equal(target, "juliet@pronto/balcony");
      const sid = "s5b-interop";
      const hash = await socks5DestinationAddress(sid, requester, target);
      const { host, port } = expected[0]!;
      const hers = await connectSocks5(host, port, hash);
      const mine = await connectSocks5(host, port, hash);
      try {
        await activateProxy(c.romeo, "proxy.pronto", sid, target);
        const there = bytes(4 << 20, 1);
        const back = bytes(3 << 20, 2);
        const [heard, answered] = await Promise.all([
          readAll(hers, there.length),
          readAll(mine, back.length),
          writeAll(mine, there),
          writeAll(hers, back),
        ]);
        assert.ok(heard.every((b, i) => b === there[i]), "romeo to juliet");
        assert.ok(answered.every((b, i) => b === back[i]), "juliet to romeo");
        // Closing one side closes the other through the proxy.
        mine.close();
        assert.equal(await hers.read(new Uint8Array(16)), null);
      } finally {
        for (const conn of [mine, hers]) {
          try {
            conn.close();
          } catch {
            // Closed above.
          }
        }
      }
    });
  },
});

Deno.test({
  name:
    "Through Prosody's proxy on its default backend, a megabyte echoed chunk by chunk comes back whole and in order",
  ignore: SKIP,
  async fn() {
    await withClients({}, async (c) => {
      const [proxy] = await discoverProxies(c.juliet);
      const target = c.juliet.info.identity!;
      const sid = "s5b-echo";
      const hash = await socks5DestinationAddress(
        sid,
        c.romeo.info.identity!,
        target,
      );
      const hers = await connectSocks5(proxy!.host, proxy!.port, hash);
      const mine = await connectSocks5(proxy!.host, proxy!.port, hash);
      try {
        await activateProxy(c.romeo, proxy!.jid, sid, target);
        const chunk = 1024;
        const sent = bytes(1 << 20, 3);
        const echoing = (async () => {
          for (let at = 0; at < sent.length; at += chunk) {
            await writeAll(hers, await readAll(hers, chunk));
          }
        })();
        const echoed = new Uint8Array(sent.length);
        for (let at = 0; at < sent.length; at += chunk) {
          await writeAll(mine, sent.subarray(at, at + chunk));
          echoed.set(await readAll(mine, chunk), at);
        }
        await echoing;
        assert.ok(echoed.every((b, i) => b === sent[i]));
      } finally {
        mine.close();
        hers.close();
      }
    });
  },
});

Deno.test({
  name:
    "Prosody's proxy refuses activation before the target connected, by a hash only one side used, and a DST.ADDR that is no SHA-1",
  ignore: SKIP,
  async fn() {
    await withClients({}, async (c) => {
      const { host, port } = c.prosody.proxy!;
      const target = c.juliet.info.identity!;
      const requester = c.romeo.info.identity!;
      // Nobody connected: item-not-found.
      await assert.rejects(
        activateProxy(c.romeo, "proxy.pronto", "s-none", target),
        (error) =>
          isSocks5("activation-refused")(error) &&
          /item-not-found/.test((error as Error).message),
      );
      // Only one side connected: not-allowed.
      const alone = await connectSocks5(
        host,
        port,
        await socks5DestinationAddress("s-alone", requester, target),
      );
      await assert.rejects(
        activateProxy(c.romeo, "proxy.pronto", "s-alone", target),
        (error) =>
          isSocks5("activation-refused")(error) &&
          /not-allowed/.test((error as Error).message),
      );
      alone.close();
      // Juliet with the right hash, romeo with one of bare JIDs: the proxy
      // takes any 40-character DST.ADDR, but they are two sessions, each
      // with one side, and the activation is refused.
      const sid = "s-wrong";
      const right = await socks5DestinationAddress(sid, requester, target);
      const wrong = await socks5DestinationAddress(
        sid,
        "romeo@pronto",
        "juliet@pronto",
      );
      const hers = await connectSocks5(host, port, right);
      const mine = await connectSocks5(host, port, wrong);
      await assert.rejects(
        activateProxy(c.romeo, "proxy.pronto", sid, target),
        (error) =>
          isSocks5("activation-refused")(error) &&
          /not-allowed/.test((error as Error).message),
      );
      mine.close();
      hers.close();
      // A DST.ADDR that is not 40 characters is refused at connect.
      await assert.rejects(
        connectSocks5(host, port, "not-a-sha1"),
        isSocks5("refused"),
      );
    });
  },
});

Deno.test({
  name:
    "stopProxy() closes Prosody's proxy while c2s runs on: discovery finds none, connecting fails connect-failed",
  ignore: SKIP,
  async fn() {
    await withClients({ rateLimits: "default" }, async (c) => {
      const { host, port } = c.prosody.proxy!;
      assert.equal((await discoverProxies(c.romeo)).length, 1);
      await c.prosody.stopProxy();
      await assert.rejects(
        connectSocks5(host, port, "a".repeat(40)),
        isSocks5("connect-failed"),
      );
      assert.deepEqual(await discoverProxies(c.romeo), []);
      assert.ok(await c.juliet.ping({ to: "pronto" }) >= 0);
    });
  },
});
