// What the Jingle engine answers to requests it must refuse (an unknown
// session, a stranger, out of turn, malformed), an IBB sequence error
// inside a session, the peer's terminate, and trust on first use keyed on
// the bare JID across sessions and restarts.

import { causes } from "./_causes.ts";
import assert from "node:assert/strict";
import { iq } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import {
  KnownPeers,
  PeerChangedError,
} from "../../src/transport/known_peers.ts";
import {
  IBB_NS,
  IbbError,
  JingleError,
  type JingleStream,
  type JingleStreams,
} from "../../src/jingle/mod.ts";
import {
  JULIET,
  julietCert,
  lovers,
  MERCUTIO,
  party,
  refused,
  ROMEO,
  romeoCert,
} from "./_jingle_pair.ts";

const JINGLE = "urn:xmpp:jingle:1";

function jingle(to: string, attrs: Record<string, string>) {
  return iq({ type: "set", to }, xml("jingle", { xmlns: JINGLE, ...attrs }));
}

async function session(
  romeo: { jingle: JingleStreams },
  juliet: { jingle: JingleStreams },
): Promise<{ mine: JingleStream; hers: JingleStream }> {
  const accepted = Promise.withResolvers<JingleStream>();
  const stop = juliet.jingle.accept(async (offer) => {
    accepted.resolve(await offer.accept());
  });
  const opened = romeo.jingle.open(JULIET);
  opened.catch(() => {});
  const hers = accepted.promise;
  hers.catch(() => {});
  try {
    return { mine: await opened, hers: await hers };
  } finally {
    stop();
  }
}

Deno.test("Jingle requests for no session, from a stranger, out of turn or malformed are refused with the XEP-0166 errors", async () => {
  const { net, romeo, juliet, close } = await lovers({}, {}, [MERCUTIO]);
  const { mine, hers } = await session(romeo, juliet);
  const sid = mine.jingle.sid;
  const mercutio = net.clients.get(MERCUTIO)!.stream;
  const julietClient = juliet.client.stream;
  await refused(
    julietClient,
    jingle(ROMEO, { action: "transport-info", sid: "no-such-session" }),
    "item-not-found",
    "unknown-session",
  );
  // The live session's sid, from someone else: not his session.
  await refused(
    mercutio,
    jingle(ROMEO, { action: "session-terminate", sid }),
    "item-not-found",
    "unknown-session",
  );
  await refused(
    julietClient,
    jingle(ROMEO, { action: "session-accept", sid }),
    "unexpected-request",
    "out-of-order",
  );
  await refused(
    julietClient,
    jingle(ROMEO, { action: "dance", sid }),
    "bad-request",
  );
  await refused(
    julietClient,
    jingle(ROMEO, { action: "transport-info" }),
    "bad-request",
  );
  // A session-info without payload is a ping; one with a payload unknown.
  await julietClient.request(jingle(ROMEO, { action: "session-info", sid }));
  await refused(
    julietClient,
    iq(
      { type: "set", to: ROMEO },
      xml(
        "jingle",
        { xmlns: JINGLE, action: "session-info", sid },
        xml("ringing", { xmlns: "urn:xmpp:jingle:apps:rtp:info:1" }),
      ),
    ),
    "feature-not-implemented",
    "unsupported-info",
  );
  // None of it disturbed the session.
  assert.equal(mine.state, "open");
  assert.deepEqual(await mine.close(), { clean: true });
  await hers.closed;
  // Once ended, its sid is unknown.
  await refused(
    julietClient,
    jingle(ROMEO, { action: "transport-info", sid }),
    "item-not-found",
    "unknown-session",
  );
  await close();
});

Deno.test("an IBB sequence error inside a session ends both streams unclean, with the sequence error among the causes", async () => {
  const { romeo, juliet, close } = await lovers();
  const { mine, hers } = await session(romeo, juliet);
  await assert.rejects(
    juliet.client.stream.request(
      iq(
        { type: "set", to: ROMEO },
        xml("data", {
          xmlns: IBB_NS,
          sid: mine.jingle.transportSid,
          seq: 9,
        }, "AAAA"),
      ),
    ),
    (error) =>
      error instanceof StanzaError && error.condition === "unexpected-request",
  );
  const myEnd = await mine.closed;
  assert.equal(myEnd.clean, false);
  assert.ok(
    causes(myEnd.error).some((e) =>
      e instanceof IbbError && e.reason === "sequence"
    ),
    String(myEnd.error),
  );
  const herEnd = await hers.closed;
  assert.equal(herEnd.clean, false);
  await close();
});

Deno.test("the pin of a peer is keyed on its bare JID, survives a second session and a restart, and a changed certificate is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = `${dir}/known_peers.json`;
    const asked: string[] = [];
    const store = await KnownPeers.open({
      file,
      approve: (peer) => (asked.push(peer), true),
    });
    const { net, romeo, juliet, close } = await lovers({ knownPeers: store });
    for (let i = 0; i < 2; i++) {
      const { mine, hers } = await session(romeo, juliet);
      assert.equal(
        mine.info.tls?.peerFingerprint256,
        julietCert.fingerprint256,
      );
      await mine.close();
      await hers.closed;
    }
    assert.deepEqual(asked, ["juliet@pronto"]);
    assert.deepEqual(store.entries(), [[
      "juliet@pronto",
      julietCert.fingerprint256,
    ]]);

    // A restart: a new store from the file, which approves no newcomer.
    await romeo.jingle.close();
    const reopened = await KnownPeers.open({ file, approve: () => false });
    const romeo2 = await party(
      net.clients.get(ROMEO)!,
      romeoCert,
      {},
      reopened,
    );
    const again = await session(romeo2, juliet);
    await again.mine.close();
    await again.hers.closed;

    // Juliet's certificate changes: refused, whatever the store would approve.
    await juliet.jingle.close();
    const other = await generateCertificate({ names: ["juliet@pronto"] });
    const juliet2 = await party(net.clients.get(JULIET)!, other);
    const accepted = Promise.withResolvers<unknown>();
    juliet2.jingle.accept(async (offer) => {
      await offer.accept().then(accepted.resolve, accepted.resolve);
    });
    await assert.rejects(romeo2.jingle.open(JULIET), (error) => {
      assert.ok(
        causes(error).some((e) => e instanceof PeerChangedError),
        String(error),
      );
      return true;
    });
    const seen = await accepted.promise;
    assert.ok(seen instanceof Error, "juliet's side failed too");
    assert.equal(reopened.get("juliet@pronto"), julietCert.fingerprint256);
    await romeo2.jingle.close();
    await juliet2.jingle.close();
    await close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a JingleError from the peer's terminate ends a live stream unclean", async () => {
  const { romeo, juliet, close } = await lovers();
  const { mine, hers } = await session(romeo, juliet);
  await juliet.jingle.close(); // terminates every session with gone
  const myEnd = await mine.closed;
  assert.equal(myEnd.clean, false);
  assert.ok(
    causes(myEnd.error).some((e) =>
      e instanceof JingleError && e.condition === "gone"
    ),
    String(myEnd.error),
  );
  await hers.closed;
  await close();
});
