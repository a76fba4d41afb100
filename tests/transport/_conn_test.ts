import assert from "node:assert/strict";
import { Reads } from "../../src/transport/_conn.ts";

/**
 * A connection with `available` bytes waiting: each read takes what fits,
 * and records the size of the buffer it was given.
 */
class FakeConn {
  available = 0;
  readonly buffers: number[] = [];
  read(p: Uint8Array): Promise<number | null> {
    this.buffers.push(p.length);
    const n = Math.min(this.available, p.length);
    this.available -= n;
    return Promise.resolve(n);
  }
}

Deno.test("Reads grows its buffer while reads fill it, and gives the read after a burst a 1 KiB buffer", async () => {
  const conn = new FakeConn();
  const reads = new Reads();
  conn.available = 200_000;
  let got = 0;
  while (conn.available > 0) got += (await reads.next(conn))!.length;
  // A probe of 1 KiB, then doubling up to 64 KiB.
  assert.deepEqual(
    conn.buffers.slice(0, 9),
    [1024, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 65536],
  );
  // The connection is drained: the next read, which an idle connection
  // leaves pending, holds 1 KiB, not 64.
  conn.available = 0;
  const before = conn.buffers.length;
  assert.equal((await reads.next(conn))!.length, 0);
  assert.equal(conn.buffers[before], 1024);
  // More comes: a full probe brings the large size back at once.
  conn.available = 100_000;
  got = 0;
  got += (await reads.next(conn))!.length;
  got += (await reads.next(conn))!.length;
  assert.equal(got, 1024 + conn.buffers.at(-1)!);
  assert.ok(conn.buffers.at(-1)! >= 32768, `${conn.buffers.at(-1)}`);
});

Deno.test("Reads with a smaller minimum starts there, and gives the read after a burst that buffer", async () => {
  const conn = new FakeConn();
  const reads = new Reads(512);
  conn.available = 5000;
  while (conn.available > 0) await reads.next(conn);
  assert.deepEqual(conn.buffers, [512, 512, 1024, 2048, 4096]);
  assert.equal((await reads.next(conn))!.length, 0);
  assert.equal(conn.buffers.at(-1), 512);
});

Deno.test("Reads hands out exactly the bytes read, copying a chunk that fills little of its buffer", async () => {
  const conn = new FakeConn();
  const reads = new Reads();
  conn.available = 10;
  const chunk = (await reads.next(conn))!;
  assert.equal(chunk.length, 10);
  assert.equal(chunk.buffer.byteLength, 10);
  assert.equal(await reads.next({ read: () => Promise.resolve(null) }), null);
});

Deno.test("Reads fills a chunk given back again while reads fill their buffers, allocates while nothing is given back, and shares what it was given with other connections", async () => {
  const conn = new FakeConn();
  const reads = new Reads();
  conn.available = 1_000_000;
  const seen = new Set<ArrayBufferLike>();
  let chunk = (await reads.next(conn))!;
  while (chunk.length < 65536) chunk = (await reads.next(conn))!;
  // Full reads of 64 KiB from here on; each one given back is filled again.
  for (let i = 0; i < 5; i++) {
    seen.add(chunk.buffer);
    reads.recycle(chunk);
    reads.recycle(chunk); // twice: still one buffer, never handed out twice
    chunk = (await reads.next(conn))!;
    assert.equal(chunk.length, 65536);
  }
  assert.equal(seen.size, 1);
  // Not given back: a fresh buffer.
  const kept = chunk;
  chunk = (await reads.next(conn))!;
  assert.notEqual(chunk.buffer, kept.buffer);
  const a = (await reads.next(conn))!;
  const b = (await reads.next(conn))!;
  assert.notEqual(a.buffer, b.buffer);
  // The filled start of a half-used buffer counts as the buffer, and
  // another connection reading at that size gets it.
  conn.available = 40_000;
  const half = (await reads.next(conn))!;
  assert.equal(half.length, 40_000);
  assert.equal(half.buffer.byteLength, 65536);
  reads.recycle(half);
  const other = new FakeConn();
  other.available = 1_000_000;
  const theirs = new Reads();
  let got = (await theirs.next(other))!;
  while (got.length < 65536) got = (await theirs.next(other))!;
  assert.equal(got.buffer, half.buffer);
  // A copy of a little-used read, a view not at the start, or a buffer
  // Reads did not make is refused.
  const foreign = new Uint8Array(65536);
  reads.recycle(foreign);
  reads.recycle(got.subarray(8));
  const next = (await theirs.next(other))!;
  assert.notEqual(next.buffer, foreign.buffer);
  assert.notEqual(next.buffer, got.buffer);
});
