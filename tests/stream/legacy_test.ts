// Session with `legacy: true` (src/stream/legacy.ts) over an in-memory
// pair, one end scripted byte by byte: what it tolerates, and that each
// tolerance stays off without it, or under a TLS policy that forbids it.

import assert from "node:assert/strict";
import { lastValueFrom, toArray } from "rxjs";
import { Session, type SessionOptions } from "../../src/stream/session.ts";
import { NegotiationError, StreamError } from "../../src/stream/errors.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { type End, fakeTlsPair, pair } from "./_pair.ts";

const STREAMS = "http://etherx.jabber.org/streams";
const encoder = new TextEncoder();

/** An initiator's header, version 1.0 or none. */
function header(version: boolean): string {
  return `<stream:stream xmlns='jabber:client' xmlns:stream='${STREAMS}'` +
    ` from='romeo@forza' to='juliet@pronto'${version ? " version='1.0'" : ""}>`;
}

const MESSAGE = "<message to='juliet@pronto'><body>hi</body></message>";

function write(end: End, text: string): Promise<void> {
  return end.write(encoder.encode(text));
}

/** A recipient over a pair; the test writes the initiator's side. */
function recipient(options: Partial<SessionOptions>, tls = false) {
  const [a, b] = tls ? fakeTlsPair() : pair();
  const session = new Session({
    role: "recipient",
    transport: b,
    from: "juliet@pronto",
    tls: "off",
    ...options,
  });
  return { session, a, b };
}

Deno.test("Session with legacy ignores an initiator's empty <stream:features/> once; without legacy it is unsupported-stanza-type", async () => {
  const legacy = recipient({ legacy: true });
  const opened = legacy.session.negotiate();
  await write(legacy.a, header(true) + "<stream:features/>" + MESSAGE);
  await opened;
  const got = lastValueFrom(legacy.session.stanzas$.pipe(toArray()));
  await write(legacy.a, "</stream:stream>");
  assert.deepEqual((await got).map((s) => s.name), ["message"]);
  assert.deepEqual(await legacy.session.closed, { clean: true });

  const twice = recipient({ legacy: true });
  const negotiated = twice.session.negotiate();
  await write(twice.a, header(true) + "<stream:features/>" + MESSAGE);
  await negotiated;
  twice.session.stanzas$.subscribe({ error() {} });
  await write(twice.a, "<stream:features/>");
  const second = await twice.session.closed;
  assert.ok(second.error instanceof StreamError);
  assert.equal(second.error.condition, "unsupported-stanza-type");

  const strict = recipient({});
  const refused = strict.session.negotiate();
  await write(strict.a, header(true) + "<stream:features/>");
  await refused;
  strict.session.stanzas$.subscribe({ error() {} });
  const result = await strict.session.closed;
  assert.ok(result.error instanceof StreamError);
  assert.equal(result.error.condition, "unsupported-stanza-type");
  assert.match(strict.b.writtenText(), /<unsupported-stanza-type /);
});

Deno.test("Session with legacy ends an open stream the peer hangs up on with { clean: false } and no error; without legacy with a TransportError", async () => {
  for (const legacy of [true, false]) {
    const { session, a } = recipient({ legacy });
    const opened = session.negotiate();
    await write(a, header(true) + MESSAGE);
    await opened;
    const got = lastValueFrom(session.stanzas$.pipe(toArray())).catch((e) => e);
    a.close();
    const result = await session.closed;
    if (legacy) {
      assert.deepEqual(result, { clean: false });
      assert.deepEqual((await got).map((s: { name: string }) => s.name), [
        "message",
      ]);
    } else {
      assert.equal(result.clean, false);
      assert.ok(result.error instanceof TransportError);
      assert.ok((await got) instanceof TransportError);
    }
  }
});

Deno.test("Session with legacy still fails a negotiation the peer hangs up on", async () => {
  const { session, a } = recipient({ legacy: true, tls: "required" }, true);
  const refused = session.negotiate().catch((e) => e);
  await write(a, header(true));
  a.close();
  assert.ok((await refused) instanceof TransportError);
});

Deno.test("Session with legacy ends clean when the peer's close is followed by a hang-up that fails our answer", async () => {
  for (const legacy of [true, false]) {
    const { session, a, b } = recipient({ legacy });
    const opened = session.negotiate();
    await write(a, header(true));
    await opened;
    // Our answer to its close finds the connection gone.
    b.write = () => Promise.reject(new TransportError("Broken pipe (test)"));
    await write(a, "</stream:stream>");
    const result = await session.closed;
    if (legacy) assert.deepEqual(result, { clean: true });
    else assert.ok(result.error instanceof TransportError);
  }
});

Deno.test('Session takes a header without version under legacy with tls "optional", and without legacy or under "required" refuses it', async () => {
  const cases: [Partial<SessionOptions>, boolean][] = [
    [{ legacy: true, tls: "optional" }, true],
    [{ tls: "optional" }, false],
    [{ legacy: true, tls: "required" }, false],
  ];
  for (const [options, takes] of cases) {
    const { session, a, b } = recipient(options, true);
    const negotiated = session.negotiate().catch((e) => e);
    await write(a, header(false));
    const outcome = await negotiated;
    if (takes) {
      assert.equal(outcome, undefined);
      assert.doesNotMatch(
        b.writtenText(),
        /features|<stream:stream[^>]*version=/,
      );
      assert.equal(session.tls, undefined);
      await write(a, "</stream:stream>");
      assert.deepEqual(await session.closed, { clean: true });
    } else {
      assert.ok(outcome instanceof StreamError, String(outcome));
      assert.equal(outcome.condition, "unsupported-version");
    }
  }
  // The initiator's side: a recipient that answers without version.
  for (const [options, takes] of cases) {
    const [a, b] = fakeTlsPair();
    const initiator = new Session({
      role: "initiator",
      transport: a,
      to: "romeo@forza",
      ...options,
    });
    const negotiated = initiator.negotiate().catch((e) => e);
    await write(
      b,
      `<stream:stream xmlns='jabber:client' xmlns:stream='${STREAMS}' from='romeo@forza'>`,
    );
    const outcome = await negotiated;
    if (takes) {
      assert.equal(outcome, undefined);
      assert.equal(initiator.state, "open");
      await write(b, "</stream:stream>");
      assert.deepEqual(await initiator.closed, { clean: true });
    } else {
      assert.ok(outcome instanceof NegotiationError, String(outcome));
      assert.equal(outcome.feature, "starttls");
    }
  }
});

Deno.test("Session with legacy under the default policy still stops an initiator whose peer offers no STARTTLS (STRIPTLS)", async () => {
  const [a, b] = fakeTlsPair();
  const initiator = new Session({
    role: "initiator",
    transport: a,
    to: "romeo@forza",
    legacy: true,
  });
  const negotiated = initiator.negotiate().catch((e) => e);
  await write(
    b,
    `<stream:stream xmlns='jabber:client' xmlns:stream='${STREAMS}' from='romeo@forza' id='x' version='1.0'><stream:features/>`,
  );
  const error = await negotiated;
  assert.ok(error instanceof NegotiationError);
  assert.equal(error.feature, "starttls");
  assert.doesNotMatch(a.writtenText(), /<message/);
});

Deno.test('Session as recipient under tls "optional" takes STARTTLS, or a first stanza larger than the pre-auth limit', async () => {
  const tls = recipient({ tls: "optional" }, true);
  const upgraded = tls.session.negotiate();
  await write(
    tls.a,
    header(true) + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>",
  );
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.match(tls.b.writtenText(), /<proceed /);
  await write(tls.a, header(true));
  await upgraded;
  assert.ok(tls.session.tls !== undefined);
  const closing = tls.session.close();
  await write(tls.a, "</stream:stream>");
  assert.deepEqual(await closing, { clean: true });

  const plain = recipient({ tls: "optional" }, true);
  const opened = plain.session.negotiate();
  const big = `<message to='juliet@pronto'><body>${
    "x".repeat(20_000)
  }</body></message>`;
  await write(plain.a, header(true) + big);
  await opened;
  assert.equal(plain.session.tls, undefined);
  const got = lastValueFrom(plain.session.stanzas$.pipe(toArray()));
  await write(plain.a, "</stream:stream>");
  const [first] = await got;
  assert.equal(first?.getChildText("body")?.length, 20_000);
});
