import assert from "node:assert/strict";
import {
  type Line,
  lines,
  MAX_LINE_BYTES,
  printable,
} from "../../src/cli/io.ts";

function streamOf(
  ...chunks: (string | Uint8Array)[]
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(
    chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c),
  );
}

async function all(input: ReadableStream<Uint8Array>): Promise<Line[]> {
  return await Array.fromAsync(lines(input));
}

Deno.test("lines() splits on line feeds across chunks, drops a carriage return before one, and keeps a last line without one", async () => {
  const bytes = new TextEncoder().encode("é");
  assert.deepEqual(
    await all(
      streamOf(
        "one\r\ntw",
        "o\n\nthr",
        bytes.subarray(0, 1),
        bytes.subarray(1),
        "e",
      ),
    ),
    [{ text: "one" }, { text: "two" }, { text: "" }, { text: "thrée" }],
  );
});

Deno.test("lines() skips a line longer than the limit, tells its size, and goes on with the next", async () => {
  const long = "x".repeat(MAX_LINE_BYTES + 1);
  assert.deepEqual(
    await all(streamOf(long.slice(0, 1000), long.slice(1000), "\nafter\n")),
    [{ tooLong: MAX_LINE_BYTES + 1 }, { text: "after" }],
  );
  assert.deepEqual(await all(streamOf("x".repeat(MAX_LINE_BYTES))), [
    { text: "x".repeat(MAX_LINE_BYTES) },
  ]);
  assert.deepEqual(await all(streamOf(long)), [{
    tooLong: MAX_LINE_BYTES + 1,
  }]);
});

Deno.test("printable() turns control characters a terminal would obey into U+FFFD", () => {
  assert.equal(printable("a\u009b31mb\tc\r\nd"), "a\ufffd31mb\tc\nd");
  assert.equal(printable("plain"), "plain");
});
