// Our own SOCKS5 streamhost against scripted clients: what it refuses and
// how (RFC 1928 reply codes), its handshake deadline and bound, and expect()
// ending with a typed error on timeout, abort and close.

import assert from "node:assert/strict";
import {
  connectSocks5,
  Socks5Error,
  type Socks5ErrorReason,
  Socks5Server,
} from "../../src/jingle/mod.ts";
import { connectRequest, readN, untilClosed } from "./_socks5_peers.ts";

const HASH = "972b7bf47291ca609517f67f86b5081086052dad";

function isSocks5(reason: Socks5ErrorReason) {
  return (error: unknown) =>
    error instanceof Socks5Error && error.reason === reason;
}

/** A server whose refusals are collected, and a refusal to wait for. */
function listen(
  options: { handshakeTimeoutMs?: number; maxHandshakes?: number } = {},
) {
  const refusals: Socks5Error[] = [];
  let wake: (() => void) | undefined;
  const server = Socks5Server.listen({
    ...options,
    onRefused: (error) => {
      refusals.push(error);
      wake?.();
    },
  });
  const refused = async (count: number) => {
    while (refusals.length < count) {
      await new Promise<void>((resolve) => wake = resolve);
    }
    return refusals.map((e) => e.reason);
  };
  return { server, refused };
}

async function dial(server: Socks5Server): Promise<Deno.Conn> {
  return await Deno.connect({ hostname: server.hostname, port: server.port });
}

Deno.test("Socks5Server answers a client that offers no unauthenticated method with 05 FF, and closes", async () => {
  const { server, refused } = listen();
  const conn = await dial(server);
  await conn.write(new Uint8Array([5, 1, 2]));
  assert.deepEqual(await readN(conn, 3), new Uint8Array([5, 0xff]));
  assert.deepEqual(await refused(1), ["refused"]);
  conn.close();
  await server.close();
});

Deno.test("Socks5Server refuses another command than CONNECT with reply 07, and an IPv4 address with 08", async () => {
  const { server, refused } = listen();
  const udp = await dial(server);
  await udp.write(new Uint8Array([5, 1, 0]));
  assert.deepEqual(await readN(udp, 2), new Uint8Array([5, 0]));
  await udp.write(connectRequest(HASH, 3));
  assert.deepEqual(
    (await readN(udp, 11)).subarray(0, 2),
    new Uint8Array([5, 7]),
  );
  const ipv4 = await dial(server);
  await ipv4.write(new Uint8Array([5, 1, 0]));
  await readN(ipv4, 2);
  await ipv4.write(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, 0, 0]));
  assert.deepEqual(
    (await readN(ipv4, 11)).subarray(0, 2),
    new Uint8Array([5, 8]),
  );
  assert.deepEqual(await refused(2), ["refused", "refused"]);
  udp.close();
  ipv4.close();
  await server.close();
});

Deno.test("Socks5Server closes a client that does not speak SOCKS5, or closes mid-handshake, and reports protocol", async () => {
  const { server, refused } = listen();
  const http = await dial(server);
  await http.write(new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
  await untilClosed(http);
  http.close();
  const quitter = await dial(server);
  await quitter.write(new Uint8Array([5, 1, 0]));
  await readN(quitter, 2);
  await quitter.write(connectRequest(HASH).subarray(0, 10));
  quitter.close();
  assert.deepEqual(await refused(2), ["protocol", "protocol"]);
  await server.close();
});

Deno.test("Socks5Server closes a connection that does not finish the handshake in time, and reports timeout", async () => {
  const { server, refused } = listen({ handshakeTimeoutMs: 50 });
  const silent = await dial(server);
  await untilClosed(silent);
  silent.close();
  assert.deepEqual(await refused(1), ["timeout"]);
  await server.close();
});

Deno.test("Socks5Server drops connections past maxHandshakes at once, and reports busy", async () => {
  const { server, refused } = listen({ maxHandshakes: 1 });
  const first = await dial(server);
  await first.write(new Uint8Array([5, 1, 0]));
  await readN(first, 2); // under way now
  const second = await dial(server);
  await untilClosed(second);
  second.close();
  assert.deepEqual(await refused(1), ["busy"]);
  first.close();
  await refused(2);
  await server.close();
});

Deno.test("Socks5Server.expect() fails timeout, aborted with the signal's reason, and closed when the server closes", async () => {
  const server = Socks5Server.listen();
  await assert.rejects(
    server.expect(HASH, { timeoutMs: 20 }),
    isSocks5("timeout"),
  );
  const reason = new Error("no longer");
  const controller = new AbortController();
  const aborted = server.expect(HASH, { signal: controller.signal });
  controller.abort(reason);
  await assert.rejects(
    aborted,
    (error) => isSocks5("aborted")(error) && (error as Error).cause === reason,
  );
  await assert.rejects(
    server.expect(HASH, { signal: AbortSignal.abort(reason) }),
    isSocks5("aborted"),
  );
  const waiting = assert.rejects(server.expect(HASH), isSocks5("closed"));
  await assert.rejects(server.expect(HASH), TypeError);
  await assert.rejects(server.expect("not a hash"), TypeError);
  await server.close();
  await waiting;
  await assert.rejects(server.expect(HASH), isSocks5("closed"));
  await assert.rejects(
    connectSocks5(server.hostname, server.port, HASH),
    isSocks5("connect-failed"),
  );
});

Deno.test("Socks5Server.close() ends handshakes under way", async () => {
  const { server, refused } = listen();
  const pending = await dial(server);
  await pending.write(new Uint8Array([5, 1, 0]));
  await readN(pending, 2);
  await server.close();
  await untilClosed(pending);
  pending.close();
  assert.equal((await refused(1)).length, 1);
});

Deno.test("Socks5Server.listen() rejects out-of-range options", () => {
  assert.throws(() => Socks5Server.listen({ maxHandshakes: 0 }), RangeError);
  assert.throws(
    () => Socks5Server.listen({ handshakeTimeoutMs: -1 }),
    RangeError,
  );
});
