import assert from "node:assert/strict";
import {
  KnownPeers,
  PeerChangedError,
  PeerRejectedError,
} from "../../src/transport/known_peers.ts";

const A = Array(32).fill("AB").join(":");
const B = Array(32).fill("CD").join(":");

/** An approve callback that records its calls and answers `answer`. */
function recorder(answer = true) {
  const calls: [string, string][] = [];
  const approve = (peer: string, fingerprint: string) => {
    calls.push([peer, fingerprint]);
    return answer;
  };
  return { calls, approve };
}

async function withTempDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("verify() asks about a new peer and stores it, then is silent", async () => {
  const { calls, approve } = recorder();
  const peers = await KnownPeers.open({ approve });
  await peers.verify("example.org", A);
  assert.deepEqual(calls, [["example.org", A]]);
  assert.equal(peers.get("example.org"), A);
  await peers.verify("example.org", A);
  assert.equal(calls.length, 1);
  assert.deepEqual(peers.entries(), [["example.org", A]]);
});

Deno.test("verify() rejects a changed fingerprint loudly without asking", async () => {
  const { calls, approve } = recorder();
  const peers = await KnownPeers.open({ approve });
  await peers.set("example.org", A);
  const error = await peers.verify("example.org", B).then(
    () => assert.fail("should reject"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof PeerChangedError);
  assert.equal(error.name, "PeerChangedError");
  assert.equal(error.peer, "example.org");
  assert.equal(error.expected, A);
  assert.equal(error.actual, B);
  assert.equal(
    error.message,
    `SECURITY: the certificate of example.org changed: expected SHA-256 ${A}, got ${B}; if this change is expected, remove the peer from the store`,
  );
  assert.equal(calls.length, 0);
  assert.equal(peers.get("example.org"), A);
});

Deno.test("verify() rejects a new peer that approve refuses, and does not store it", async () => {
  const { calls, approve } = recorder(false);
  const peers = await KnownPeers.open({
    approve: (p, f) => Promise.resolve(approve(p, f)),
  });
  await assert.rejects(
    peers.verify("example.org", A),
    (error: unknown) =>
      error instanceof PeerRejectedError && error.peer === "example.org" &&
      error.fingerprint === A && error.name === "PeerRejectedError",
  );
  assert.equal(calls.length, 1);
  assert.equal(peers.get("example.org"), undefined);
});

Deno.test("verify() refuses new peers without an approve callback", async () => {
  const peers = await KnownPeers.open();
  await assert.rejects(
    peers.verify("example.org", A),
    (error: unknown) =>
      error instanceof PeerRejectedError &&
      /no approve callback/.test(error.message),
  );
  assert.deepEqual(peers.entries(), []);
});

Deno.test("the file round-trips: saved, reopened, verified silently", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/known_peers.json`;
    const first = await KnownPeers.open({ file, approve: () => true });
    await first.verify("example.org", A);
    await first.set("juliet@capulet.example", B);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), {
      version: 1,
      peers: { "example.org": A, "juliet@capulet.example": B },
    });
    const { calls, approve } = recorder(false);
    const again = await KnownPeers.open({ file, approve });
    await again.verify("example.org", A);
    await again.verify("Juliet@Capulet.example", B);
    assert.equal(calls.length, 0);
    await assert.rejects(again.verify("example.org", B), PeerChangedError);
  });
});

Deno.test("saves are atomic and leave no temporary file", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const peers = await KnownPeers.open({ file });
    await Promise.all([
      peers.set("a.example", A),
      peers.set("b.example", B),
      peers.set("c.example", A),
    ]);
    assert.equal(await peers.delete("c.example"), true);
    const names = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names, ["peers.json"]);
    const reopened = await KnownPeers.open({ file });
    assert.deepEqual(reopened.entries(), [["a.example", A], ["b.example", B]]);
  });
});

Deno.test("a missing file is an empty store and is not created until a save", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const peers = await KnownPeers.open({ file });
    assert.deepEqual(peers.entries(), []);
    await assert.rejects(Deno.stat(file), Deno.errors.NotFound);
    await peers.set("a.example", A);
    assert.ok((await Deno.stat(file)).isFile);
  });
});

Deno.test("a malformed file is a clear error and is left unchanged", async () => {
  const cases = [
    "{ not json",
    "[]",
    JSON.stringify({ version: 2, peers: {} }),
    JSON.stringify({ version: 1, peers: [] }),
    JSON.stringify({ version: 1, peers: { "a.example": "nope" } }),
    JSON.stringify({ version: 1, peers: { "a.example": 42 } }),
    JSON.stringify({ version: 1, peers: { "a.example": A, "A.example": B } }),
  ];
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    for (const text of cases) {
      await Deno.writeTextFile(file, text);
      await assert.rejects(
        KnownPeers.open({ file, approve: () => true }),
        (error: unknown) =>
          error instanceof Error &&
          error.message.startsWith(`Malformed known peers file ${file}`),
        text,
      );
      assert.equal(await Deno.readTextFile(file), text);
    }
  });
});

Deno.test("peers and fingerprints are normalised", async () => {
  const { calls, approve } = recorder();
  const peers = await KnownPeers.open({ approve });
  await peers.verify("Example.ORG", "ab".repeat(32));
  assert.deepEqual(calls, [["example.org", A]]);
  assert.equal(peers.get("EXAMPLE.org"), A);
  await peers.verify("example.org", A.toLowerCase());
  await peers.verify("example.org", "AB".repeat(32));
  assert.equal(calls.length, 1);
  await assert.rejects(peers.verify("example.org", "AB:CD"), TypeError);
  await assert.rejects(peers.verify("example.org", "ZZ".repeat(32)), TypeError);
  await assert.rejects(peers.set("", A), TypeError);
  await assert.rejects(peers.set("b.example", A + ":EF"), TypeError);
});

Deno.test("concurrent verify() of one unknown peer asks once", async () => {
  let release!: (answer: boolean) => void;
  let asked = 0;
  const peers = await KnownPeers.open({
    approve: () => {
      asked++;
      return new Promise<boolean>((resolve) => release = resolve);
    },
  });
  const all = Promise.all([
    peers.verify("example.org", A),
    peers.verify("EXAMPLE.org", A),
    peers.verify("example.org", A.replaceAll(":", "")),
  ]);
  await Promise.resolve();
  release(true);
  await all;
  assert.equal(asked, 1);

  const refused = Promise.allSettled([
    peers.verify("other.example", B),
    peers.verify("other.example", B),
  ]);
  await Promise.resolve();
  release(false);
  const results = await refused;
  assert.equal(asked, 2);
  for (const result of results) {
    assert.equal(result.status, "rejected");
    assert.ok(
      (result as PromiseRejectedResult).reason instanceof PeerRejectedError,
    );
  }
});

Deno.test("delete() forgets a peer, which is then asked about again", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const { calls, approve } = recorder();
    const peers = await KnownPeers.open({ file, approve });
    await peers.verify("example.org", A);
    await assert.rejects(peers.verify("example.org", B), PeerChangedError);
    assert.equal(await peers.delete("Example.org"), true);
    assert.equal(await peers.delete("example.org"), false);
    assert.equal(peers.get("example.org"), undefined);
    await peers.verify("example.org", B);
    assert.deepEqual(calls, [["example.org", A], ["example.org", B]]);
    const reopened = await KnownPeers.open({ file });
    assert.equal(reopened.get("example.org"), B);
  });
});
