import assert from "node:assert/strict";
import { WriteQueue } from "../../src/stream/writer.ts";
import { StreamClosedError } from "../../src/stream/errors.ts";
import { pair } from "./_pair.ts";

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
  const held: (() => void)[] = [];
  const write = a.write.bind(a);
  a.write = (bytes) =>
    new Promise<void>((resolve, reject) =>
      held.push(() => write(bytes).then(resolve, reject))
    );
  const queue = new WriteQueue(a, 20);
  const texts = ["é".repeat(6), "<a/>", "<b/>", "x".repeat(30), "<c/>"];
  const done = texts.map((text) => queue.write(text));
  // "éééééé" is 12 bytes of UTF-8, the bound counts bytes: it and "<a/>"
  // (16 bytes) are taken, "<b/>" crosses the bound, the rest waits.
  assert.equal(queue.queuedBytes, 20);
  assert.equal(queue.full, true);
  while (held.length > 0 || queue.queuedBytes > 0) {
    held.shift()?.();
    await new Promise((r) => setTimeout(r, 0));
  }
  await Promise.all(done);
  assert.equal(a.writtenText(), texts.join(""));
  assert.equal(queue.full, false);
  a.write = write;
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
