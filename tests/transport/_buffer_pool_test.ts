import assert from "node:assert/strict";
import { BufferPool } from "../../src/transport/_buffer_pool.ts";

Deno.test("BufferPool hands out again what it was given, by size, whole", () => {
  const pool = new BufferPool(2);
  const a = pool.take(4096);
  const b = pool.take(8192);
  assert.ok(pool.owns(a.buffer) && pool.owns(b.buffer));
  pool.give(a.subarray(0, 100)); // a view stands for its whole buffer
  pool.give(b);
  const again = pool.take(4096);
  assert.equal(again.buffer, a.buffer);
  assert.equal(again.length, 4096);
  assert.equal(pool.take(8192), b);
  assert.notEqual(pool.take(4096).buffer, a.buffer); // none left: a new one
});

Deno.test("BufferPool refuses buffers it did not make, keeps each once, and at most its bound of one size", () => {
  const pool = new BufferPool(2);
  const foreign = new Uint8Array(4096);
  pool.give(foreign);
  assert.ok(!pool.owns(foreign.buffer));
  assert.notEqual(pool.take(4096).buffer, foreign.buffer);
  const [a, b, c] = [pool.take(4096), pool.take(4096), pool.take(4096)];
  pool.give(a);
  pool.give(a); // twice: handed out once only
  pool.give(b);
  pool.give(c); // over the bound: dropped
  const out = [pool.take(4096), pool.take(4096), pool.take(4096)];
  const buffers = out.map((x) => x.buffer);
  assert.equal(new Set(buffers).size, 3);
  assert.ok(buffers.includes(a.buffer) && buffers.includes(b.buffer));
  assert.ok(!buffers.includes(c.buffer));
});
