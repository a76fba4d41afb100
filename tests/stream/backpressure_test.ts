// Bounded memory and deadlines of one stream, driven byte by byte over the
// in-memory pair: the stanzas kept for a first subscriber, the stall
// deadline, the stanza and header deadlines, the idle deadline.

import assert from "node:assert/strict";
import { Session, type SessionOptions } from "../../src/stream/session.ts";
import { StreamError, TimeoutError } from "../../src/stream/errors.ts";
import { type End, pair } from "./_pair.ts";

const HEADER = "<?xml version='1.0'?><stream:stream xmlns='jabber:client'" +
  " xmlns:stream='http://etherx.jabber.org/streams' from='romeo@forza'" +
  " to='juliet@pronto' version='1.0'>";

const encoder = new TextEncoder();

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A recipient over a pair whose other end the test drives by hand. */
async function recipient(options: Partial<SessionOptions> = {}) {
  const [a, b] = pair();
  let reads = 0;
  const read = b.read.bind(b);
  b.read = () => {
    reads++;
    return read();
  };
  const session = new Session({
    role: "recipient",
    transport: b,
    from: "juliet@pronto",
    tls: "off",
    ...options,
  });
  const negotiated = session.negotiate();
  await send(a, HEADER);
  await negotiated;
  return { a, b, session, reads: () => reads };
}

function send(end: End, text: string): Promise<void> {
  return end.write(encoder.encode(text));
}

function message(i: number): string {
  return `<message xmlns='jabber:client' id='m${i}'><body>${
    "x".repeat(60)
  }</body></message>`;
}

Deno.test("stanzas nobody takes are kept up to receiveBufferLimit bytes, then reading stops; a subscriber gets all, in order", async () => {
  const { a, session, reads } = await recipient({ receiveBufferLimit: 1000 });
  for (let i = 0; i < 50; i++) await send(a, message(i));
  await wait(50);
  // Each message is one chunk of ~110 bytes: reading stopped near 1000.
  const before = reads();
  assert.ok(before <= 14, `${before} reads`);
  const ids: string[] = [];
  session.stanzas$.subscribe({
    next: (stanza) => ids.push(stanza.attrs.id!),
    error() {},
  });
  await wait(50);
  assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => `m${i}`));
  await send(a, "</stream:stream>");
  assert.deepEqual(await session.closed, { clean: true });
});

Deno.test("reading paused because nobody takes the stanzas ends the stream with resource-constraint at the stall deadline", async () => {
  const { a, b, session } = await recipient({
    receiveBufferLimit: 200,
    stallTimeoutMs: 150,
    closeTimeoutMs: 100,
  });
  for (let i = 0; i < 10; i++) await send(a, message(i));
  const started = Date.now();
  const result = await session.closed;
  assert.ok(Date.now() - started < 1000);
  assert.ok(result.error instanceof StreamError, String(result.error));
  assert.equal(result.error.condition, "resource-constraint");
  assert.equal(result.error.sent, true);
  assert.match(b.writtenText(), /<resource-constraint xmlns=/);
});

Deno.test("a stanza trickled byte by byte is cut at stanzaTimeoutMs with policy-violation, however often bytes come", async () => {
  const { a, session } = await recipient({
    stanzaTimeoutMs: 200,
    idleTimeoutMs: 10_000,
  });
  session.stanzas$.subscribe({ error() {} });
  await send(a, "<message xmlns='jabber:client'><body>");
  const started = Date.now();
  const trickle = setInterval(() => void send(a, "a").catch(() => {}), 20);
  try {
    const result = await session.closed;
    assert.ok(result.error instanceof StreamError, String(result.error));
    assert.equal(result.error.condition, "policy-violation");
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 2000, `${took} ms`);
  } finally {
    clearInterval(trickle);
  }
});

Deno.test("the stanza deadline counts from the start of the stanza being read, not of an earlier one", async () => {
  const { a, session } = await recipient({ stanzaTimeoutMs: 600 });
  const ids: string[] = [];
  session.stanzas$.subscribe({
    next: (stanza) => ids.push(stanza.attrs.id!),
    error() {},
  });
  const open = "<message xmlns='jabber:client' id='";
  // One stanza in two parts 50 ms apart, then, 300 ms later, another
  // that takes 400 ms: neither takes 600 ms, though the second ends 750 ms
  // after the first began.
  await send(a, `${open}m1'><body>`);
  await wait(50);
  await send(a, "hi</body></message>");
  await wait(300);
  await send(a, `${open}m2'><body>`);
  await wait(400);
  await send(a, "hi</body></message>");
  await wait(100);
  assert.equal(session.state, "open");
  assert.deepEqual(ids, ["m1", "m2"]);
  // A third, begun now and never finished, is cut 600 ms after it began.
  await send(a, `${open}m3'><body>`);
  const third = Date.now();
  const result = await session.closed;
  assert.ok(result.error instanceof StreamError, String(result.error));
  assert.equal(result.error.condition, "policy-violation");
  const took = Date.now() - third;
  assert.ok(took >= 500 && took < 3000, `${took} ms`);
});

Deno.test("the idle deadline counts complete stanzas and white space, not the bytes of a stanza", async () => {
  const { a, session } = await recipient({
    idleTimeoutMs: 200,
    stanzaTimeoutMs: 10_000,
  });
  session.stanzas$.subscribe({ error() {} });
  // White space keepalives and whole stanzas keep it open...
  for (let i = 0; i < 8; i++) {
    await send(a, i % 2 === 0 ? " " : message(i));
    await wait(60);
  }
  assert.equal(session.state, "open");
  // ... a trickled stanza does not.
  await send(a, "<message xmlns='jabber:client'><body>");
  const trickle = setInterval(() => void send(a, "a").catch(() => {}), 40);
  try {
    const result = await session.closed;
    assert.ok(result.error instanceof StreamError, String(result.error));
    assert.equal(result.error.condition, "connection-timeout");
  } finally {
    clearInterval(trickle);
  }
});

Deno.test("a peer that says nothing, or trickles its header, is cut at headerTimeoutMs", async () => {
  for (const header of ["", "<stream:stream xmlns='jabber:client'"]) {
    const [a, b] = pair();
    const session = new Session({
      role: "recipient",
      transport: b,
      from: "juliet@pronto",
      tls: "off",
      headerTimeoutMs: 100,
    });
    const negotiated = session.negotiate();
    if (header !== "") await send(a, header);
    await assert.rejects(
      negotiated,
      (error) =>
        error instanceof TimeoutError && /stream header/.test(error.message),
    );
    assert.match(b.writtenText(), /<connection-timeout xmlns=/);
    assert.equal(b.closed, true);
  }
});
