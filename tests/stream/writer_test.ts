import assert from "node:assert/strict";
import { WriteQueue } from "../../src/stream/writer.ts";
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

Deno.test("WriteQueue refuses text past its bound and after end()", async () => {
  const [a] = pair();
  const queue = new WriteQueue(a, 20);
  await assert.rejects(() => queue.write("x".repeat(21)), RangeError);
  await queue.end("</stream:stream>");
  await assert.rejects(() => queue.write("<late/>"), TypeError);
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
