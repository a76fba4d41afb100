/**
 * What a parser keeps after input: nothing of a chunk it has read whole.
 * Measured in a child process with a forced GC (see _retention_probe.ts).
 */

import assert from "node:assert/strict";
import { probe } from "../_probe.ts";

Deno.test("a parser that has read a chunk whole keeps no part of it, not even through the stream header", async () => {
  const { idle, busy, together, deep } = await probe<
    Record<"idle" | "busy" | "together" | "deep", number>
  >(new URL("./_retention_probe.ts", import.meta.url), [
    "--v8-flags=--expose-gc",
  ]);
  // Each chunk is 32 KiB: keeping it, or a slice of it, costs that much.
  assert.ok(
    busy - idle < 2048,
    `after 32 KiB of stanzas ${busy.toFixed(0)} bytes a parser, ` +
      `${idle.toFixed(0)} before any`,
  );
  // The root element (the stream header) lives as long as the stream: its
  // names, namespaces and attribute values must not be slices of a chunk.
  assert.ok(
    together - idle < 2048,
    `after a header and 32 KiB of stanzas in one chunk ${
      together.toFixed(0)
    } bytes a parser, ${idle.toFixed(0)} with the header alone`,
  );
  // What a parser keeps per depth is sized for a few levels: stanzas nested
  // deeper grow it, and it goes back to that size once they are read.
  assert.ok(
    deep - busy < 256,
    `after stanzas nested 16 deep ${deep.toFixed(0)} bytes a parser, ` +
      `${busy.toFixed(0)} after shallow ones`,
  );
});
