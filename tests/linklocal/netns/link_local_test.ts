import assert from "node:assert/strict";
import { filter, firstValueFrom } from "rxjs";
import { LinkLocal } from "../../../src/linklocal/link_local.ts";
import type { LinkLocalPeer } from "../../../src/linklocal/peer.ts";
import { message } from "../../../src/stanza/stanza.ts";
import { PeerChangedError } from "../../../src/transport/known_peers.ts";
import { A, B, Remote, skipUnlessNetns } from "./_netns.ts";

const ignore = skipUnlessNetns("tests/linklocal/netns/link_local_test.ts");

/** The peer `name` as `me` sees it; at `port` when given (a restarted peer). */
function appeared(me: LinkLocal, name: string, port?: number) {
  const wanted = (p: LinkLocalPeer) =>
    p.name === name && (port === undefined || p.port === port);
  const now = me.peers.find(wanted);
  if (now !== undefined) return Promise.resolve(now);
  return firstValueFrom(
    me.peers$.pipe(filter((e) => e.type !== "gone" && wanted(e.peer))),
  ).then((e) => e.peer);
}

/**
 * Juliet (a child endpoint in B) and Romeo (here, in A), each seen by the
 * other; `fn` gets Juliet's `started` line; both are closed after.
 */
async function pair(
  fn: (romeo: LinkLocal, juliet: Remote, started: string) => Promise<void>,
): Promise<void> {
  const dirA = await Deno.makeTempDir();
  const dirB = await Deno.makeTempDir();
  const juliet = Remote.deno(B, "_endpoint.ts", ["juliet@pronto", B, dirB]);
  const romeo = await LinkLocal.start({
    name: "romeo@forza",
    dir: dirA,
    interfaces: [A],
  });
  try {
    const started = await juliet.line((l) => l.startsWith("started "));
    await appeared(romeo, "juliet@pronto");
    await juliet.line((l) => l === "peer romeo@forza");
    await fn(romeo, juliet, started);
  } finally {
    await juliet.tell("close").catch(() => {});
    await juliet.line((l) => l === "closed").catch(() => {});
    await juliet.stop();
    await romeo.close();
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
}

Deno.test({
  name:
    "two endpoints find each other, talk both ways over one TLS stream with trust on first use, and close in order",
  ignore,
  async fn() {
    await pair(async (romeo, juliet, started) => {
      const julietFingerprint = started.split(" ")[2];
      const peer = await appeared(romeo, "juliet@pronto");
      const stream = await romeo.connect(peer);
      assert.equal(await romeo.connect("juliet@pronto"), stream, "one stream");
      assert.equal(stream.info.peerAddress, "juliet@pronto");
      assert.equal(stream.info.trustedBy, "known-peers");
      assert.equal(stream.info.tls?.peerFingerprint256, julietFingerprint);
      assert.equal(
        romeo.knownPeers.get("juliet@pronto"),
        julietFingerprint,
        "pinned",
      );
      await juliet.line((l) => l === "stream romeo@forza incoming");

      const heard = firstValueFrom(stream.stanzas$);
      await stream.send(
        message({ to: "juliet@pronto", body: "ping, fair Juliet" }),
      );
      await juliet.line((l) => l === "got romeo@forza ping, fair Juliet");
      assert.equal(
        (await heard).getChildText("body"),
        "echo: ping, fair Juliet",
      );

      // She speaks first now, on the same stream.
      const next = firstValueFrom(stream.stanzas$);
      await juliet.tell("send romeo@forza Wherefore art thou Romeo?");
      assert.equal(
        (await next).getChildText("body"),
        "Wherefore art thou Romeo?",
      );

      assert.deepEqual(await stream.close(), { clean: true });
      await juliet.line((l) => l === "ended romeo@forza true");
    });
  },
});

Deno.test({
  name:
    "an endpoint that comes back with a new certificate is refused with PeerChangedError, both ways",
  ignore,
  async fn() {
    const dirA = await Deno.makeTempDir();
    const dirB = await Deno.makeTempDir();
    let juliet = Remote.deno(B, "_endpoint.ts", ["juliet@pronto", B, dirB]);
    let romeo = await LinkLocal.start({
      name: "romeo@forza",
      dir: dirA,
      interfaces: [A],
    });
    try {
      await juliet.line((l) => l.startsWith("started "));
      const stream = await romeo.connect(
        await appeared(romeo, "juliet@pronto"),
      );
      const pinned = stream.info.tls?.peerFingerprint256;
      await stream.close();

      // Romeo restarts: the pin is kept on disk, so Juliet is known again.
      await romeo.close();
      romeo = await LinkLocal.start({
        name: "romeo@forza",
        dir: dirA,
        interfaces: [A],
      });
      assert.equal(romeo.knownPeers.get("juliet@pronto"), pinned);
      const again = await romeo.connect(await appeared(romeo, "juliet@pronto"));
      assert.equal(again.info.tls?.peerFingerprint256, pinned);
      await again.close();

      // Juliet restarts with a new certificate.
      await juliet.tell("close");
      await juliet.line((l) => l === "closed");
      await juliet.stop();
      await Deno.remove(`${dirB}/cert.pem`);
      juliet = Remote.deno(B, "_endpoint.ts", ["juliet@pronto", B, dirB]);
      const restarted = await juliet.line((l) => l.startsWith("started "));
      assert.notEqual(restarted.split(" ")[2], pinned);

      const refusedHere = firstValueFrom(romeo.failures$);
      // Awaited below; should a step before it fail, that failure is the one
      // to see, not this promise's when close() completes failures$.
      refusedHere.catch(() => {});
      // Until her new record replaces the one she said goodbye with, the
      // old port is what a connect() would dial.
      await appeared(romeo, "juliet@pronto", Number(restarted.split(" ")[3]));
      await assert.rejects(romeo.connect("juliet@pronto"), PeerChangedError);
      assert.equal(romeo.knownPeers.get("juliet@pronto"), pinned, "pin kept");

      // And when she calls, our listener refuses her.
      await juliet.line((l) => l === "peer romeo@forza");
      await juliet.tell("connect romeo@forza");
      await juliet.line((l) => l.startsWith("failed "));
      assert.ok((await refusedHere).error instanceof PeerChangedError);
      assert.equal(romeo.stream("juliet@pronto"), undefined);
    } finally {
      await juliet.tell("close").catch(() => {});
      await juliet.stop();
      await romeo.close();
      await Deno.remove(dirA, { recursive: true });
      await Deno.remove(dirB, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "connect() reaches a peer at its IPv6 link-local address, zone included",
  ignore,
  async fn() {
    await pair(async (romeo) => {
      const peer = await appeared(romeo, "juliet@pronto");
      const v6 = peer.addresses.filter((a) => a.family === "IPv6");
      assert.deepEqual(v6.map((a) => a.hostname), [`fe80::b%${A}`]);
      const stream = await romeo.connect({ ...peer, addresses: v6 });
      assert.equal(stream.info.trustedBy, "known-peers");
      const heard = firstValueFrom(stream.stanzas$);
      await stream.send(
        message({ to: "juliet@pronto", body: "ping over IPv6" }),
      );
      assert.equal((await heard).getChildText("body"), "echo: ping over IPv6");
      assert.deepEqual(await stream.close(), { clean: true });
    });
  },
});

Deno.test({
  name:
    "a new stream from a peer replaces its old one, which is closed in order",
  ignore,
  async fn() {
    await pair(async (romeo, juliet) => {
      const first = firstValueFrom(romeo.streams$);
      await juliet.tell("connect romeo@forza");
      const old = (await first).stream;
      assert.equal(romeo.stream("juliet@pronto"), old);
      const second = firstValueFrom(romeo.streams$);
      await juliet.tell("fresh romeo@forza");
      const fresh = await second;
      assert.equal(fresh.direction, "incoming");
      assert.notEqual(fresh.stream, old);
      assert.equal(romeo.stream("juliet@pronto"), fresh.stream);
      assert.deepEqual(await old.closed, { clean: true });
      await juliet.line((l) => l === "ended romeo@forza true");
    });
  },
});

Deno.test({
  name:
    "when both ends open a stream at once, both keep the one opened by the end named last",
  ignore,
  async fn() {
    await pair(async (romeo, juliet) => {
      const [stream] = await Promise.all([
        romeo.connect("juliet@pronto"),
        juliet.tell("connect romeo@forza"),
      ]);
      await juliet.line((l) => /^(connected|failed)/.test(l));
      await new Promise((r) => setTimeout(r, 500));
      // "romeo@forza" sorts after "juliet@pronto": his stream is kept.
      assert.equal(romeo.stream("juliet@pronto"), stream);
      const heard = firstValueFrom(stream.stanzas$);
      await stream.send(message({ to: "juliet@pronto", body: "ping, still?" }));
      assert.equal((await heard).getChildText("body"), "echo: ping, still?");
    });
  },
});

Deno.test({
  name:
    "an endpoint renamed by a conflict after announcing answers to its new name",
  ignore,
  async fn() {
    await pair(async (romeo, juliet) => {
      const claimer = Remote.deno(B, "_claimer.ts", ["romeo@forza", B]);
      try {
        await claimer.line((l) => l === "claiming");
        const deadline = Date.now() + 15_000;
        while (romeo.name === "romeo@forza" && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(romeo.name, "romeo-1@forza");
        await juliet.line((l) => l === "peer romeo-1@forza");
        await juliet.tell("connect romeo-1@forza");
        await juliet.line((l) => l === "connected romeo-1@forza");
        assert.ok(romeo.stream("juliet@pronto"));
      } finally {
        await claimer.stop();
      }
    });
  },
});
