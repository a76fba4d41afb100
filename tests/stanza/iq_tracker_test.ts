import assert from "node:assert/strict";
import { TimeoutError } from "../../src/stream/errors.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { serialize } from "../../src/xml/serialize.ts";
import { StanzaError, stanzaError } from "../../src/stanza/error.ts";
import { IqTracker, unhandledIqReply } from "../../src/stanza/iq_tracker.ts";
import { jid } from "../../src/stanza/jid.ts";
import { iq, iqError, iqResult, message } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";

function ping(to?: string): ReturnType<typeof iq> {
  return iq({ type: "get", to }, xml("ping", { xmlns: "urn:xmpp:ping" }));
}

function result(id: string, from?: string): ReturnType<typeof iq> {
  return iq({ type: "result", id, from });
}

Deno.test("IqTracker resolves a request with its result reply", async () => {
  const tracker = new IqTracker();
  const request = ping();
  const reply = tracker.request(request);
  assert.equal(tracker.pending, 1);
  const answer = iqResult(request, xml("pong", { xmlns: "urn:x" }));
  assert.equal(tracker.handle(answer), true);
  assert.equal(await reply, answer);
  assert.equal(tracker.pending, 0);
  assert.equal(tracker.handle(answer), false, "a second copy is not consumed");
});

Deno.test("IqTracker rejects a request answered with an error with its StanzaError", async () => {
  const tracker = new IqTracker();
  const request = ping("juliet@capulet.example");
  const reply = tracker.request(request);
  const answer = iq(
    { type: "error", id: request.attrs.id, from: "juliet@capulet.example" },
    stanzaError("feature-not-implemented", { text: "No ping here" }),
  );
  assert.equal(tracker.handle(answer), true);
  await assert.rejects(reply, (error) => {
    assert.ok(error instanceof StanzaError);
    assert.equal(error.condition, "feature-not-implemented");
    assert.equal(error.type, "cancel");
    assert.equal(error.text, "No ping here");
    assert.equal(error.stanza, answer);
    return true;
  });
  assert.equal(tracker.pending, 0);
});

Deno.test("IqTracker ignores a reply from another peer than the one asked", async () => {
  const tracker = new IqTracker();
  const request = ping("juliet@capulet.example/balcony");
  const reply = tracker.request(request);
  const id = request.attrs.id!;
  assert.equal(tracker.handle(result(id, "tybalt@capulet.example")), false);
  assert.equal(tracker.handle(result(id, "juliet@capulet.example")), false);
  assert.equal(tracker.handle(result(id)), false);
  assert.equal(tracker.pending, 1);
  const real = result(id, "juliet@CAPULET.example/balcony");
  assert.equal(tracker.handle(real), true);
  assert.equal(await reply, real);
});

Deno.test("IqTracker treats an absent address as the stream peer", async () => {
  const tracker = new IqTracker();
  const toPeer = ping();
  const reply = tracker.request(toPeer);
  assert.equal(
    tracker.handle(result(toPeer.attrs.id!, "someone@example.com")),
    false,
  );
  assert.equal(tracker.handle(result(toPeer.attrs.id!)), true);
  await reply;

  const toOther = ping("juliet@capulet.example");
  const other = tracker.request(toOther);
  assert.equal(tracker.handle(result(toOther.attrs.id!)), false);
  tracker.close(new Error("done"));
  await assert.rejects(other, /done/);
});

Deno.test("IqTracker with streamPeer matches an absent address with the stream peer's address", async () => {
  const tracker = new IqTracker({ streamPeer: jid("juliet@capulet.example") });
  const toPeer = ping();
  const a = tracker.request(toPeer);
  assert.equal(
    tracker.handle(result(toPeer.attrs.id!, "tybalt@capulet.example")),
    false,
  );
  assert.equal(
    tracker.handle(result(toPeer.attrs.id!, "juliet@capulet.example/nurse")),
    false,
  );
  assert.equal(
    tracker.handle(result(toPeer.attrs.id!, "JULIET@Capulet.example")),
    true,
    "the stream peer's address in another case",
  );
  await a;

  const addressed = ping("juliet@capulet.example");
  const b = tracker.request(addressed);
  assert.equal(tracker.handle(result(addressed.attrs.id!)), true);
  await b;
});

Deno.test("IqTracker takes the expected peer from the caller over the iq's to", async () => {
  const tracker = new IqTracker();
  const request = ping("proxy.example");
  const reply = tracker.request(request, jid("juliet@capulet.example"));
  assert.equal(
    tracker.handle(result(request.attrs.id!, "proxy.example")),
    false,
  );
  assert.equal(
    tracker.handle(result(request.attrs.id!), "juliet@capulet.example"),
    true,
    "the caller may say who the reply is from",
  );
  await reply;
});

Deno.test("IqTracker compares an invalid address as the raw string", async () => {
  const tracker = new IqTracker();
  const request = ping();
  const reply = tracker.request(request, "not a jid");
  assert.equal(tracker.handle(result(request.attrs.id!, "not a JID")), false);
  assert.equal(tracker.handle(result(request.attrs.id!, "not a jid")), true);
  await reply;
});

Deno.test("IqTracker.handle() consumes only result and error iqs in a stanza namespace with a pending id", async () => {
  const tracker = new IqTracker();
  const request = ping();
  const reply = tracker.request(request);
  const id = request.attrs.id!;
  assert.equal(tracker.handle(result("other")), false);
  assert.equal(tracker.handle(iq({ type: "get", id }, xml("q"))), false);
  assert.equal(tracker.handle(message({ id })), false);
  assert.equal(
    tracker.handle(
      parseDocument(`<iq xmlns='urn:x' type='result' id='${id}'/>`),
    ),
    false,
  );
  assert.equal(
    tracker.handle(parseDocument("<iq xmlns='jabber:client' type='result'/>")),
    false,
  );
  assert.equal(tracker.pending, 1);
  assert.equal(
    tracker.handle(
      parseDocument(`<iq xmlns='jabber:server' type='result' id='${id}'/>`),
    ),
    true,
  );
  await reply;
});

Deno.test("IqTracker rejects with TimeoutError when no reply comes in time, and forgets the request", async () => {
  const tracker = new IqTracker({ timeoutMs: 10 });
  const request = ping();
  await assert.rejects(tracker.request(request), (error) => {
    assert.ok(error instanceof TimeoutError);
    assert.equal(error.operation, "iq");
    assert.equal(error.ms, 10);
    return true;
  });
  assert.equal(tracker.pending, 0);
  assert.equal(
    tracker.handle(iqResult(request)),
    false,
    "a late reply is not consumed",
  );
});

Deno.test("IqTracker.request() takes a deadline of its own", async () => {
  const tracker = new IqTracker({ timeoutMs: 60_000 });
  await assert.rejects(
    tracker.request(ping(), undefined, { timeoutMs: 5 }),
    (error) => error instanceof TimeoutError && error.ms === 5,
  );
  assert.equal(tracker.pending, 0);
});

Deno.test("IqTracker.close() rejects every pending request with the reason and clears every timer", async () => {
  const tracker = new IqTracker({ timeoutMs: 60_000 });
  const reason = new Error("Stream closed");
  const replies = [ping(), ping("a@b"), ping("c@d")].map((r) =>
    tracker.request(r)
  );
  const forever = tracker.request(ping(), undefined, { timeoutMs: Infinity });
  assert.equal(tracker.pending, 4);
  tracker.close(reason);
  assert.equal(tracker.pending, 0);
  for (const settled of await Promise.allSettled([...replies, forever])) {
    assert.equal(settled.status, "rejected");
    assert.equal(settled.status === "rejected" && settled.reason, reason);
  }
  // Leaked 60 s timers would fail this test under the sanitizers.
});

Deno.test("IqTracker after close() rejects new requests with the first reason", async () => {
  const tracker = new IqTracker();
  const first = new Error("first");
  tracker.close(first);
  tracker.close(new Error("second"));
  await assert.rejects(tracker.request(ping()), (error) => error === first);
  assert.equal(tracker.pending, 0);
});

Deno.test("IqTracker gives up on abort with the signal's reason", async () => {
  const tracker = new IqTracker();
  const controller = new AbortController();
  const request = ping();
  const reply = tracker.request(request, undefined, {
    signal: controller.signal,
  });
  const reason = new Error("no longer needed");
  controller.abort(reason);
  await assert.rejects(reply, (error) => error === reason);
  assert.equal(tracker.pending, 0);
  assert.equal(tracker.handle(iqResult(request)), false);
  await assert.rejects(
    tracker.request(ping(), undefined, { signal: controller.signal }),
    (error) => error === reason,
  );
});

Deno.test("IqTracker refuses the same id twice for one peer but not for two peers", async () => {
  const tracker = new IqTracker();
  const a = iq({ type: "get", id: "same" }, xml("q"));
  const b = iq({ type: "get", id: "same", to: "x@y" }, xml("q"));
  const first = tracker.request(a);
  await assert.rejects(tracker.request(a), TypeError);
  const second = tracker.request(b);
  assert.equal(tracker.pending, 2);
  assert.equal(tracker.handle(result("same", "x@y")), true);
  assert.equal(tracker.handle(result("same")), true);
  await Promise.all([first, second]);
});

Deno.test("IqTracker.request() refuses anything but an iq get or set with an id", async () => {
  const tracker = new IqTracker();
  for (
    const text of [
      "<iq xmlns='jabber:client' type='result' id='1'/>",
      "<iq xmlns='jabber:client' type='get'><q/></iq>",
      "<message xmlns='jabber:client' type='get' id='1'/>",
      "<iq xmlns='urn:x' type='get' id='1'><q/></iq>",
    ]
  ) {
    await assert.rejects(tracker.request(parseDocument(text)), TypeError, text);
  }
  assert.equal(tracker.pending, 0);
});

Deno.test("IqTracker refuses a timeout that is not positive or too large for a timer", async () => {
  for (const timeoutMs of [0, -1, NaN, 2 ** 31]) {
    assert.throws(
      () => new IqTracker({ timeoutMs }),
      RangeError,
      String(timeoutMs),
    );
  }
  await assert.rejects(
    new IqTracker().request(ping(), undefined, { timeoutMs: 0 }),
    RangeError,
  );
});

Deno.test("unhandledIqReply() answers an unhandled get or set with service-unavailable", () => {
  for (const type of ["get", "set"]) {
    const request = parseDocument(
      `<iq xmlns='jabber:client' type='${type}' id='u1' from='a@b/c'><q xmlns='urn:q'/></iq>`,
    );
    assert.equal(
      serialize(unhandledIqReply(request)!),
      "<iq xmlns='jabber:client' to='a@b/c' type='error' id='u1'><error type='cancel'>" +
        "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
    );
  }
});

Deno.test("unhandledIqReply() never answers a reply, an iq without id or another stanza", () => {
  const request = ping();
  for (
    const el of [
      iqResult(request),
      iqError(request, "conflict"),
      parseDocument("<iq xmlns='jabber:client' type='get'><q/></iq>"),
      parseDocument("<iq xmlns='urn:x' type='get' id='1'><q/></iq>"),
      message({ id: "1" }),
    ]
  ) {
    assert.equal(unhandledIqReply(el), undefined, serialize(el));
  }
});

// A client's stream: Romeo bound montague.example's resource "orchard".
const SERVER = "montague.example";
const ME = "romeo@montague.example/orchard";

/**
 * Whether a reply from `from` (undefined: no `from`) to a fresh request to
 * `to` (undefined: no `to`) is taken by a tracker that knows the server and
 * our address.
 */
function answers(
  to: string | undefined,
  from: string | undefined,
  options: { streamPeer?: string; ownAddress?: string } = {
    streamPeer: SERVER,
    ownAddress: ME,
  },
): boolean {
  const tracker = new IqTracker(options);
  const request = ping(to);
  const reply = tracker.request(request);
  const taken = tracker.handle(result(request.attrs.id!, from));
  if (!taken) tracker.close(new Error("not answered"));
  reply.catch(() => {});
  return taken;
}

Deno.test("IqTracker matches a request without to with a reply from our server for our account", () => {
  for (
    const from of [
      undefined, // RFC 6120 8.1.2.1: generated for the account, no from
      "romeo@montague.example", // ... or from the account's bare JID
      "Romeo@Montague.example", // the same, in another case
      ME, // our full JID
      SERVER, // the server itself (8.1.2.1, rule 3): the stream peer
    ]
  ) {
    assert.equal(answers(undefined, from), true, String(from));
  }
});

Deno.test("IqTracker refuses a reply to a request without to from anyone else", () => {
  for (
    const from of [
      "juliet@capulet.example",
      "romeo@montague.example/balcony", // another resource of ours
      "capulet.example",
      "montague.example/admin",
      "other@montague.example",
      "not a jid",
      "",
    ]
  ) {
    assert.equal(answers(undefined, from), false, from);
  }
});

Deno.test("IqTracker matches a request to a bare JID with a reply from that bare JID only", () => {
  const to = "juliet@capulet.example";
  assert.equal(answers(to, "juliet@capulet.example"), true);
  assert.equal(answers(to, "JULIET@Capulet.EXAMPLE"), true);
  for (
    const from of [
      undefined,
      "juliet@capulet.example/balcony", // a full JID does not answer for it
      "capulet.example",
      SERVER,
      "romeo@montague.example",
      ME,
    ]
  ) {
    assert.equal(answers(to, from), false, String(from));
  }
});

Deno.test("IqTracker matches a request to a full JID with a reply from that full JID only", () => {
  const to = "juliet@capulet.example/balcony";
  assert.equal(answers(to, "juliet@capulet.example/balcony"), true);
  assert.equal(answers(to, "Juliet@CAPULET.example/balcony"), true);
  for (
    const from of [
      undefined,
      "juliet@capulet.example/Balcony", // the resource keeps its case
      "juliet@capulet.example/tomb",
      "juliet@capulet.example",
      "capulet.example",
      SERVER,
      ME,
    ]
  ) {
    assert.equal(answers(to, from), false, String(from));
  }
});

Deno.test("IqTracker matches a request to our own bare JID or to the server with that address or no from", () => {
  const own = "romeo@montague.example";
  assert.equal(answers(own, own), true);
  assert.equal(answers(own, undefined), true);
  for (const from of [ME, SERVER, "juliet@capulet.example"]) {
    assert.equal(answers(own, from), false, from);
  }
  assert.equal(answers(SERVER, SERVER), true);
  assert.equal(answers(SERVER, undefined), true);
  for (const from of [own, ME, "capulet.example"]) {
    assert.equal(answers(SERVER, from), false, from);
  }
});

Deno.test("IqTracker without ownAddress matches a request without to only with no from or the stream peer", () => {
  const options = { streamPeer: SERVER };
  assert.equal(answers(undefined, undefined, options), true);
  assert.equal(answers(undefined, SERVER, options), true);
  assert.equal(answers(undefined, "romeo@montague.example", options), false);
  assert.equal(answers(undefined, ME, options), false);
});

Deno.test("IqTracker.setOwnAddress() applies to requests already pending", async () => {
  const tracker = new IqTracker({ streamPeer: SERVER });
  const request = ping();
  const reply = tracker.request(request);
  const fromAccount = result(request.attrs.id!, "romeo@montague.example");
  assert.equal(tracker.handle(fromAccount), false);
  tracker.setOwnAddress(ME);
  assert.equal(tracker.handle(fromAccount), true);
  assert.equal(await reply, fromAccount);
  tracker.setOwnAddress(undefined);
  const again = ping();
  const second = tracker.request(again);
  assert.equal(tracker.handle(result(again.attrs.id!, ME)), false);
  tracker.close(new Error("done"));
  await assert.rejects(second, /done/);
});

Deno.test("IqTracker with a bare ownAddress (a stream's from) matches our bare JID and domain", () => {
  const options = { ownAddress: "romeo@montague.example" };
  assert.equal(answers(undefined, "romeo@montague.example", options), true);
  assert.equal(answers(undefined, "montague.example", options), true);
  assert.equal(answers(undefined, ME, options), false);
});

Deno.test("IqTracker refuses an id pending for a request whose reply could match the new one", async () => {
  const tracker = new IqTracker({ streamPeer: SERVER, ownAddress: ME });
  const first = tracker.request(iq({ type: "get", id: "same" }, xml("q")));
  for (const to of ["romeo@montague.example", SERVER, ME]) {
    await assert.rejects(
      tracker.request(iq({ type: "get", id: "same", to }, xml("q"))),
      TypeError,
      to,
    );
  }
  const other = tracker.request(
    iq({ type: "get", id: "same", to: "juliet@capulet.example" }, xml("q")),
  );
  assert.equal(tracker.pending, 2);
  assert.equal(tracker.handle(result("same", "juliet@capulet.example")), true);
  assert.equal(tracker.handle(result("same", SERVER)), true);
  await Promise.all([first, other]);
});
