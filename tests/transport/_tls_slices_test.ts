import assert from "node:assert/strict";
import { TLS_SLICE, TlsSlicer } from "../../src/transport/_tls_slices.ts";
import { concat } from "../xml/_mutations.ts";

/** A TLS record: application data, TLS 1.2 framing, `length` body bytes. */
function record(length: number, fill: number): Uint8Array {
  const bytes = new Uint8Array(5 + length).fill(fill);
  bytes.set([0x17, 0x03, 0x03, length >> 8, length & 0xff]);
  return bytes;
}

/** Cuts `stream` into chunks at `cuts` and slices each chunk. */
function sliced(stream: Uint8Array, cuts: number[]): Uint8Array[][] {
  const slicer = new TlsSlicer();
  const bounds = [0, ...cuts, stream.length];
  return bounds.slice(1).map((end, i) =>
    slicer.slices(stream.subarray(bounds[i]!, end))
  );
}

Deno.test("TlsSlicer gives back every byte in order, in views of the chunk of at most 4 KiB", () => {
  const stream = concat(record(16_384, 1), record(300, 2), record(9_000, 3));
  const chunks = sliced(stream, [20_000]);
  for (const slices of chunks) {
    for (const slice of slices) {
      assert.ok(slice.length > 0 && slice.length <= TLS_SLICE);
      assert.equal(slice.buffer, stream.buffer); // a view, not a copy
    }
  }
  assert.deepEqual(concat(...chunks.flat()), stream);
});

Deno.test("TlsSlicer starts a slice where the last record of a chunk starts", () => {
  const big = record(16_384, 1);
  const small = record(40, 2);
  const [slices] = sliced(concat(big, small), []);
  assert.deepEqual(slices!.at(-1), small);
  assert.equal(slices!.length, Math.ceil(big.length / TLS_SLICE) + 1);
});

Deno.test("TlsSlicer follows records across chunks, a header cut in two included", () => {
  const first = record(10_000, 1);
  const second = record(200, 2);
  const third = record(50, 3);
  const stream = concat(first, second, third);
  // The second chunk ends two bytes into the third record's header.
  const cut = first.length + second.length + 2;
  const [a, b] = sliced(stream, [6_000, cut]);
  assert.deepEqual(concat(...a!), stream.subarray(0, 6_000));
  // In the second chunk the last record to start is the third: its first
  // two bytes make a slice of their own.
  assert.deepEqual(b!.at(-1), third.subarray(0, 2));
  assert.deepEqual(concat(...b!), stream.subarray(6_000, cut));
  const [, , c] = sliced(stream, [6_000, cut]);
  assert.deepEqual(concat(...c!), third.subarray(2));
});

Deno.test("TlsSlicer cuts bytes that are not TLS at all without losing any", () => {
  const plaintext = new TextEncoder().encode(
    "<message to='juliet'>hi</message>".repeat(500),
  );
  const chunks = sliced(plaintext, [100, 7_000]);
  assert.deepEqual(concat(...chunks.flat()), plaintext);
  for (const slice of chunks.flat()) assert.ok(slice.length <= TLS_SLICE);
});

Deno.test("TlsSlicer gives an empty chunk no slice", () => {
  assert.deepEqual(new TlsSlicer().slices(new Uint8Array(0)), []);
});
