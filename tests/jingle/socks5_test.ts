// SOCKS5 Bytestreams on loopback: the DST.ADDR hash against the XEPs'
// examples, our client against our own streamhost, and each fault on either
// side (a wrong hash, a peer that closes, talks garbage or stays silent, an
// abort) ending with a typed error and nothing left open (Deno's
// sanitizers stay on).

import assert from "node:assert/strict";
import {
  connectSocks5,
  socks5DestinationAddress,
  Socks5Error,
  type Socks5ErrorReason,
  Socks5Server,
} from "../../src/jingle/mod.ts";
import {
  connectRequest,
  readN,
  scriptedServer,
  untilClosed,
} from "./_socks5_peers.ts";

const HASH = "972b7bf47291ca609517f67f86b5081086052dad";

function isSocks5(reason: Socks5ErrorReason) {
  return (error: unknown) =>
    error instanceof Socks5Error && error.reason === reason;
}

function bytes(size: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + seed) & 0xff);
}

Deno.test("socks5DestinationAddress() gives the hashes of the XEP-0065 and XEP-0260 examples", async () => {
  assert.equal(
    await socks5DestinationAddress(
      "vj3hs98y",
      "romeo@montague.lit/orchard",
      "juliet@capulet.lit/balcony",
    ),
    HASH,
  );
  assert.equal(
    await socks5DestinationAddress(
      "vj3hs98y",
      "juliet@capulet.lit/balcony",
      "romeo@montague.lit/orchard",
    ),
    "1a12fb7bc625e55f3ed5b29a53dbe0e4aa7d80ba",
  );
  assert.equal(
    await socks5DestinationAddress(
      "yia72g3v49j7",
      "requester@example.com/foo",
      "room@conference.example.net/Tget",
    ),
    "416781edf1ae50bad01cb8509ba35b43952bc345",
  );
});

Deno.test("connectSocks5() to our Socks5Server carries bytes both ways, whole and in order", async () => {
  await using server = Socks5Server.listen();
  const expected = server.expect(HASH, { timeoutMs: 5_000 });
  const mine = await connectSocks5(server.hostname, server.port, HASH);
  const theirs = await expected;
  try {
    const there = bytes(300_000, 1);
    const back = bytes(200_000, 2);
    const [heard, answered] = await Promise.all([
      readN(theirs, there.length),
      readN(mine, back.length),
      mine.write(there).then(async function all(n): Promise<void> {
        if (n < there.length) await mine.write(there.subarray(n)).then(all);
      }),
      theirs.write(back).then(async function all(n): Promise<void> {
        if (n < back.length) await theirs.write(back.subarray(n)).then(all);
      }),
    ]);
    assert.deepEqual(heard, there);
    assert.deepEqual(answered, back);
  } finally {
    mine.close();
    theirs.close();
  }
});

Deno.test("connectSocks5() resolves positioned right after the reply: bytes sent with it are the first read", async () => {
  const peer = scriptedServer(async (conn) => {
    assert.deepEqual(await readN(conn, 3), new Uint8Array([5, 1, 0]));
    await conn.write(new Uint8Array([5, 0]));
    assert.deepEqual(await readN(conn, 47), connectRequest(HASH));
    const reply = connectRequest(HASH, 0);
    await conn.write(new Uint8Array([...reply, ...bytes(5, 9)]));
    await untilClosed(conn);
  });
  const conn = await connectSocks5("127.0.0.1", peer.port, HASH);
  assert.deepEqual(await readN(conn, 5), bytes(5, 9));
  conn.close();
  await peer.done();
});

Deno.test("a wrong hash is refused by our Socks5Server: the client's promise rejects refused, the server reports hash-mismatch", async () => {
  const refusals: Socks5Error[] = [];
  await using server = Socks5Server.listen({
    onRefused: (error) => refusals.push(error),
  });
  const expected = server.expect(HASH, { timeoutMs: 5_000 });
  await assert.rejects(
    connectSocks5(server.hostname, server.port, "f".repeat(40)),
    (error) =>
      isSocks5("refused")(error) &&
      /connection not allowed/.test((error as Error).message),
  );
  assert.deepEqual(refusals.map((e) => e.reason), ["hash-mismatch"]);
  // The expected one still gets through, once; a second one is refused.
  const mine = await connectSocks5(server.hostname, server.port, HASH);
  (await expected).close();
  await assert.rejects(
    connectSocks5(server.hostname, server.port, HASH),
    isSocks5("refused"),
  );
  mine.close();
  assert.deepEqual(refusals.map((e) => e.reason), [
    "hash-mismatch",
    "hash-mismatch",
  ]);
});

Deno.test("connectSocks5() fails connect-failed when nobody listens", async () => {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = probe.addr;
  probe.close();
  await assert.rejects(
    connectSocks5("127.0.0.1", port, HASH),
    isSocks5("connect-failed"),
  );
});

const faults: {
  name: string;
  reason: Socks5ErrorReason;
  script: (conn: Deno.Conn) => Promise<void>;
}[] = [
  {
    name: "closes after the greeting",
    reason: "protocol",
    script: async (conn) => {
      await readN(conn, 3);
      conn.close();
    },
  },
  {
    name: "closes in the middle of its reply",
    reason: "protocol",
    script: async (conn) => {
      await readN(conn, 3);
      await conn.write(new Uint8Array([5, 0]));
      await readN(conn, 47);
      await conn.write(connectRequest(HASH, 0).subarray(0, 20));
      conn.close();
    },
  },
  {
    name: "answers as SOCKS4",
    reason: "protocol",
    script: async (conn) => {
      await readN(conn, 3);
      await conn.write(new Uint8Array([4, 0x5a]));
      await untilClosed(conn);
    },
  },
  {
    name: "chooses a method not offered",
    reason: "protocol",
    script: async (conn) => {
      await readN(conn, 3);
      await conn.write(new Uint8Array([5, 2]));
      await untilClosed(conn);
    },
  },
  {
    name: "wants authentication",
    reason: "refused",
    script: async (conn) => {
      await readN(conn, 3);
      await conn.write(new Uint8Array([5, 0xff]));
      await untilClosed(conn);
    },
  },
  {
    name: "replies failure as mod_proxy65 does",
    reason: "refused",
    script: async (conn) => {
      await readN(conn, 3);
      await conn.write(new Uint8Array([5, 0]));
      await readN(conn, 47);
      await conn.write(new Uint8Array([5, 1, 0, 3, 0, 0, 0]));
      conn.close();
    },
  },
  {
    name: "replies with an unknown address type",
    reason: "protocol",
    script: async (conn) => {
      await readN(conn, 3);
      await conn.write(new Uint8Array([5, 0]));
      await readN(conn, 47);
      await conn.write(new Uint8Array([5, 0, 0, 9, 0, 0, 0]));
      await untilClosed(conn);
    },
  },
  {
    name: "echoes another hash",
    reason: "hash-mismatch",
    script: async (conn) => {
      await readN(conn, 3);
      await conn.write(new Uint8Array([5, 0]));
      await readN(conn, 47);
      await conn.write(connectRequest("e".repeat(40), 0));
      await untilClosed(conn);
    },
  },
  {
    name: "stays silent",
    reason: "timeout",
    script: untilClosed,
  },
];

for (const fault of faults) {
  Deno.test(`connectSocks5() to a server that ${fault.name} fails ${fault.reason} and closes its connection`, async () => {
    const peer = scriptedServer(fault.script);
    await assert.rejects(
      connectSocks5("127.0.0.1", peer.port, HASH, { timeoutMs: 200 }),
      isSocks5(fault.reason),
    );
    // The script only ends once our side closed (or closed itself).
    await peer.done();
  });
}

Deno.test("connectSocks5() accepts a reply with an IPv4 address in place of the echoed hash", async () => {
  const peer = scriptedServer(async (conn) => {
    await readN(conn, 3);
    await conn.write(new Uint8Array([5, 0]));
    await readN(conn, 47);
    await conn.write(new Uint8Array([5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]));
    await untilClosed(conn);
  });
  const conn = await connectSocks5("127.0.0.1", peer.port, HASH);
  conn.close();
  await peer.done();
});

Deno.test("connectSocks5() aborted in the middle of the handshake fails aborted with the signal's reason and closes", async () => {
  const peer = scriptedServer(untilClosed);
  const controller = new AbortController();
  const reason = new Error("changed my mind");
  const connecting = connectSocks5("127.0.0.1", peer.port, HASH, {
    signal: controller.signal,
  });
  setTimeout(() => controller.abort(reason), 50);
  await assert.rejects(
    connecting,
    (error) => isSocks5("aborted")(error) && (error as Error).cause === reason,
  );
  await peer.done();
  await assert.rejects(
    connectSocks5("127.0.0.1", peer.port, HASH, {
      signal: AbortSignal.abort(reason),
    }),
    isSocks5("aborted"),
  );
});

Deno.test("connectSocks5() rejects a malformed DST.ADDR or deadline before dialing", async () => {
  await assert.rejects(connectSocks5("127.0.0.1", 1, ""), TypeError);
  await assert.rejects(connectSocks5("127.0.0.1", 1, "a b"), TypeError);
  await assert.rejects(
    connectSocks5("127.0.0.1", 1, "a".repeat(256)),
    TypeError,
  );
  await assert.rejects(
    connectSocks5("127.0.0.1", 1, HASH, { timeoutMs: 0 }),
    RangeError,
  );
});
