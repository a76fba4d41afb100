import assert from "node:assert/strict";
import { filter, firstValueFrom } from "rxjs";
import { LinkLocal } from "../../../src/linklocal/link_local.ts";
import { message } from "../../../src/stanza/stanza.ts";
import { NegotiationError, StreamError } from "../../../src/stream/errors.ts";
import { A, B, Remote, skipUnlessNetns } from "./_netns.ts";

const ignore = skipUnlessNetns("tests/linklocal/netns/plaintext_test.ts");

async function withPeers(
  allowPlaintext: string[],
  fn: (romeo: LinkLocal, gajim: Remote) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  const gajim = Remote.deno(B, "_plain_peer.ts", ["mercutio@verona", B]);
  const romeo = await LinkLocal.start({
    name: "romeo@forza",
    dir,
    interfaces: [A],
    allowPlaintext,
  });
  try {
    await gajim.line((l) => l === "started");
    if (!romeo.peers.some((p) => p.name === "mercutio@verona")) {
      await firstValueFrom(
        romeo.peers$.pipe(filter((e) => e.peer.name === "mercutio@verona")),
      );
    }
    await fn(romeo, gajim);
  } finally {
    await gajim.tell("close").catch(() => {});
    await gajim.line((l) => l === "closed").catch(() => {});
    await gajim.stop();
    await romeo.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "connect() refuses a peer that offers no TLS unless it is allowed by name",
  ignore,
  async fn() {
    await withPeers([], async (romeo) => {
      await assert.rejects(romeo.connect("mercutio@verona"), NegotiationError);
      assert.equal(romeo.stream("mercutio@verona"), undefined);
    });
  },
});

Deno.test({
  name:
    "a peer allowed without TLS gets a stream both ways, told as unencrypted and unauthenticated",
  ignore,
  async fn() {
    await withPeers(["mercutio@verona"], async (romeo, gajim) => {
      const told = firstValueFrom(romeo.streams$);
      const stream = await romeo.connect("mercutio@verona");
      const { encrypted, authenticated, direction } = await told;
      assert.deepEqual({ encrypted, authenticated, direction }, {
        encrypted: false,
        authenticated: false,
        direction: "outgoing",
      });
      assert.equal(stream.info.tls, undefined);
      const heard = firstValueFrom(stream.stanzas$);
      await stream.send(message({ to: "mercutio@verona", body: "ping" }));
      assert.equal((await heard).getChildText("body"), "echo: ping");
      assert.deepEqual(await stream.close(), { clean: true });

      // Mercutio calls, without TLS: accepted, as allowed.
      const incoming = firstValueFrom(romeo.streams$);
      await gajim.tell(`connect romeo@forza 169.254.77.1 ${romeo.port}`);
      await gajim.line((l) => l === "connected");
      const called = await incoming;
      assert.equal(called.direction, "incoming");
      assert.equal(called.encrypted, false);
      assert.equal(called.peer, "mercutio@verona");
      const greeting = await firstValueFrom(called.stream.stanzas$);
      assert.equal(greeting.getChildText("body"), "Good morrow");
    });
  },
});

Deno.test({
  name: "a peer calling without TLS is refused unless it is allowed by name",
  ignore,
  async fn() {
    await withPeers([], async (romeo, gajim) => {
      const refused = firstValueFrom(romeo.failures$);
      await gajim.tell(`connect romeo@forza 169.254.77.1 ${romeo.port}`);
      // Its header is answered with STARTTLS required; it goes on without,
      // and its first stanza ends the stream.
      const { error } = await refused;
      assert.ok(error instanceof StreamError, `${error}`);
      assert.equal(error.condition, "policy-violation");
      const ended = await gajim.line((l) => l.startsWith("ended romeo@forza"));
      assert.notEqual(ended, "ended romeo@forza true");
      assert.equal(romeo.stream("mercutio@verona"), undefined);
    });
  },
});

Deno.test({
  name:
    "a peer calling without TLS is refused when only others are allowed without it",
  ignore,
  async fn() {
    await withPeers(["tybalt@verona"], async (romeo, gajim) => {
      let adopted = false;
      const watching = romeo.streams$.subscribe(() => adopted = true);
      await gajim.tell(`connect romeo@forza 169.254.77.1 ${romeo.port}`);
      const ended = await gajim.line((l) => l.startsWith("ended romeo@forza"));
      watching.unsubscribe();
      assert.notEqual(ended, "ended romeo@forza true");
      assert.equal(adopted, false);
      assert.equal(romeo.stream("mercutio@verona"), undefined);
    });
  },
});

Deno.test({
  name:
    "a libpurple-style caller (no version, close tag then hang-up) allowed without TLS is heard, and its stream ends clean",
  ignore,
  async fn() {
    await withPeers(["mercutio@verona"], async (romeo, gajim) => {
      const incoming = firstValueFrom(romeo.streams$);
      await gajim.tell(`purple romeo@forza 169.254.77.1 ${romeo.port}`);
      const called = await incoming;
      assert.equal(called.peer, "mercutio@verona");
      assert.deepEqual(
        [called.encrypted, called.authenticated],
        [false, false],
      );
      const greeting = await firstValueFrom(called.stream.stanzas$);
      assert.equal(greeting.getChildText("body"), "Good morrow");
      assert.equal((await called.stream.closed).clean, true);
      await gajim.line((l) => l === "purpled");
    });
  },
});

Deno.test({
  name:
    "a libpurple-style caller claiming a name not advertised on the link is refused with invalid-from, and no stream is kept",
  ignore,
  async fn() {
    await withPeers(["mercutio@verona"], async (romeo, gajim) => {
      let adopted = false;
      const watching = romeo.streams$.subscribe(() => adopted = true);
      // Mercutio's helper dials, but its header claims tybalt@verona.
      await gajim.tell(
        `purple romeo@forza 169.254.77.1 ${romeo.port} tybalt@verona`,
      );
      const answer = await gajim.line((l) => l.startsWith("answered"));
      watching.unsubscribe();
      assert.equal(answer, "answered invalid-from");
      assert.equal(adopted, false);
    });
  },
});
