// In-Band Bytestreams whose data goes in messages (XEP-0047
// stanza='message'), as a peer may ask: data both ways with no
// acknowledgement, and a packet out of order or a peer that sends past the
// read buffer ending the session with a typed error.

import assert from "node:assert/strict";
import { iq, message } from "../../src/stanza/stanza.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { xml } from "../../src/stanza/xml.ts";
import { IBB_NS, IbbError, type IbbErrorReason } from "../../src/jingle/mod.ts";
import { bothWays, bytes, outer } from "./_ibb_pair.ts";

function isIbb(reason: IbbErrorReason) {
  return (error: unknown) =>
    error instanceof IbbError && error.reason === reason;
}

Deno.test("a session opened with stanza='message' carries bytes both ways in messages, not in iqs", async () => {
  const streams = await outer();
  const out: string[] = [];
  const sub = streams.romeo.trace$.subscribe((entry) => {
    if (entry.direction === "out") out.push(entry.text);
  });
  const expected = streams.julietIbb.expect("m1");
  const mine = await streams.romeoIbb.open("m1", {
    blockSize: 1000,
    stanza: "message",
  });
  const hers = await expected;
  assert.equal(mine.stanza, "message");
  assert.equal(hers.stanza, "message");
  const there = bytes(5_500, 1);
  const back = bytes(3_333, 2);
  await bothWays(mine, hers, there, back);
  mine.close();
  assert.equal(await hers.read(), null);
  await Promise.all([mine.closed, hers.closed]);
  sub.unsubscribe();
  const text = out.join("");
  assert.ok(
    text.includes("stanza='message'") || text.includes('stanza="message"'),
  );
  assert.match(
    text,
    /<message[^>]*><data xmlns=['"]http:\/\/jabber\.org\/protocol\/ibb['"]/,
  );
  assert.doesNotMatch(text, /<iq[^>]*><data /);
  await streams.close();
});

Deno.test("a data message out of sequence ends the session with a sequence error, and the sender is sent the close", async () => {
  const streams = await outer();
  const expected = streams.julietIbb.expect("m2");
  const mine = await streams.romeoIbb.open("m2", { stanza: "message" });
  const hers = await expected;
  await streams.romeo.send(
    message({}, xml("data", { xmlns: IBB_NS, sid: "m2", seq: 7 }, "AAAA")),
  );
  await assert.rejects(hers.read(), isIbb("sequence"));
  // Told with the session's close: Romeo's reads end.
  assert.equal(await mine.read(), null);
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});

Deno.test("a peer that sends in messages past the read buffer, unread, ends the session with overflow", async () => {
  const streams = await outer({}, { readBufferLimit: 2048 });
  const expected = streams.julietIbb.expect("m3");
  const mine = await streams.romeoIbb.open("m3", {
    blockSize: 512,
    stanza: "message",
  });
  const hers = await expected;
  await mine.write(bytes(4096)).catch(() => {});
  await hers.closed;
  await assert.rejects(hers.read(), isIbb("overflow"));
  await mine.closed;
  await streams.close();
});

Deno.test("an open whose stanza attribute is neither iq nor message is refused bad-request", async () => {
  const streams = await outer();
  const expected = streams.julietIbb.expect("m4");
  expected.catch(() => {});
  await assert.rejects(
    streams.romeo.request(
      iq(
        { type: "set" },
        xml("open", {
          xmlns: IBB_NS,
          sid: "m4",
          "block-size": 4096,
          stanza: "presence",
        }),
      ),
    ),
    (error) =>
      error instanceof StanzaError && error.condition === "bad-request",
  );
  await assert.rejects(
    streams.romeoIbb.open("m5", { stanza: "presence" as "iq" }),
    TypeError,
  );
  await streams.close();
});
