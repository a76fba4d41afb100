// E2EStream over the in-memory pair: request() settles every promise it
// makes, and inbound iq requests are answered a bounded number at a time.
// No test installs an unhandledrejection handler: Deno's default (fail the
// test) is the check that nothing is left behind.

import { plainStreams } from "./_streams.ts";
import assert from "node:assert/strict";
import type { SessionOptions } from "../../src/stream/session.ts";
import {
  LimitError,
  StreamClosedError,
  StreamError,
  TimeoutError,
} from "../../src/stream/errors.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { iq, iqResult, xml } from "../../src/stanza/mod.ts";
import type { Element } from "../../src/xml/element.ts";

function ping(id?: string): Element {
  return iq(
    { type: "get", ...(id ? { id } : {}) },
    xml("ping", { xmlns: "urn:xmpp:ping" }),
  );
}

/** Romeo (an E2EStream) and Juliet (an E2EStream) in plaintext, in memory. */
function streams(
  romeo: { maxPendingRequests?: number; iqTimeoutMs?: number } = {},
  juliet: { maxIqHandlers?: number } = {},
  julietSession: Partial<SessionOptions> = {},
) {
  return plainStreams({ romeo, juliet, julietSession });
}

Deno.test("request() whose send fails rejects with the send's error, and leaves no promise behind", async () => {
  const { romeo, juliet, a } = await streams({ iqTimeoutMs: 50 });
  const boom = new TransportError("Cannot write: test");
  a.write = () => Promise.reject(boom);
  await assert.rejects(romeo.request(ping()), (error) => error === boom);
  // The failed write ends the stream; later requests say it is not open.
  const result = await romeo.closed;
  assert.equal(result.clean, false);
  await assert.rejects(romeo.request(ping()), StreamClosedError);
  await new Promise((r) => setTimeout(r, 100)); // past iqTimeoutMs: nothing fires
  await juliet.closed;
});

Deno.test("requests pending when the stream closes reject with a StreamClosedError; one after close is refused the same way", async () => {
  const { romeo, juliet } = await streams();
  juliet.onIq(() => new Promise(() => {})); // never answers
  const pending = [romeo.request(ping()), romeo.request(ping())].map((p) =>
    p.catch((e) => e)
  );
  await new Promise((r) => setTimeout(r, 10));
  const [closed] = await Promise.all([romeo.close(), juliet.close()]);
  assert.equal(closed.clean, true);
  for (const error of await Promise.all(pending)) {
    assert.ok(error instanceof StreamClosedError, String(error));
  }
  await assert.rejects(
    romeo.request(ping()),
    (error) => error instanceof StreamClosedError && error.state === "closed",
  );
});

Deno.test("requests pending when the stream fails reject with the stream's error", async () => {
  const { romeo, juliet } = await streams();
  juliet.onIq(() => new Promise(() => {}));
  const pending = romeo.request(ping()).catch((e) => e);
  await new Promise((r) => setTimeout(r, 10));
  await juliet.error("policy-violation");
  const error = await pending;
  assert.ok(error instanceof StreamError, String(error));
  assert.equal(error.condition, "policy-violation");
  assert.equal(error.sent, false);
  await romeo.closed;
});

Deno.test("request() past maxPendingRequests rejects with a LimitError and sends nothing", async () => {
  const { romeo, juliet } = await streams({ maxPendingRequests: 3 });
  let seen = 0;
  juliet.onIq((request) => {
    seen++;
    return seen > 3 ? iqResult(request) : new Promise(() => {});
  });
  const first = [1, 2, 3].map(() => romeo.request(ping()).catch((e) => e));
  await assert.rejects(
    romeo.request(ping()),
    (error) =>
      error instanceof LimitError && error.limit === "maxPendingRequests" &&
      error.max === 3,
  );
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(seen, 3);
  await Promise.all([romeo.close(), juliet.close()]);
  for (const error of await Promise.all(first)) {
    assert.ok(error instanceof StreamClosedError);
  }
});

Deno.test("request() takes a timeout and an abort signal of its own", async () => {
  const { romeo, juliet } = await streams();
  juliet.onIq(() => new Promise(() => {}));
  await assert.rejects(
    romeo.request(ping(), { timeoutMs: 30 }),
    (error) => error instanceof TimeoutError && error.ms === 30,
  );
  const controller = new AbortController();
  const asked = romeo.request(ping(), { signal: controller.signal });
  const reason = new Error("the user gave up");
  controller.abort(reason);
  await assert.rejects(asked, (error) => error === reason);
  await Promise.all([romeo.close(), juliet.close()]);
});

Deno.test("at most maxIqHandlers requests are answered at once; reading waits for one to finish", async () => {
  const { romeo, juliet } = await streams({}, { maxIqHandlers: 3 });
  const release: (() => void)[] = [];
  let started = 0;
  juliet.onIq((request) => {
    started++;
    return new Promise((resolve) =>
      release.push(() => resolve(iqResult(request)))
    );
  });
  const replies = Array.from({ length: 10 }, () => romeo.request(ping()));
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(started, 3);
  while (release.length > 0) {
    release.shift()!();
    await new Promise((r) => setTimeout(r, 5));
  }
  const results = await Promise.all(replies);
  assert.equal(results.length, 10);
  assert.equal(started, 10);
  await Promise.all([romeo.close(), juliet.close()]);
});

Deno.test("requests left unanswered past the stall deadline end the stream with resource-constraint", async () => {
  const { romeo, juliet } = await streams({}, { maxIqHandlers: 1 }, {
    stallTimeoutMs: 100,
  });
  juliet.onIq(() => new Promise(() => {}));
  const replies = [1, 2, 3].map(() => romeo.request(ping()).catch((e) => e));
  const result = await juliet.closed;
  assert.ok(result.error instanceof StreamError, String(result.error));
  assert.equal(result.error.condition, "resource-constraint");
  for (const error of await Promise.all(replies)) {
    assert.ok(error instanceof StreamError && !error.sent, String(error));
  }
});

Deno.test("a handler's reply that cannot be written as XML is answered internal-server-error", async () => {
  const { romeo, juliet } = await streams();
  juliet.onIq((request) =>
    iqResult(request, xml("bad", { xmlns: "urn:x", a: "\u0001" }))
  );
  await assert.rejects(
    romeo.request(ping()),
    (error) =>
      (error as { condition?: string }).condition === "internal-server-error",
  );
  await Promise.all([romeo.close(), juliet.close()]);
});

Deno.test("request() without to takes a reply from our own address, and only forged replies reach stanzas$", async () => {
  const { romeo, juliet } = await streams({ iqTimeoutMs: 5_000 });
  const seen: Element[] = [];
  romeo.stanzas$.subscribe((stanza) => seen.push(stanza));
  // Juliet plays a server answering for Romeo's account: first a reply
  // forged from someone else, then one from Romeo's bare JID (his header's
  // from), as RFC 6120 8.1.2.1 allows.
  juliet.onIq(async (request) => {
    const id = request.attrs.id!;
    await juliet.send(iq({ type: "result", id, from: "tybalt@forza" }));
    return iq({ type: "result", id, from: "Romeo@forza" });
  });
  const reply = await romeo.request(ping());
  assert.equal(reply.attrs.from, "Romeo@forza");
  assert.deepEqual(seen.map((s) => s.attrs.from), ["tybalt@forza"]);
  await Promise.all([romeo.close(), juliet.close()]);
});
