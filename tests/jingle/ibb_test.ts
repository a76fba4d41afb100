// In-Band Bytestreams between two of our streams over memory: data both
// ways, the sequence number's wrap, the read cap holding acknowledgements
// back, and each fault ending with a typed error and nothing left behind
// (Deno's sanitizers stay on).

import assert from "node:assert/strict";
import { filter } from "rxjs";
import { iq } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { TransportError } from "../../src/transport/transport.ts";
import {
  IBB_NS,
  IbbError,
  type IbbErrorReason,
  InBandBytestreams,
} from "../../src/jingle/mod.ts";
import { testing } from "../../src/jingle/_ibb_session.ts";
import { encodeBase64 } from "../../src/sasl/_base64.ts";
import { bothWays, bytes, openIbb, outer, readBytes } from "./_ibb_pair.ts";

function isIbb(reason: IbbErrorReason) {
  return (error: unknown) =>
    error instanceof IbbError && error.reason === reason;
}

function dataIq(sid: string, seq: number, payload = "AAAA") {
  return iq(
    { type: "set" },
    xml("data", { xmlns: IBB_NS, sid, seq }, payload),
  );
}

Deno.test("bytes go both ways in blocks and arrive whole and in order", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams, "s1", 1000);
  assert.equal(hers.blockSize, 1000);
  const there = bytes(10_500, 1);
  const back = bytes(7_777, 2);
  await bothWays(mine, hers, there, back);
  assert.equal(mine.canStartTls, false);
  await assert.rejects(mine.startTls(), TransportError);
  mine.close();
  assert.equal(await hers.read(), null);
  await assert.rejects(hers.write(bytes(1)), TransportError);
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});

Deno.test("the sequence number wraps from 65535 to 0", async () => {
  testing.firstSeq = 65530;
  try {
    const streams = await outer();
    const seen: string[] = [];
    const sub = streams.juliet.trace$.pipe(
      filter((entry) => entry.direction === "in"),
    ).subscribe((entry) => {
      for (const m of entry.text.matchAll(/seq=['"](\d+)['"]/g)) {
        seen.push(m[1]!);
      }
    });
    const { mine, hers } = await openIbb(streams, "s1", 16);
    const sent = bytes(16 * 12);
    await Promise.all([mine.write(sent), readBytes(hers, sent.length)]).then(
      ([, got]) => assert.deepEqual(got, sent),
    );
    sub.unsubscribe();
    assert.deepEqual(seen, [
      "65530",
      "65531",
      "65532",
      "65533",
      "65534",
      "65535",
      "0",
      "1",
      "2",
      "3",
      "4",
      "5",
    ]);
    mine.close();
    await Promise.all([mine.closed, hers.closed]);
    await streams.close();
  } finally {
    testing.firstSeq = 0;
  }
});

Deno.test("a data packet out of sequence is refused unexpected-request and ends the session with a typed error", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams);
  const reading = hers.read();
  await assert.rejects(
    streams.romeo.request(dataIq("s1", 3)),
    (error) =>
      error instanceof StanzaError &&
      error.condition === "unexpected-request" && error.type === "cancel",
  );
  await assert.rejects(reading, isIbb("sequence"));
  await assert.rejects(hers.write(bytes(1)), isIbb("sequence"));
  await hers.closed;
  // Romeo's session sees the refusal on its next packet, and closes.
  await mine.write(bytes(10));
  await assert.rejects(mine.read(), isIbb("unknown-session"));
  await mine.closed;
  await streams.close();
});

Deno.test("a sender told unexpected-request ends with a sequence error and closes the bytestream", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams);
  // Juliet's first packet goes out with a seq Romeo does not expect.
  await streams.juliet.request(dataIq("s1", 0)); // seq 0 is used up
  assert.deepEqual(await mine.read(), new Uint8Array(3)); // "AAAA"
  const reading = mine.read();
  await hers.write(bytes(3)); // hers sends seq 0 again
  await assert.rejects(reading, isIbb("sequence"));
  await assert.rejects(hers.read(), isIbb("sequence"));
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});

Deno.test("data and close for an unknown session are answered item-not-found", async () => {
  const streams = await outer();
  const notFound = (error: unknown) =>
    error instanceof StanzaError && error.condition === "item-not-found";
  await assert.rejects(streams.romeo.request(dataIq("nope", 0)), notFound);
  await assert.rejects(
    streams.romeo.request(
      iq({ type: "set" }, xml("close", { xmlns: IBB_NS, sid: "nope" })),
    ),
    notFound,
  );
  await streams.close();
});

Deno.test("bad base64 and an oversized block are refused bad-request", async () => {
  const streams = await outer();
  const badRequest = (error: unknown) =>
    error instanceof StanzaError && error.condition === "bad-request";
  const first = await openIbb(streams, "s1", 4);
  await assert.rejects(
    streams.romeo.request(dataIq("s1", 0, "A@==")),
    badRequest,
  );
  await assert.rejects(first.hers.read(), isIbb("bad-data"));
  const second = await openIbb(streams, "s2", 4);
  await assert.rejects(
    streams.romeo.request(dataIq("s2", 0, "AAAAAAAA")),
    badRequest,
  );
  await assert.rejects(second.hers.read(), isIbb("bad-data"));
  first.mine.close();
  second.mine.close();
  await Promise.all([first.mine.closed, second.mine.closed]);
  await streams.close();
});

Deno.test("an open nobody expects is declined, and one with too big a block asks for less", async () => {
  const streams = await outer({}, { maxBlockSize: 4096 });
  await assert.rejects(streams.romeoIbb.open("unasked"), isIbb("declined"));
  const waiting = streams.julietIbb.expect("s1");
  await assert.rejects(
    streams.romeoIbb.open("s1", { blockSize: 8192 }),
    (error) =>
      isIbb("block-size")(error) &&
      (error as IbbError).cause instanceof StanzaError &&
      ((error as IbbError).cause as StanzaError).condition ===
        "resource-constraint",
  );
  // The expectation stands: a smaller block is accepted.
  const mine = await streams.romeoIbb.open("s1", { blockSize: 4096 });
  assert.equal((await waiting).blockSize, 4096);
  const fromElsewhere = streams.julietIbb.expect("s2", {
    from: "tybalt@capulet",
  });
  await assert.rejects(streams.romeoIbb.open("s2"), isIbb("declined"));
  mine.close();
  await mine.closed;
  await streams.close();
  await assert.rejects(fromElsewhere, isIbb("stream-ended"));
});

Deno.test("when the peer vanishes, reads, writes and opens end with a stream-ended error", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams);
  const reading = mine.read();
  const waiting = streams.romeoIbb.expect("later");
  streams.julietWire.close(); // Juliet's connection is gone
  await assert.rejects(reading, isIbb("stream-ended"));
  await assert.rejects(hers.read(), isIbb("stream-ended"));
  await assert.rejects(mine.write(bytes(1)), isIbb("stream-ended"));
  await assert.rejects(waiting, isIbb("stream-ended"));
  await assert.rejects(streams.romeoIbb.open("again"), isIbb("stream-ended"));
  await Promise.all([mine.closed, hers.closed]);
  await Promise.all([streams.romeo.closed, streams.juliet.closed]);
});

Deno.test("a reader that lags holds acknowledgements back, so the writer waits and the buffer stays capped", async () => {
  const limit = 8192;
  const streams = await outer({ blockSize: 1024, window: 4 }, {
    readBufferLimit: limit,
  });
  const { mine, hers } = await openIbb(streams);
  const sent = bytes(64 * 1024, 3);
  let written = false;
  const writing = mine.write(sent).then(() => written = true);
  // Let every packet that can go, go.
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  assert.equal(written, false);
  assert.ok(hers.bufferedAmount > limit, `${hers.bufferedAmount} buffered`);
  assert.ok(
    hers.bufferedAmount <= limit + 4 * 1024,
    `${hers.bufferedAmount} buffered`,
  );
  const got = await readBytes(hers, sent.length);
  await writing;
  assert.deepEqual(got, sent);
  mine.close();
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});

Deno.test("closeWrite sends the close after what was written, and the peer's data sent before it is still read", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams);
  await mine.write(bytes(5000));
  const closing = mine.closeWrite();
  assert.deepEqual(await readBytes(hers, 5000), bytes(5000));
  assert.equal(await hers.read(), null);
  await closing;
  assert.equal(await mine.read(), null);
  await assert.rejects(mine.write(bytes(1)), TransportError);
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});

Deno.test("options out of range and reused sids are refused before anything is sent", async () => {
  const streams = await outer();
  await assert.rejects(
    streams.romeoIbb.open("s", { blockSize: 70000 }),
    RangeError,
  );
  await assert.rejects(streams.romeoIbb.open(""), TypeError);
  const waiting = streams.julietIbb.expect("dup");
  await assert.rejects(streams.julietIbb.expect("dup"), TypeError);
  const controller = new AbortController();
  const aborted = streams.julietIbb.expect("gone", {
    signal: controller.signal,
  });
  controller.abort(new Error("No longer wanted"));
  await assert.rejects(aborted, /No longer wanted/);
  await assert.rejects(streams.romeoIbb.open("gone"), isIbb("declined"));
  streams.julietIbb.close();
  await assert.rejects(waiting, TransportError);
  await streams.close();
});

Deno.test("a reader that lags past the deadline ends the writer's session with a timeout error", async () => {
  const streams = await outer({ blockSize: 1024, window: 2, timeoutMs: 50 }, {
    readBufferLimit: 1024,
  });
  const { mine, hers } = await openIbb(streams);
  await assert.rejects(mine.write(bytes(8 * 1024)), isIbb("timeout"));
  await assert.rejects(mine.read(), isIbb("timeout"));
  // Romeo closed the session: what Juliet received is still hers to read.
  const got = await readBytes(hers, 8 * 1024);
  assert.ok(got.length >= 1024 && got.length < 8 * 1024, `${got.length}`);
  assert.deepEqual(got, bytes(8 * 1024).subarray(0, got.length));
  assert.equal(await hers.read(), null);
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});

Deno.test("a deadline that is not a positive number and a window over 16 are refused", async () => {
  const streams = await outer();
  assert.throws(
    () => new InBandBytestreams(streams.romeo, { timeoutMs: 0 }),
    RangeError,
  );
  assert.throws(
    () => new InBandBytestreams(streams.romeo, { window: 17 }),
    RangeError,
  );
  await streams.close();
});

Deno.test("a peer that ignores any window while nothing is read has its session ended with overflow past 16 held acknowledgements, and the carrying stream goes on", async () => {
  const streams = await outer({}, { readBufferLimit: 1024 });
  const { mine, hers } = await openIbb(streams, "s1", 1024);
  const packet = encodeBase64(bytes(1024, 9));
  // 200 data packets at once, none waiting for an acknowledgement, while
  // Juliet reads nothing.
  const answers = await Promise.all(
    Array.from(
      { length: 200 },
      (_, seq) =>
        streams.romeo.request(dataIq("s1", seq, packet)).then(
          () => "result",
          (e) => e instanceof StanzaError ? e.condition : String(e),
        ),
    ),
  );
  // The first packet fits the read buffer, 16 are held, the next one is
  // refused and ends the session; what follows finds it over, every
  // packet answered.
  assert.deepEqual(answers.slice(0, 17), Array(17).fill("result"));
  assert.equal(answers[17], "resource-constraint");
  assert.deepEqual(answers.slice(18), Array(182).fill("item-not-found"));
  const error = await hers.read().catch((e) => e);
  assert.ok(error instanceof IbbError && error.reason === "overflow", error);
  assert.equal(hers.bufferedAmount, 0);
  await Promise.all([mine.closed, hers.closed]);
  // The client streams were never held: they still answer at once.
  await streams.romeo.ping();
  await streams.juliet.ping();
  await streams.close();
});

Deno.test("sessions that each stay under their own bound are ended with overflow past 32 held acknowledgements in all, so several cannot stall the carrying stream together", async () => {
  const streams = await outer({}, { readBufferLimit: 1024 });
  const packet = encodeBase64(bytes(1024, 3));
  const sids = ["a", "b", "c"];
  const pairs = [];
  for (const sid of sids) pairs.push(await openIbb(streams, sid, 1024));
  // 12 packets on each, at once, none read: 11 held on each would be 33.
  let refused = 0;
  const answers = sids.flatMap((sid) =>
    Array.from(
      { length: 12 },
      (_, seq) =>
        streams.romeo.request(dataIq(sid, seq, packet)).then(
          () => "result",
          (e) => {
            if (e instanceof StanzaError) {
              refused++;
              return e.condition;
            }
            return String(e);
          },
        ),
    )
  );
  while (refused === 0) await new Promise((r) => setTimeout(r, 5));
  // One session ended with overflow; the others read what they hold, which
  // lets their held acknowledgements go.
  const outcomes = await Promise.all(
    pairs.map(async ({ hers }) => {
      try {
        await readBytes(hers, 12 * 1024);
        return "read";
      } catch (e) {
        return e instanceof IbbError ? e.reason : String(e);
      }
    }),
  );
  assert.deepEqual(outcomes.filter((o) => o === "overflow").length, 1);
  assert.deepEqual(outcomes.filter((o) => o === "read").length, 2);
  const all = await Promise.all(answers);
  for (const answer of all) {
    assert.ok(
      ["result", "resource-constraint", "item-not-found"].includes(answer),
      answer,
    );
  }
  assert.equal(all.filter((a) => a === "resource-constraint").length, 1);
  for (const { mine, hers } of pairs) {
    mine.close();
    hers.close();
    await Promise.all([mine.closed, hers.closed]);
  }
  await streams.romeo.ping();
  await streams.close();
});

Deno.test("65,546 one-byte packets go through, the sequence number wrapping once on the way", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams, "s1", 1);
  const sent = bytes(65536 + 10, 5);
  const [, got] = await Promise.all([
    mine.write(sent),
    readBytes(hers, sent.length),
  ]);
  assert.deepEqual(got, sent);
  mine.close();
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});
