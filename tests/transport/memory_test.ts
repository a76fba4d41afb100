import assert from "node:assert/strict";
import { memoryPair } from "../../src/transport/memory.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { expect, send } from "./_helpers.ts";

Deno.test("memoryPair() echoes in order both ways", async () => {
  const [a, b] = memoryPair();
  await send(a, "one ");
  await send(a, "two");
  assert.equal(await expect(b, "one two"), "one two");
  await send(b, "back");
  assert.equal(await expect(a, "back"), "back");
  a.close();
  b.close();
});

Deno.test("memoryPair() copies what is written", async () => {
  const [a, b] = memoryPair();
  const bytes = new TextEncoder().encode("abc");
  await a.write(bytes);
  bytes[0] = 0x78;
  assert.equal(await expect(b, "abc"), "abc");
  a.close();
  b.close();
});

Deno.test("memoryPair() half-closes: the peer reads null and can still write back", async () => {
  const [a, b] = memoryPair();
  await send(a, "last");
  await a.closeWrite();
  assert.equal(await expect(b, "last"), "last");
  assert.equal(await b.read(), null);
  assert.equal(await b.read(), null);
  await send(b, "reply");
  assert.equal(await expect(a, "reply"), "reply");
  await assert.rejects(send(a, "more"), TransportError);
  a.close();
  b.close();
});

Deno.test("memoryPair() close() is idempotent and ends a pending read on both ends", async () => {
  const [a, b] = memoryPair();
  const pendingA = a.read();
  const pendingB = b.read();
  a.close();
  a.close();
  assert.equal(await pendingA, null);
  assert.equal(await pendingB, null);
  assert.equal(await a.read(), null);
  await assert.rejects(send(a, "x"), TransportError);
  b.close();
});

Deno.test("memoryPair() refuses a second read while one is pending", async () => {
  const [a, b] = memoryPair();
  const pending = a.read();
  await assert.rejects(a.read(), TransportError);
  b.close();
  assert.equal(await pending, null);
  a.close();
});

Deno.test("memoryPair() cannot start TLS and says to turn it off by name", async () => {
  const [a, b] = memoryPair();
  assert.equal(a.canStartTls, false);
  assert.equal(a.tls, undefined);
  assert.equal(a.remote, undefined);
  await assert.rejects(
    a.startTls(),
    (e) =>
      e instanceof TransportError && /cannot do TLS; turn TLS off by name/
        .test(e.message),
  );
  a.close();
  b.close();
});
