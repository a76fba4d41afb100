import assert from "node:assert/strict";
import { utf8Length, WriteQueue } from "../../src/stream/writer.ts";
import { StreamClosedError } from "../../src/stream/errors.ts";
import { pair } from "./_pair.ts";
import { concat } from "../xml/_mutations.ts";

/**
 * Holds `a`'s writes until `release()` lets them go, one a turn, until the
 * queue holds nothing more; `restore()` writes at once again.
 */
function holdWrites(a: ReturnType<typeof pair>[0]) {
  const held: (() => void)[] = [];
  const write = a.write.bind(a);
  a.write = (bytes) =>
    new Promise<void>((resolve, reject) =>
      held.push(() => write(bytes).then(resolve, reject))
    );
  return {
    async release(queue: WriteQueue): Promise<void> {
      while (held.length > 0 || queue.queuedBytes > 0) {
        held.shift()?.();
        await new Promise((r) => setTimeout(r, 0));
      }
    },
    restore(): void {
      a.write = write;
    },
  };
}

Deno.test("WriteQueue coalesces what queues during a write, in order", async () => {
  const [a] = pair();
  const queue = new WriteQueue(a);
  const all = [];
  for (let i = 0; i < 100; i++) all.push(queue.write(`<m${i}/>`));
  await Promise.all(all);
  assert.ok(a.written.length < 100, `${a.written.length} writes`);
  const text = a.writtenText();
  assert.equal(
    text,
    Array.from({ length: 100 }, (_, i) => `<m${i}/>`).join(""),
  );
});

Deno.test("WriteQueue holds text past its bound in bytes until the transport takes it, in order, and refuses text after end()", async () => {
  const [a] = pair();
  const writes = holdWrites(a);
  const queue = new WriteQueue(a, 20);
  const texts = ["é".repeat(6), "<a/>", "<b/>", "x".repeat(30), "<c/>"];
  const done = texts.map((text) => queue.write(text));
  // "éééééé" is 12 bytes of UTF-8, the bound counts bytes: it and "<a/>"
  // (16 bytes) are taken, "<b/>" crosses the bound, the rest waits.
  assert.equal(queue.queuedBytes, 20);
  assert.equal(queue.full, true);
  await writes.release(queue);
  await Promise.all(done);
  assert.equal(a.writtenText(), texts.join(""));
  assert.equal(queue.full, false);
  writes.restore();
  await queue.end("</stream:stream>");
  await assert.rejects(() => queue.write("<late/>"), StreamClosedError);
});

Deno.test("WriteQueue end() with an error drops the text that waits for room and writes its last text next", async () => {
  const [a] = pair();
  const queue = new WriteQueue(a, 4);
  const first = queue.write("<a/>");
  const waiting = queue.write("<b/>");
  const error = new Error("failing");
  await queue.end("</stream:stream>", error);
  await first;
  await assert.rejects(waiting, (e) => e === error);
  assert.equal(a.writtenText(), "<a/></stream:stream>");
});

Deno.test("WriteQueue abort() rejects everything queued at once, a write in flight included", async () => {
  const [a] = pair();
  a.write = () => new Promise(() => {});
  const queue = new WriteQueue(a, 4);
  const all = ["<a/>", "<b/>"].map((t) => queue.write(t).catch((e) => e));
  const error = new Error("closed");
  queue.abort(error);
  assert.deepEqual(await Promise.all(all), [error, error]);
  await assert.rejects(queue.write("<c/>"), (e) => e === error);
});

Deno.test("WriteQueue rejects every pending write when the transport fails", async () => {
  const [a] = pair();
  a.close();
  const queue = new WriteQueue(a);
  const results = await Promise.allSettled([
    queue.write("<a/>"),
    queue.write("<b/>"),
  ]);
  assert.deepEqual(results.map((r) => r.status), ["rejected", "rejected"]);
  await assert.rejects(() => queue.write("<c/>"));
});

Deno.test("WriteQueue writes a large text in bounded writes that fill each batch, multi-byte characters whole", async () => {
  const [a] = pair();
  const queue = new WriteQueue(a, 8 * 1024 * 1024);
  // 3-byte, 4-byte and 1-byte characters, so that batch ends fall inside
  // characters unless the encoder stops before them.
  const big = "日本語🎉x".repeat(100_000);
  const small = ["<a/>", "<b>é</b>"];
  const done = [
    queue.write(small[0]!),
    queue.write(big),
    queue.write(small[1]!),
  ];
  await Promise.all(done);
  const sizes = a.written.map((bytes) => bytes.length);
  assert.ok(
    Math.max(...sizes) <= 64 * 1024,
    `largest write ${Math.max(...sizes)}`,
  );
  // Every write but the first (which went alone) and the last is full but
  // for the tail where the next character did not fit.
  for (const size of sizes.slice(1, -1)) assert.ok(size > 64 * 1024 - 4);
  assert.equal(a.writtenText(), small[0] + big + small[1]);
  assert.equal(queue.queuedBytes, 0);
});

Deno.test("WriteQueue counts a large text in UTF-8 bytes against its bound while it waits", async () => {
  const [a] = pair();
  const writes = holdWrites(a);
  const queue = new WriteQueue(a, 1000);
  const first = queue.write("<a/>");
  const big = queue.write("é".repeat(100_000)); // 200,000 bytes, taken whole
  const after = queue.write("<b/>");
  assert.equal(queue.queuedBytes, 4 + 200_000);
  assert.equal(queue.full, true);
  await writes.release(queue);
  await Promise.all([first, big, after]);
  assert.equal(a.writtenText(), "<a/>" + "é".repeat(100_000) + "<b/>");
});

Deno.test("WriteQueue counts small multi-byte texts taken during a write in exact UTF-8 bytes, and writes them together in order", async () => {
  const [a] = pair();
  const writes = holdWrites(a);
  const queue = new WriteQueue(a, 30);
  const texts = ["<a/>", ...Array.from({ length: 5 }, () => "é".repeat(5))];
  const done = texts.map((text) => queue.write(text));
  // "<a/>" goes alone; each "ééééé" is 5 code units but 10 bytes: three
  // are taken (4 + 30 = 34 bytes, the third crossing the bound of 30),
  // the other two wait.
  assert.equal(queue.queuedBytes, 34);
  assert.equal(queue.full, true);
  await writes.release(queue);
  await Promise.all(done);
  assert.equal(a.writtenText(), texts.join(""));
  assert.equal(a.written.length, 3, "the first alone, then two batches");
  assert.equal(queue.full, false);
});

/** A transport that copies what it is given, and says so when `copies`. */
function copyingTransport(
  copies: boolean,
  inFlight = new Set<ArrayBufferLike>(),
) {
  const [a] = pair();
  const buffers: ArrayBufferLike[] = [];
  const chunks: Uint8Array[] = [];
  const transport = Object.assign(Object.create(a) as typeof a, {
    copiesWrites: copies,
    write(bytes: Uint8Array) {
      // No buffer is given to two writes at once, on any transport.
      assert.ok(!inFlight.has(bytes.buffer), "a buffer written twice at once");
      inFlight.add(bytes.buffer);
      buffers.push(bytes.buffer);
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          // Copied as the write ends: a buffer filled again too early shows.
          chunks.push(bytes.slice());
          inFlight.delete(bytes.buffer);
          resolve();
        }, 0)
      );
    },
  });
  const text = () => new TextDecoder().decode(concat(...chunks));
  return { transport, buffers, text };
}

Deno.test("WriteQueue fills a written batch again while writes follow each other, only when the transport copies what it writes", async () => {
  const texts = Array.from(
    { length: 40 },
    (_, i) => `<m n='${i}'>${"é日x".repeat(5_000 + i)}</m>`,
  );
  for (const copies of [true, false]) {
    const { transport, buffers, text } = copyingTransport(copies);
    // A bound of 100 kB: the texts wait, and are encoded as writes end,
    // one batch at a time: the first text alone (to its size, the pool has
    // no batch yet), then every batch in the same buffer.
    const queue = new WriteQueue(transport, 100_000);
    await Promise.all(texts.map((t) => queue.write(t)));
    assert.equal(text(), texts.join(""));
    const distinct = new Set(buffers).size;
    if (copies) assert.ok(distinct <= 2, `${distinct} buffers`);
    else assert.equal(distinct, buffers.length);
    // Idle, the queue keeps no batch: it gave them to the shared pool, so
    // another stream's burst fills them (a transport that does not copy
    // gets new ones, never pooled).
    const other = copyingTransport(copies);
    const big = "x".repeat(200_000);
    await new WriteQueue(other.transport, 100_000).write(big);
    assert.equal(other.text(), big);
    const reused = other.buffers.filter((b) => buffers.includes(b)).length;
    // (The text is encoded a batch at a time, each in the one the pool
    // gave: four writes, one buffer.)
    if (copies) {
      assert.equal(other.buffers.length, 4);
      assert.equal(new Set(other.buffers).size, 1);
      assert.equal(reused, 4);
    } else assert.equal(reused, 0);
  }
});

Deno.test("WriteQueue's shared pool keeps at most eight batches, however many streams wrote at once", async () => {
  const inFlight = new Set<ArrayBufferLike>();
  const ends = Array.from(
    { length: 20 },
    () => copyingTransport(true, inFlight),
  );
  const text = "<m>" + "y".repeat(150_000) + "</m>";
  await Promise.all(
    ends.map((end) => new WriteQueue(end.transport).write(text)),
  );
  for (const end of ends) assert.equal(end.text(), text);
  // Twenty more bursts at once: the eight pooled buffers are filled again,
  // the rest are new.
  const later = Array.from(
    { length: 20 },
    () => copyingTransport(true, inFlight),
  );
  await Promise.all(
    later.map((end) => new WriteQueue(end.transport).write(text)),
  );
  const before = new Set(ends.flatMap((end) => end.buffers));
  const reused = new Set(
    later.flatMap((end) => end.buffers).filter((b) => before.has(b)),
  );
  assert.ok(reused.size > 0 && reused.size <= 8, `${reused.size} reused`);
});

Deno.test("WriteQueue sends a text alone in a whole batch only when the pool has one: many streams each sending one small text allocate no batch", async () => {
  const inFlight = new Set<ArrayBufferLike>();
  const ends = Array.from(
    { length: 50 },
    () => copyingTransport(true, inFlight),
  );
  const text = "<presence/>";
  await Promise.all(
    ends.map((end) => new WriteQueue(end.transport).write(text)),
  );
  const buffers = ends.flatMap((end) => end.buffers);
  const whole = buffers.filter((b) => b.byteLength === 64 * 1024);
  // The pool holds at most eight; every other text got a buffer of its size.
  assert.ok(whole.length <= 8, `${whole.length} whole batches`);
  assert.equal(
    buffers.filter((b) => b.byteLength === text.length).length,
    50 - whole.length,
  );
  for (const end of ends) assert.equal(end.text(), text);
});

Deno.test("utf8Length() counts what TextEncoder writes, surrogate pairs and lone surrogates included", () => {
  const encoder = new TextEncoder();
  const samples = [
    "",
    "<a/>",
    "é",
    "日本語",
    "🎉",
    "x🎉y",
    "\ud800",
    "\udc00",
    "a\ud800b",
    "\udc00\ud800",
    "\ud83c\ud83c\udf89",
    "\u007f\u0080\u07ff\u0800\uffff",
  ];
  // And random strings over every kind of code unit.
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const units = [
    0x41,
    0x7f,
    0x80,
    0x7ff,
    0x800,
    0xd7ff,
    0xd800,
    0xdbff,
    0xdc00,
    0xdfff,
    0xe000,
    0xffff,
  ];
  for (let n = 0; n < 500; n++) {
    let text = "";
    const length = Math.floor(random() * 12);
    for (let i = 0; i < length; i++) {
      text += String.fromCharCode(units[Math.floor(random() * units.length)]!);
    }
    samples.push(text);
  }
  for (const text of samples) {
    assert.equal(
      utf8Length(text),
      encoder.encode(text).length,
      JSON.stringify(text),
    );
  }
});

Deno.test("WriteQueue holds what waits as text and encodes one batch at a time: a megabyte queued behind a stalled write uses one buffer", async () => {
  const { transport, buffers, text } = copyingTransport(true);
  let release: (() => void) | undefined;
  const write = transport.write.bind(transport);
  let first = true;
  transport.write = (bytes: Uint8Array) => {
    if (!first) return write(bytes);
    first = false;
    // The first write stalls until the whole megabyte is queued.
    return new Promise<void>((resolve) => release = resolve).then(() =>
      write(bytes)
    );
  };
  const queue = new WriteQueue(transport, 1024 * 1024);
  const texts = Array.from(
    { length: 5_000 },
    (_, i) => `<iq id='q${i}' type='error'>${"e".repeat(200)}</iq>`,
  );
  const done = texts.map((t) => queue.write(t));
  assert.equal(queue.full, true);
  assert.ok(queue.queuedBytes >= 1024 * 1024);
  release!();
  await Promise.all(done);
  assert.equal(text(), texts.join(""));
  // The first text alone, then every batch in the one buffer.
  assert.ok(new Set(buffers).size <= 2, `${new Set(buffers).size} buffers`);
  assert.ok(buffers.length > 16, `${buffers.length} writes`);
});

Deno.test("WriteQueue post() queues text without a promise, in order with write(), and tells a failure to its callback later", async () => {
  const [a] = pair();
  const queue = new WriteQueue(a, 8);
  const failures: unknown[] = [];
  queue.post("<a/>", (e) => failures.push(e));
  const written = queue.write("<b/>");
  queue.post("<c/>", (e) => failures.push(e)); // over the bound: waits
  assert.equal(queue.full, true);
  await written;
  await queue.drain();
  assert.equal(a.writtenText(), "<a/><b/><c/>");
  assert.equal(failures.length, 0);
  await queue.end();
  let called = false;
  queue.post("<late/>", (e) => {
    called = true;
    failures.push(e);
  });
  assert.equal(called, false, "never from within post()");
  await Promise.resolve();
  assert.equal(failures.length, 1);
  assert.ok(failures[0] instanceof StreamClosedError);
  const [b] = pair();
  b.close();
  const broken = new WriteQueue(b);
  const seen = new Promise((resolve) => broken.post("<x/>", resolve));
  assert.ok((await seen) instanceof Error);
});
