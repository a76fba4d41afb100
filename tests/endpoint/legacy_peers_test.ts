// initiate() and listen() with `legacy: true` against scripted peers that
// behave on the wire as libpurple's Bonjour, Gajim's zeroconf and
// telepathy-salut do, each as initiator and as recipient, over loopback TCP;
// and the same option with peers that can do TLS, and under the default TLS
// policy, which still refuses a peer that cannot.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import {
  type E2EListener,
  type E2EStream,
  initiate,
  listen,
  type ListenOptions,
} from "../../src/e2e.ts";
import { NegotiationError, StreamError } from "../../src/stream/errors.ts";
import { message } from "../../src/stanza/mod.ts";
import type { Element } from "../../src/xml/element.ts";
import { certificate } from "../transport/_helpers.ts";
import {
  type Client,
  headerOf,
  messageOf,
  Wire,
  WireListener,
} from "./_legacy_peers.ts";

const US = "juliet@pronto";
const PEER = "romeo@forza";

/** What a stream delivers, one at a time, and how `stanzas$` ended. */
function inbox(stream: E2EStream) {
  const items: Element[] = [];
  let wake: (() => void) | undefined;
  const ended = new Promise<Error | "complete">((resolve) =>
    stream.stanzas$.subscribe({
      next(stanza) {
        items.push(stanza);
        wake?.();
      },
      complete: () => resolve("complete"),
      error: (error) => resolve(error),
    })
  );
  return {
    ended,
    async next(): Promise<Element> {
      while (items.length === 0) {
        await new Promise<void>((resolve) => wake = resolve);
      }
      return items.shift()!;
    },
  };
}

/** Reads one stream header (after an optional XML declaration). */
async function readHeader(wire: Wire): Promise<string> {
  const upTo = await wire.until("<stream:stream");
  assert.ok(upTo !== null, "a stream header came");
  const rest = await wire.until(">");
  assert.ok(rest !== null, "the header ended");
  return "<stream:stream" + rest;
}

async function ourListener(
  extra: Partial<ListenOptions> = {},
): Promise<E2EListener> {
  const cert = await certificate("pronto");
  return listen({
    from: US,
    certificate: { cert: cert.certPem, key: cert.keyPem },
    tls: "optional",
    legacy: true,
    ...extra,
  });
}

/**
 * Messages both ways: theirs (sent first, as a peer that connects to say
 * something does) reaches us, ours reaches them.
 */
async function exchange(
  client: Client,
  wire: Wire,
  opened: Promise<E2EStream | null>,
): Promise<{ stream: E2EStream; box: ReturnType<typeof inbox> }> {
  await wire.write(messageOf(client, PEER, US, "Wherefore art thou?"));
  const stream = (await opened)!;
  assertPlaintextInfo(stream);
  const box = inbox(stream);
  const got = await box.next();
  assert.equal(got.name, "message");
  assert.equal(got.getChildText("body"), "Wherefore art thou?");
  await stream.send(message({ to: PEER, type: "chat", body: "Here & now" }));
  const theirs = await wire.until("</message>");
  assert.ok(theirs !== null);
  assert.match(theirs, /<body>Here &amp; now<\/body>/);
  return { stream, box };
}

function assertPlaintextInfo(stream: E2EStream): void {
  assert.equal(stream.info.encrypted, false);
  assert.equal(stream.info.authenticated, false);
  assert.equal(stream.info.tls, undefined);
}

// --------------------------------------------------------------- libpurple

/**
 * Our initiate() with `legacy: true` and TLS optional, dialling a scripted
 * recipient that has just accepted (and read nothing yet).
 */
async function dialLegacy() {
  const peer = await WireListener.open();
  const opening = initiate({
    hostname: "127.0.0.1",
    port: peer.port,
    from: US,
    to: PEER,
    tls: "optional",
    legacy: true,
  });
  return { peer, opening, wire: await peer.accept() };
}

Deno.test("listen() with legacy takes libpurple as initiator: no version, no features, messages both ways, its close then hang-up ends clean", async () => {
  const listener = await ourListener();
  const accepted = listener.accept();
  const purple = await Wire.connect(listener.addr.port);
  await purple.write(headerOf("libpurple", PEER, US));
  const ours = await readHeader(purple);
  assert.doesNotMatch(ours, /version=/);
  assert.match(ours, new RegExp(`from='${US}' to='${PEER}'`));
  const { stream, box } = await exchange("libpurple", purple, accepted);
  assert.equal(stream.info.peer?.version, undefined);
  assert.equal(stream.info.peer?.id, undefined);
  assert.equal(stream.info.peerAddress, PEER);
  // bonjour_jabber_close_conversation(): the close tag, and close() at once.
  await purple.write("</stream:stream>");
  await purple.hangUp();
  assert.deepEqual(await stream.closed, { clean: true });
  assert.equal(await box.ended, "complete");
  assert.doesNotMatch(purple.pending, /features|stream:error/);
  await listener.close();
});

Deno.test("initiate() with legacy opens a stream to libpurple as recipient, which answers our header without version, and closes in order", async () => {
  const { peer, opening, wire: purple } = await dialLegacy();
  // It answers only once our header came.
  assert.match(await readHeader(purple), /version='1.0'/);
  await purple.write(headerOf("libpurple", PEER, US));
  const { stream, box } = await exchange("libpurple", purple, opening);
  assert.equal(stream.info.id, undefined);
  const closing = stream.close();
  assert.ok(await purple.until("</stream:stream>"));
  // bonjour_jabber_stream_ended(): its own close tag, then the socket goes.
  await purple.write("</stream:stream>");
  await purple.hangUp();
  assert.deepEqual(await closing, { clean: true });
  assert.equal(await box.ended, "complete");
  await peer.close();
});

// ------------------------------------------------------------------- Gajim

Deno.test("listen() with legacy takes Gajim as initiator, which ignores our offer of STARTTLS and hangs up without a close: no error", async () => {
  const listener = await ourListener();
  const accepted = listener.accept();
  const gajim = await Wire.connect(listener.addr.port);
  await gajim.write(headerOf("gajim", PEER, US));
  assert.match(await readHeader(gajim), /version='1.0'/);
  const features = await gajim.until("</stream:features>");
  assert.match(
    features ?? "",
    /<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'\/>/,
  );
  const { stream, box } = await exchange("gajim", gajim, accepted);
  // Idle for 30 s, Gajim shuts the socket; it never sends </stream:stream>.
  await gajim.hangUp();
  assert.deepEqual(await stream.closed, { clean: false });
  assert.equal(await box.ended, "complete");
  assert.equal(stream.state, "closed");
  await listener.close();
});

Deno.test("initiate() with legacy opens a stream to Gajim as recipient, with its empty features, and our close ends without error when it hangs up", async () => {
  const { peer, opening, wire: gajim } = await dialLegacy();
  await readHeader(gajim);
  await gajim.write(headerOf("gajim", PEER, US) + "<stream:features/>");
  const { stream, box } = await exchange("gajim", gajim, opening);
  assert.equal(stream.info.id, "gajim1");
  const closing = stream.close();
  assert.ok(await gajim.until("</stream:stream>"));
  await gajim.hangUp(); // and no close tag of its own
  assert.deepEqual(await closing, { clean: false });
  assert.equal(await box.ended, "complete");
  await peer.close();
});

// --------------------------------------------------------- telepathy-salut

Deno.test("listen() with legacy takes telepathy-salut as initiator: its own empty features are ignored, and its close is answered", async () => {
  const listener = await ourListener();
  const accepted = listener.accept();
  const salut = await Wire.connect(listener.addr.port);
  await salut.write(headerOf("salut", PEER, US));
  await readHeader(salut);
  // wocky_ll_connector: once our header came, features, expecting nothing.
  await salut.write("<stream:features/>");
  const { stream, box } = await exchange("salut", salut, accepted);
  await salut.write("</stream:stream>");
  const rest = await salut.until("</stream:stream>");
  assert.ok(rest !== null);
  assert.doesNotMatch(rest, /stream:error|unsupported-stanza-type/);
  assert.deepEqual(await stream.closed, { clean: true });
  assert.equal(await box.ended, "complete");
  await salut.hangUp();
  await listener.close();
});

Deno.test("initiate() with legacy opens a stream to telepathy-salut as recipient, and closes in order", async () => {
  const { peer, opening, wire: salut } = await dialLegacy();
  await readHeader(salut);
  await salut.write(headerOf("salut", PEER, US) + "<stream:features/>");
  const { stream, box } = await exchange("salut", salut, opening);
  const closing = stream.close();
  assert.ok(await salut.until("</stream:stream>"));
  await salut.write("</stream:stream>");
  assert.deepEqual(await closing, { clean: true });
  await salut.hangUp();
  assert.equal(await box.ended, "complete");
  await peer.close();
});

// ------------------------------------------------- peers that can do TLS

Deno.test("legacy changes nothing for peers that offer STARTTLS: the stream is encrypted, and authenticated where the certificate was checked", async () => {
  const cert = await certificate("pronto");
  const listener = await ourListener();
  const accepted = listener.accept();
  const traced: [boolean, boolean][] = [];
  const romeo = await initiate({
    hostname: "127.0.0.1",
    port: listener.addr.port,
    from: PEER,
    to: US,
    tls: "optional",
    legacy: true,
    trust: { pinnedFingerprint256: cert.fingerprint256 },
    trace: (_entry, info) => traced.push([info.encrypted, info.authenticated]),
  });
  const juliet = (await accepted)!;
  assert.equal(romeo.info.encrypted, true);
  assert.equal(romeo.info.authenticated, true);
  // The trace tells the same as the stream, from the first byte on.
  assert.deepEqual(traced[0], [false, false]);
  assert.deepEqual(traced.at(-1), [true, true]);
  assert.equal(romeo.info.peer?.version, "1.0");
  assert.equal(juliet.info.encrypted, true);
  // No client certificate was asked for: who the initiator is, it only said.
  assert.equal(juliet.info.authenticated, false);
  const got = firstValueFrom(juliet.stanzas$);
  await romeo.send(message({ to: US, body: "under TLS" }));
  assert.equal((await got).getChildText("body"), "under TLS");
  const closed = juliet.closed;
  assert.deepEqual(await romeo.close(), { clean: true });
  assert.deepEqual(await closed, { clean: true });
  await listener.close();
});

// -------------------------------------------- the default policy refuses

Deno.test("listen() with legacy under the default TLS policy refuses libpurple with unsupported-version, told on failures$", async () => {
  const listener = await ourListener({ tls: "required" });
  const failure = firstValueFrom(listener.failures$);
  void listener.accept();
  const purple = await Wire.connect(listener.addr.port);
  await purple.write(headerOf("libpurple", PEER, US));
  const answer = await purple.rest();
  assert.match(answer, /<unsupported-version xmlns=/);
  const { error } = await failure;
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "unsupported-version");
  assert.equal(error.sent, true);
  assert.equal(listener.stats.failed, 1);
  await purple.hangUp();
  await listener.close();
});

Deno.test("listen() with legacy under the default TLS policy refuses a stanza from Gajim before STARTTLS with policy-violation", async () => {
  const listener = await ourListener({ tls: "required" });
  const failure = firstValueFrom(listener.failures$);
  void listener.accept();
  const gajim = await Wire.connect(listener.addr.port);
  await gajim.write(headerOf("gajim", PEER, US));
  assert.ok(await gajim.until("</stream:features>"));
  await gajim.write(messageOf("gajim", PEER, US, "in the clear"));
  assert.match(await gajim.rest(), /<policy-violation xmlns=/);
  const { error } = await failure;
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "policy-violation");
  await gajim.hangUp();
  await listener.close();
});

for (const client of ["libpurple", "gajim", "salut"] as const) {
  Deno.test(`initiate() with legacy under the default TLS policy stops at ${client} as recipient with a NegotiationError`, async () => {
    const peer = await WireListener.open();
    const opening = initiate({
      hostname: "127.0.0.1",
      port: peer.port,
      from: US,
      to: PEER,
      legacy: true,
    }).catch((error) => error);
    const wire = await peer.accept();
    await readHeader(wire);
    await wire.write(
      headerOf(client, PEER, US) +
        (client === "libpurple" ? "" : "<stream:features/>"),
    );
    const error = await opening;
    assert.ok(error instanceof NegotiationError, String(error));
    assert.equal(error.feature, "starttls");
    await wire.rest(); // our close tag, then we hang up
    await wire.hangUp();
    await peer.close();
  });
}

Deno.test('listen() under tls "optional" answers an iq that comes as the initiator\'s first stanza, and delivers the message after it', async () => {
  const listener = await ourListener();
  const accepted = listener.accept();
  const gajim = await Wire.connect(listener.addr.port);
  await gajim.write(headerOf("gajim", PEER, US));
  assert.ok(await gajim.until("</stream:features>"));
  await gajim.write(
    `<iq type="get" id="ask1" to="${US}"><query xmlns="urn:example:nobody"/></iq>` +
      messageOf("gajim", PEER, US, "after the iq"),
  );
  const stream = (await accepted)!;
  const box = inbox(stream);
  assert.equal((await box.next()).getChildText("body"), "after the iq");
  const reply = await gajim.until("</iq>");
  assert.match(reply ?? "", /<iq [^>]*id='ask1'/);
  assert.match(reply ?? "", /type='error'/);
  await gajim.hangUp();
  assert.deepEqual(await stream.closed, { clean: false });
  assert.equal(await box.ended, "complete");
  await listener.close();
});
