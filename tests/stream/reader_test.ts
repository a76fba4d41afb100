import assert from "node:assert/strict";
import { FrameReader } from "../../src/stream/reader.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { pair } from "./_pair.ts";

Deno.test("FrameReader hands each chunk back to the transport once parsed, frames of it still to come included", async () => {
  const [a, b] = pair();
  const released: string[] = [];
  const transport: Transport = {
    read: () => b.read(),
    write: (bytes) => b.write(bytes),
    canStartTls: false,
    startTls: () => b.startTls(),
    closeWrite: () => b.closeWrite(),
    close: () => b.close(),
    get tls() {
      return undefined;
    },
    get remote() {
      return undefined;
    },
    release(chunk: Uint8Array) {
      released.push(new TextDecoder().decode(chunk));
      chunk.fill(0); // whatever the transport does with it now
    },
  };
  const reader = new FrameReader(transport, {});
  const encoder = new TextEncoder();
  await a.write(
    encoder.encode(
      "<stream:stream xmlns='jabber:client' xmlns:stream=" +
        "'http://etherx.jabber.org/streams' version='1.0'><a/><b/>",
    ),
  );
  const header = await reader.next();
  assert.equal(header?.type, "header");
  // The chunk was decoded when written to the parser: handed back before
  // its other frames are read, which are whole all the same.
  assert.equal(released.length, 1);
  const names = [];
  for (let i = 0; i < 2; i++) {
    const frame = await reader.next();
    assert.equal(frame?.type, "element");
    if (frame?.type === "element") names.push(frame.element.name);
  }
  assert.deepEqual(names, ["a", "b"]);
  await a.write(encoder.encode("<c>é</c>"));
  const c = await reader.next();
  assert.equal(c?.type === "element" && c.element.text(), "é");
  assert.equal(released.length, 2);
  assert.equal(released[1], "<c>é</c>");
  a.close();
  b.close();
});
