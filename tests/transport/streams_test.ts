import assert from "node:assert/strict";
import { fromStreams } from "../../src/transport/streams.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { expect, send } from "./_helpers.ts";

function joined() {
  const there = new TransformStream<Uint8Array, Uint8Array>();
  const back = new TransformStream<Uint8Array, Uint8Array>();
  return [
    fromStreams(back.readable, there.writable, {
      remote: { hostname: "b.example", port: 1 },
    }),
    fromStreams(there.readable, back.writable),
  ] as const;
}

Deno.test("fromStreams() echoes both ways", async () => {
  const [a, b] = joined();
  assert.deepEqual(a.remote, { hostname: "b.example", port: 1 });
  assert.equal(b.remote, undefined);
  const sent = send(a, "ping");
  assert.equal(await expect(b, "ping"), "ping");
  await sent;
  const back = send(b, "pong");
  assert.equal(await expect(a, "pong"), "pong");
  await back;
  a.close();
  b.close();
});

Deno.test("fromStreams() half-closes: the peer reads null and can still write back", async () => {
  const [a, b] = joined();
  await a.closeWrite();
  assert.equal(await b.read(), null);
  const back = send(b, "reply");
  assert.equal(await expect(a, "reply"), "reply");
  await back;
  await assert.rejects(send(a, "more"), TransportError);
  a.close();
  b.close();
});

Deno.test("fromStreams() close() is idempotent and ends a pending read", async () => {
  const [a, b] = joined();
  const pending = a.read();
  a.close();
  a.close();
  assert.equal(await pending, null);
  assert.equal(await a.read(), null);
  await assert.rejects(send(a, "x"), TransportError);
  b.close();
});

Deno.test("fromStreams() reports a failing stream as a TransportError", async () => {
  const readable = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.error(new Error("broken pipe"));
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write() {
      throw new Error("disk full");
    },
  });
  const t = fromStreams(readable, writable);
  await assert.rejects(t.read(), TransportError);
  await assert.rejects(send(t, "x"), TransportError);
  t.close();
});

Deno.test("fromStreams() cannot start TLS and says to turn it off by name", async () => {
  const [a, b] = joined();
  assert.equal(a.canStartTls, false);
  await assert.rejects(
    a.startTls(),
    (e) =>
      e instanceof TransportError && /turn TLS off by name/.test(e.message),
  );
  a.close();
  b.close();
});
