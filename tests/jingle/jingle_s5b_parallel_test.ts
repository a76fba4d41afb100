// The peer's SOCKS5 candidates are tried at once: a candidate that never
// answers does not hold up one that works, and of those that connect the
// best by priority is used.

import assert from "node:assert/strict";
import * as socks5 from "../../src/jingle/socks5.ts";
import type {
  JingleStream,
  Socks5Backend,
  Socks5Listener,
} from "../../src/jingle/mod.ts";
import { lovers, openPair } from "./_jingle_pair.ts";
import { loopbackSocks5 } from "./_loopback_socks5.ts";

/** A TCP listener that takes connections and never says a word. */
function blackhole(): { port: number; close(): Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const loop = (async () => {
    for (;;) {
      try {
        held.push(await listener.accept());
      } catch {
        return;
      }
    }
  })();
  return {
    port: listener.addr.port,
    async close() {
      listener.close();
      await loop;
      for (const conn of held) conn.close();
    },
  };
}

/**
 * The SOCKS5 module, with the direct address `fake` offered as the
 * blackhole (a streamhost that never answers the greeting).
 */
function withBlackhole(fake: string, port: number): Socks5Backend {
  return {
    ...socks5,
    Socks5Server: {
      listen(options = {}): Socks5Listener {
        if (options.hostname !== fake) {
          return socks5.Socks5Server.listen(options);
        }
        return {
          hostname: "127.0.0.1",
          port,
          expect: (_dst, { signal } = {}) =>
            new Promise((_, reject) =>
              signal?.addEventListener(
                "abort",
                () => reject(new Error("Aborted")),
                { once: true },
              )
            ),
          close: () => Promise.resolve(),
        };
      },
    },
  };
}

Deno.test("a dead SOCKS5 candidate of the highest priority does not hold up a working one: it is used while the dead one is still being tried", async () => {
  const hole = blackhole();
  const events: string[] = [];
  const juliets: Socks5Backend = {
    ...socks5,
    connectSocks5(host, port, dst, options) {
      const which = port === hole.port ? "blackhole" : "working";
      events.push(`${which} tried`);
      const attempt = socks5.connectSocks5(host, port, dst, options);
      attempt.then(
        () => events.push(`${which} connected`),
        () => events.push(`${which} failed`),
      );
      return attempt;
    },
  };
  const { romeo, juliet, close } = await lovers(
    {
      socks5: {
        backend: withBlackhole("192.0.2.1", hole.port),
        // The blackhole first: the higher priority.
        directAddresses: ["192.0.2.1", "127.0.0.1"],
        proxies: false,
      },
    },
    {
      socks5: {
        backend: juliets,
        proxies: false,
        connectTimeoutMs: 10_000,
      },
    },
  );
  const { mine, hers } = await openPair(romeo, juliet);
  // Both tried at once; the working one connected while the blackhole was
  // still being tried (not after its deadline), and the blackhole's
  // attempt was then given up.
  assert.deepEqual(events, [
    "blackhole tried",
    "working tried",
    "working connected",
    "blackhole failed",
  ]);
  assert.equal(mine.jingle.transport, "s5b");
  assert.deepEqual(mine.jingle.candidate, { type: "direct", offeredBy: "us" });
  assert.deepEqual(hers.jingle.candidate, {
    type: "direct",
    offeredBy: "peer",
  });
  assert.deepEqual(await mine.close(), { clean: true });
  await hers.closed;
  await close();
  await hole.close();
});

/** The text each client stream sent. */
function sentBy(stream: { trace$: JingleStream["trace$"] }) {
  const sent: string[] = [];
  const sub = stream.trace$.subscribe((entry) => {
    if (entry.direction === "out") sent.push(entry.text);
  });
  return { text: () => sent.join(""), stop: () => sub.unsubscribe() };
}

Deno.test("of two SOCKS5 candidates that both connect, the one of the higher priority is used, though it answers last", async () => {
  const backend = loopbackSocks5();
  const slow: Socks5Backend = {
    ...backend,
    async connectSocks5(host, port, dst, options) {
      // The higher-priority listener (made first) answers last.
      if (port === backend.listeners[0]?.port) {
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      return await backend.connectSocks5(host, port, dst, options);
    },
  };
  const { romeo, juliet, close } = await lovers(
    { socks5: { backend, directAddresses: ["127.0.0.1", "127.0.0.1"] } },
    { socks5: { backend: slow } },
  );
  const his = sentBy(romeo.client.stream);
  const hers$ = sentBy(juliet.client.stream);
  const { mine, hers } = await openPair(romeo, juliet);
  his.stop();
  hers$.stop();
  assert.equal(mine.jingle.candidate?.offeredBy, "us");
  // Both connected...
  assert.equal(backend.listeners[0]!.accepted, 1);
  assert.equal(backend.listeners[1]!.accepted, 1);
  // ...and Juliet reported the first listener's candidate.
  const used = /<candidate-used [^>]*cid=['"]([^'"]+)['"]/.exec(hers$.text());
  assert.ok(used, "a candidate-used was sent");
  const offered = [...his.text().matchAll(/<candidate [^>]*\/>/g)].map((m) =>
    m[0]
  ).find((c) =>
    c.includes(`cid='${used[1]}'`) || c.includes(`cid="${used[1]}"`)
  );
  assert.ok(offered, "the candidate used was one Romeo offered");
  assert.match(
    offered,
    new RegExp(`port=['"]${backend.listeners[0]!.port}['"]`),
  );
  assert.deepEqual(await mine.close(), { clean: true });
  await hers.closed;
  await close();
});
