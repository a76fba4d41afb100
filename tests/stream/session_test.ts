import assert from "node:assert/strict";
import { firstValueFrom, lastValueFrom, toArray } from "rxjs";
import { Session, type SessionOptions } from "../../src/stream/session.ts";
import {
  NegotiationError,
  STREAM_ERROR_CONDITIONS,
  StreamError,
  TimeoutError,
} from "../../src/stream/errors.ts";
import { Element } from "../../src/xml/element.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { fakeTlsPair, pair } from "./_pair.ts";
import { within } from "../transport/_helpers.ts";

const CLIENT = "jabber:client";

function message(n: number): Element {
  return new Element("message", CLIENT, { id: `m${n}` }, [
    new Element("body", CLIENT, {}, [`stanza ${n} & more`]),
  ]);
}

/** A message of about 1 KiB. */
const BIG = new Element("message", CLIENT, { id: "x" }, [
  new Element("body", CLIENT, {}, ["y".repeat(1000)]),
]);

function sessions(
  extra: Partial<SessionOptions> = {},
  recipientExtra: Partial<SessionOptions> = {},
  makePair = pair,
) {
  const [a, b] = makePair();
  const initiator = new Session({
    role: "initiator",
    transport: a,
    from: "romeo@forza",
    to: "juliet@pronto",
    tls: "off",
    ...extra,
  });
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "juliet@pronto",
    tls: "off",
    ...recipientExtra,
  });
  return { initiator, recipient, a, b };
}

/** Both ends over a pair that pretends to start TLS, with TLS required. */
function tlsSessions() {
  return sessions({ tls: "required" }, { tls: "required" }, fakeTlsPair);
}

Deno.test("Session negotiates a plaintext stream by name, with headers both ways", async () => {
  const { initiator, recipient } = sessions();
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  assert.equal(initiator.state, "open");
  assert.equal(recipient.peerHeader?.from, "romeo@forza");
  assert.equal(recipient.peerHeader?.to, "juliet@pronto");
  assert.equal(initiator.peerHeader?.from, "juliet@pronto");
  assert.equal(initiator.peerHeader?.to, "romeo@forza");
  assert.equal(initiator.peerHeader?.version, "1.0");
  assert.ok(initiator.id && initiator.id === recipient.id);
  assert.ok(initiator.id.length >= 20);
  const [i, r] = await Promise.all([initiator.close(), recipient.closed]);
  assert.deepEqual(i, { clean: true });
  assert.deepEqual(r, { clean: true });
});

Deno.test("Session refuses a transport without TLS unless TLS is turned off by name", () => {
  const [a] = pair();
  assert.throws(
    () => new Session({ role: "initiator", transport: a }),
    NegotiationError,
  );
});

Deno.test("Session loses nothing: 10,000 stanzas each way, then an immediate close", async () => {
  const { initiator, recipient } = sessions();
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  const atRecipient = lastValueFrom(recipient.stanzas$.pipe(toArray()));
  const atInitiator = lastValueFrom(initiator.stanzas$.pipe(toArray()));
  const N = 10_000;
  for (let n = 0; n < N; n++) {
    initiator.send(message(n));
    recipient.send(message(n));
  }
  const closed = initiator.close();
  const [got1, got2, result] = await Promise.all([
    atRecipient,
    atInitiator,
    closed,
  ]);
  assert.deepEqual(result, { clean: true });
  assert.deepEqual(await recipient.closed, { clean: true });
  for (const got of [got1, got2]) {
    assert.equal(got.length, N);
    got.forEach((stanza, n) => assert.equal(stanza.attrs.id, `m${n}`));
  }
});

Deno.test("Session closes cleanly when both ends close at once", async () => {
  const { initiator, recipient } = sessions();
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  const [x, y] = await Promise.all([initiator.close(), recipient.close()]);
  assert.deepEqual([x, y], [{ clean: true }, { clean: true }]);
  assert.deepEqual(await initiator.close(), { clean: true }); // idempotent
});

Deno.test("Session ends with a TimeoutError when the peer never answers the close", async () => {
  const { initiator, recipient, b } = sessions({ closeTimeoutMs: 50 }, {
    closeTimeoutMs: 50,
  });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  recipient.stanzas$.subscribe({ error() {} });
  // The recipient's answers never leave it.
  b.write = () => new Promise(() => {});
  const result = await initiator.close();
  assert.equal(result.clean, false);
  assert.ok(result.error instanceof TimeoutError);
  assert.equal(result.error.operation, "close");
  b.close();
  assert.equal((await recipient.closed).clean, false);
});

Deno.test("Session answers bad XML with a not-well-formed stream error", async () => {
  const { initiator, recipient, a } = sessions();
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  const errored = firstValueFrom(recipient.stanzas$).catch((e) => e);
  const seen = firstValueFrom(initiator.stanzas$).catch((e) => e);
  await a.write(new TextEncoder().encode("<message><body></message>"));
  const error = await errored;
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "not-well-formed");
  assert.equal(error.sent, true);
  const received = await seen;
  assert.ok(received instanceof StreamError);
  assert.equal(received.condition, "not-well-formed");
  assert.equal(received.sent, false);
  assert.equal((await initiator.closed).clean, false);
});

Deno.test("Session refuses a header in the wrong stream namespace with invalid-namespace", async () => {
  const [a, b] = pair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    tls: "off",
  });
  const negotiated = recipient.negotiate().catch((e) => e);
  await a.write(
    new TextEncoder().encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream='urn:wrong' version='1.0'>",
    ),
  );
  const error = await negotiated;
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "invalid-namespace");
  const sent = b.writtenText();
  assert.match(
    sent,
    /<invalid-namespace xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/,
  );
  a.close();
});

Deno.test("Session stops an initiator whose peer offers no STARTTLS (STRIPTLS)", async () => {
  const [a, b] = pair();
  // An initiator that requires TLS, on a transport that claims it can do it.
  Object.defineProperty(a, "canStartTls", { value: true });
  const initiator = new Session({
    role: "initiator",
    transport: a,
    to: "pronto",
  });
  const recipient = new Session({
    role: "recipient",
    transport: b,
    tls: "off",
  });
  const [i] = await Promise.all([
    initiator.negotiate().catch((e) => e),
    recipient.negotiate().catch((e) => e),
  ]);
  assert.ok(i instanceof NegotiationError);
  assert.equal(i.feature, "starttls");
  await recipient.closed;
});

Deno.test("Session turns every received stream error condition into a typed StreamError", async () => {
  for (const condition of STREAM_ERROR_CONDITIONS) {
    const { initiator, recipient, b } = sessions();
    await Promise.all([initiator.negotiate(), recipient.negotiate()]);
    const seen = firstValueFrom(initiator.stanzas$).catch((e) => e);
    await b.write(
      new TextEncoder().encode(
        `<stream:error><${condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>` +
          `<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>why</text></stream:error></stream:stream>`,
      ),
    );
    const error = await seen;
    assert.ok(error instanceof StreamError, condition);
    assert.equal(error.condition, condition);
    assert.equal(error.sent, false);
    assert.equal(error.text, "why");
    recipient.stanzas$.subscribe({ error() {} });
    await Promise.all([initiator.closed, recipient.closed]);
  }
});

Deno.test("Session accepts a header without version only in plaintext, and then sends no features", async () => {
  const [a, b] = pair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    tls: "off",
  });
  const negotiated = recipient.negotiate();
  await a.write(
    new TextEncoder().encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto'>",
    ),
  );
  await negotiated;
  const sent = b.writtenText();
  assert.doesNotMatch(sent, /features/);
  assert.doesNotMatch(sent, /<stream:stream[^>]*version=/);
  a.close();
  recipient.stanzas$.subscribe({ error() {} });
  await recipient.closed;

  const [c, d] = pair();
  Object.defineProperty(d, "canStartTls", { value: true });
  const strict = new Session({ role: "recipient", transport: d });
  const refused = strict.negotiate().catch((e) => e);
  await c.write(
    new TextEncoder().encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto'>",
    ),
  );
  const error = await refused;
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "unsupported-version");
  c.close();
});

Deno.test("Session negotiates STARTTLS, restarts with a new id, and offers no more features", async () => {
  const { initiator, recipient } = tlsSessions();
  const trace: string[] = [];
  initiator.trace$.subscribe((e) =>
    trace.push(`${e.direction} ${e.tls ? "tls" : "---"} ${e.text}`)
  );
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  assert.equal(initiator.tls?.protocol, "fake");
  assert.equal(recipient.tls?.protocol, "fake");
  const all = trace.join("\n");
  assert.match(
    all,
    /out --- .*<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'\/>/,
  );
  assert.match(
    all,
    /in --- .*<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'\/>/,
  );
  assert.match(all, /in tls .*<stream:features\/>/);
  const ids = [...all.matchAll(/ id='([^']+)'/g)].map((m) => m[1]);
  assert.equal(ids.length, 2);
  assert.notEqual(ids[0], ids[1]);
  await Promise.all([initiator.close(), recipient.closed]);
});

Deno.test("Session drops plaintext that comes after <starttls/> in the same chunk", async () => {
  const [a, b] = fakeTlsPair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
  });
  const negotiated = recipient.negotiate();
  const enc = new TextEncoder();
  await a.write(
    enc.encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>",
    ),
  );
  // <starttls/> and an injected stanza in one segment, as an attacker would.
  await a.write(
    enc.encode(
      "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message id='injected'><body>evil</body></message>",
    ),
  );
  await a.write(
    enc.encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>" +
        "<message id='after-tls'/>",
    ),
  );
  await negotiated;
  const first = await firstValueFrom(recipient.stanzas$);
  assert.equal(first.attrs.id, "after-tls");
  a.close();
  await recipient.closed;
});

Deno.test("Session refuses a stanza before a required STARTTLS with policy-violation", async () => {
  const [a, b] = fakeTlsPair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
  });
  const negotiated = recipient.negotiate().catch((e) => e);
  await a.write(
    new TextEncoder().encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>" +
        "<message><body>too early</body></message>",
    ),
  );
  const error = await negotiated;
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "policy-violation");
  a.close();
});

Deno.test("Session sends every stream error condition, and the peer reads the same one", async () => {
  for (const condition of STREAM_ERROR_CONDITIONS) {
    const { initiator, recipient } = sessions();
    await Promise.all([initiator.negotiate(), recipient.negotiate()]);
    const seen = firstValueFrom(initiator.stanzas$).catch((e) => e);
    recipient.stanzas$.subscribe({ error() {} });
    const ours = await recipient.error(condition, `because ${condition}`);
    assert.equal(ours.clean, false);
    assert.ok(ours.error instanceof StreamError && ours.error.sent);
    const theirs = await seen;
    assert.ok(theirs instanceof StreamError, condition);
    assert.equal(theirs.condition, condition);
    assert.equal(theirs.sent, false);
    assert.equal(theirs.text, `because ${condition}`);
    await initiator.closed;
  }
});

Deno.test("Session stops the initiator with a NegotiationError when the peer answers <failure/>", async () => {
  const [a, b] = fakeTlsPair();
  const initiator = new Session({
    role: "initiator",
    transport: a,
    to: "pronto",
  });
  const negotiated = initiator.negotiate().catch((e) => e);
  const enc = new TextEncoder();
  await b.write(
    enc.encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='pronto' id='1' version='1.0'>" +
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
    ),
  );
  await b.read(); // the header
  await b.read(); // <starttls/>
  await b.write(
    enc.encode(
      "<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>",
    ),
  );
  const error = await negotiated;
  assert.ok(error instanceof NegotiationError);
  assert.equal(error.feature, "starttls");
  assert.match(error.message, /refused/);
  b.close();
});

Deno.test("Session writes no XML declaration when asked not to, and xml:lang when given", async () => {
  const { initiator, recipient, a } = sessions({
    declaration: false,
    lang: "en",
  });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  const sent = new TextDecoder().decode(a.written[0]!);
  assert.match(sent, /^<stream:stream [^>]*xml:lang='en'/);
  await Promise.all([initiator.close(), recipient.closed]);
});

Deno.test("Session sends whitespace keepalives while idle, and they disturb nothing", async () => {
  const { initiator, recipient, a } = sessions({ keepaliveMs: 30 });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  await new Promise((r) => setTimeout(r, 120));
  const sent = a.writtenText();
  assert.match(sent, /> {2,}$/); // several single-space keepalives after the header
  const got = firstValueFrom(recipient.stanzas$);
  await initiator.send(message(1));
  assert.equal((await got).attrs.id, "m1");
  await Promise.all([initiator.close(), recipient.closed]);
});

Deno.test("Session ends a silent peer's stream with connection-timeout", async () => {
  const { initiator, recipient } = sessions({}, { idleTimeoutMs: 60 });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  const seen = firstValueFrom(initiator.stanzas$).catch((e) => e);
  const result = await recipient.closed;
  assert.equal(result.clean, false);
  assert.ok(result.error instanceof StreamError);
  assert.equal(result.error.condition, "connection-timeout");
  const received = await seen;
  assert.ok(received instanceof StreamError);
  assert.equal(received.condition, "connection-timeout");
});

Deno.test("Session holds sends past its limit while the peer does not read, then ends the stream with connection-timeout at the stall deadline", async () => {
  const { initiator, recipient, a } = sessions({
    sendQueueLimit: 64 * 1024,
    stallTimeoutMs: 200,
    closeTimeoutMs: 100,
  });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  // The transport stops taking bytes, as a peer that stops reading would.
  let handed = 0;
  a.write = (bytes) => {
    handed += bytes.length;
    return new Promise(() => {});
  };
  const results: Promise<unknown>[] = [];
  for (let i = 0; i < 1000; i++) {
    results.push(initiator.send(BIG).then(() => "sent", (e) => e));
  }
  await new Promise((r) => setTimeout(r, 20));
  // One batch went to the transport; the rest waits as text, none refused.
  assert.ok(handed > 0 && handed <= 64 * 1024 + 2048, `${handed} bytes`);
  assert.equal(initiator.state, "open");
  recipient.stanzas$.subscribe({ error() {} });
  initiator.stanzas$.subscribe({ error() {} });
  const result = await initiator.closed;
  assert.ok(result.error instanceof StreamError, String(result.error));
  assert.equal(result.error.condition, "connection-timeout");
  assert.equal(result.error.sent, true);
  // Every send settled, none as sent: the stream's error, nothing silent.
  for (const r of await Promise.all(results)) {
    assert.equal(r, result.error);
  }
  a.close();
  await recipient.closed;
});

Deno.test("a peer that reads nothing is cut at the stall deadline, not held until the close deadline as well", async () => {
  const { initiator, recipient, a } = sessions({
    sendQueueLimit: 4096,
    stallTimeoutMs: 200,
    closeTimeoutMs: 60_000,
  });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  a.write = () => new Promise(() => {}); // a peer that stopped reading
  recipient.stanzas$.subscribe({ error() {} });
  initiator.stanzas$.subscribe({ error() {} });
  // More than the send queue takes: the stream stalls on the peer.
  const sends = Array.from(
    { length: 20 },
    () => initiator.send(BIG).catch((e) => e),
  );
  const started = Date.now();
  // Still open 5 s after the stall deadline rejects.
  const closed = await within(5_000, initiator.closed);
  assert.ok(closed.error instanceof StreamError, String(closed.error));
  assert.equal(closed.error.condition, "connection-timeout");
  assert.ok(Date.now() - started >= 150, "cut before the stall deadline");
  assert.equal(a.closed, true, "the connection is freed");
  await Promise.all(sends);
  await recipient.closed;
});

Deno.test("close() while negotiating abandons it: negotiate() rejects with a NegotiationError, the peer gets our close tag", async () => {
  // A peer that never answers: without close(), only the deadline would end it.
  const [a, b] = pair();
  const initiator = new Session({
    role: "initiator",
    transport: a,
    to: "pronto",
    tls: "off",
  });
  const negotiated = initiator.negotiate().catch((e) => e);
  await new Promise((r) => setTimeout(r, 0));
  const result = await initiator.close();
  const error = await negotiated;
  assert.ok(error instanceof NegotiationError);
  assert.equal(error.feature, "close");
  assert.equal(result.clean, false);
  assert.equal(result.error, error);
  assert.equal(initiator.state, "closed");
  assert.match(a.writtenText(), /<stream:stream [^>]*><\/stream:stream>$/);
  b.close();
});

Deno.test("close() at any point of an honest negotiation ends both ends with a typed outcome, never a stanza-type error", async () => {
  for (const turns of [0, 1, 2, 3, 4, 6, 10]) {
    // STARTTLS and a restart to get through.
    const { initiator, recipient } = tlsSessions();
    const negotiated = initiator.negotiate().then(() => undefined, (e) => e);
    const theirs = recipient.negotiate().then(() => undefined, (e) => e);
    for (let i = 0; i < turns; i++) await new Promise((r) => setTimeout(r, 0));
    const result = await initiator.close();
    const error = await negotiated;
    if (error === undefined) assert.deepEqual(result, { clean: true });
    else {
      assert.ok(error instanceof NegotiationError, `${turns}: ${error}`);
      assert.equal(result.error, error);
    }
    const other = await theirs;
    assert.ok(
      other === undefined || other instanceof StreamError ||
        other instanceof TransportError,
      `${turns}: ${other}`,
    );
    const closed = await recipient.closed;
    assert.ok(
      closed.clean || !(closed.error instanceof StreamError) ||
        closed.error.condition !== "unsupported-stanza-type",
    );
  }
});
