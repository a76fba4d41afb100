import assert from "node:assert/strict";
import { freeNow } from "../../src/transport/_free_now.ts";

Deno.test("freeNow() frees a buffer made for its view alone at once, and leaves slices and shared buffers whole", () => {
  const before = Deno.memoryUsage().external;
  const kept: Uint8Array[] = [];
  for (let i = 0; i < 256; i++) {
    const chunk = new Uint8Array(16_384).fill(1);
    assert.equal(freeNow(chunk), true);
    assert.equal(chunk.buffer.byteLength, 0);
    assert.equal((chunk.buffer as ArrayBuffer).detached, true);
    kept.push(chunk); // still referenced: only detaching freed it
  }
  // 4 MiB made and referenced, none of it held (no collection ran).
  assert.ok(
    Deno.memoryUsage().external - before < 1024 * 1024,
    `${Deno.memoryUsage().external - before} bytes held`,
  );
  const whole = new Uint8Array(64).fill(7);
  const slice = whole.subarray(0, 32);
  const tail = whole.subarray(32);
  assert.equal(freeNow(slice), false);
  assert.equal(freeNow(tail), false);
  assert.deepEqual([...whole], Array(64).fill(7));
  assert.equal(freeNow(whole), true);
  assert.equal(freeNow(whole), false, "already freed");
  assert.equal(freeNow(new Uint8Array(0)), false);
  const shared = new Uint8Array(new SharedArrayBuffer(16));
  assert.equal(freeNow(shared), false);
});
