import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import {
  KnownPeers,
  KnownPeersFileError,
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

/** The names in a directory, sorted. */
async function listDir(dir: string): Promise<string[]> {
  const names = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
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
    assert.deepEqual(await listDir(dir), [".peers.json.lock", "peers.json"]);
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
          error instanceof KnownPeersFileError && error.file === file &&
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

Deno.test("a malformed file is a KnownPeersFileError that says why, also for a key given twice", async () => {
  const cases: [string, string | RegExp][] = [
    ["{ not json", /^not JSON \(Expected a string key at line 1, column 3\)$/],
    ["", /^not JSON \(Unexpected end of text/],
    ["[]", "not a JSON object"],
    [JSON.stringify({ version: 2, peers: {} }), "unsupported version 2"],
    [JSON.stringify({ peers: {} }), "unsupported version undefined"],
    [JSON.stringify({ version: 1, peers: [] }), `"peers" is not an object`],
    [
      JSON.stringify({ version: 1, peers: { "a.example": "nope" } }),
      `bad entry "a.example"`,
    ],
    [
      JSON.stringify({ version: 1, peers: { "a.example": A, "A.example": B } }),
      "conflicting entries for a.example",
    ],
    [
      `{"version": 1, "peers": {"a.example": "${A}", "a.example": "${B}"}}`,
      `duplicate key "a.example" at line 1, column ${
        `{"version": 1, "peers": {"a.example": "${A}", `.length + 1
      }`,
    ],
    [
      `{"version": 1, "peers": {"a.example": "${A}",\n "a.example": "${A}"}}`,
      `duplicate key "a.example" at line 2, column 2`,
    ],
    [
      `{"version": 1, "peers": {"a.example": "${A}", "\\u0061.example": "${B}"}}`,
      /^duplicate key "a\.example"/,
    ],
    [`{"version": 1, "version": 1, "peers": {}}`, /^duplicate key "version"/],
  ];
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    for (const [text, reason] of cases) {
      await Deno.writeTextFile(file, text);
      const error = await KnownPeers.open({ file }).then(
        () => assert.fail(`should refuse ${text}`),
        (error: unknown) => error,
      );
      assert.ok(error instanceof KnownPeersFileError, text);
      assert.ok(error instanceof Error);
      assert.equal(error.name, "KnownPeersFileError");
      assert.equal(error.file, file);
      if (typeof reason === "string") assert.equal(error.reason, reason, text);
      else assert.match(error.reason, reason, text);
      assert.equal(
        error.message,
        `Malformed known peers file ${file}: ${error.reason}; fix or remove it`,
      );
      assert.equal(await Deno.readTextFile(file), text);
    }
    assert.deepEqual(await listDir(dir), [".peers.json.lock", "peers.json"]);
  });
});

Deno.test("a file that turns malformed is refused by reads and changes, and left untouched", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const peers = await KnownPeers.open({ file, approve: () => true });
    await peers.set("a.example", A);
    const text =
      `{"version": 1, "peers": {"a.example": "${A}", "a.example": "${B}"}}`;
    await Deno.writeTextFile(file, text);
    assert.throws(() => peers.get("a.example"), KnownPeersFileError);
    assert.throws(() => peers.entries(), KnownPeersFileError);
    await assert.rejects(peers.verify("a.example", A), KnownPeersFileError);
    await assert.rejects(peers.verify("b.example", A), KnownPeersFileError);
    await assert.rejects(peers.set("b.example", A), KnownPeersFileError);
    await assert.rejects(peers.delete("a.example"), KnownPeersFileError);
    assert.equal(await Deno.readTextFile(file), text);
    assert.deepEqual(await listDir(dir), [".peers.json.lock", "peers.json"]);
  });
});

Deno.test("two stores sharing a file see each other's changes at once", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const { calls, approve } = recorder();
    const here = await KnownPeers.open({ file, approve });
    const there = await KnownPeers.open({ file });
    await there.set("a.example", A);
    assert.equal(here.get("a.example"), A);
    await assert.rejects(here.verify("a.example", B), PeerChangedError);
    // Same size, written right away: only the content tells the change.
    await there.set("a.example", B);
    assert.equal(here.get("a.example"), B);
    await here.verify("a.example", B);
    assert.equal(await there.delete("a.example"), true);
    assert.deepEqual(here.entries(), []);
    assert.equal(calls.length, 0);
    await here.verify("a.example", A);
    assert.deepEqual(calls, [["a.example", A]]);
    assert.equal(there.get("a.example"), A);
  });
});

Deno.test("a recent change that keeps the file's inode, size and mtime is still seen", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const peers = await KnownPeers.open({ file });
    await peers.set("a.example", A);
    assert.equal(peers.get("a.example"), A);
    const before = await Deno.stat(file);
    // Rewritten in place, its time put back: what a fast writer whose file
    // reuses the old inode within one timestamp tick leaves.
    await Deno.writeTextFile(
      file,
      (await Deno.readTextFile(file)).replace(A, B),
    );
    await Deno.utime(file, before.atime!, before.mtime!);
    const after = await Deno.stat(file);
    assert.deepEqual(
      [after.ino, after.size, after.mtime?.getTime()],
      [before.ino, before.size, before.mtime?.getTime()],
    );
    assert.equal(peers.get("a.example"), B);
    await assert.rejects(peers.verify("a.example", A), PeerChangedError);
  });
});

Deno.test("changes through two stores sharing a file keep each other's entries", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const here = await KnownPeers.open({ file, approve: () => true });
    const there = await KnownPeers.open({ file, approve: () => true });
    await Promise.all([
      ...["a", "b", "c"].map((p) => here.verify(`${p}.here`, A)),
      ...["a", "b", "c"].map((p) => there.verify(`${p}.there`, B)),
      here.set("d.here", A),
      there.set("d.there", B),
    ]);
    assert.equal(await here.delete("d.there"), true);
    assert.equal(await there.delete("d.here"), true);
    const expected = [
      ["a.here", A],
      ["a.there", B],
      ["b.here", A],
      ["b.there", B],
      ["c.here", A],
      ["c.there", B],
    ];
    assert.deepEqual(here.entries(), expected);
    assert.deepEqual(there.entries(), expected);
    assert.deepEqual(
      Object.entries(JSON.parse(await Deno.readTextFile(file)).peers),
      expected,
    );
  });
});

Deno.test("an approval is refused when the peer was pinned with another fingerprint while approve ran", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const there = await KnownPeers.open({ file, approve: () => true });
    let asked = 0;
    const here = await KnownPeers.open({
      file,
      approve: async () => {
        asked++;
        await there.verify("p.example", A);
        return true;
      },
    });
    const results = await Promise.allSettled([
      here.verify("p.example", B),
      here.verify("P.example", B),
    ]);
    assert.equal(asked, 1);
    for (const result of results) {
      assert.equal(result.status, "rejected");
      const { reason } = result as PromiseRejectedResult;
      assert.ok(reason instanceof PeerChangedError);
      assert.equal(reason.expected, A);
      assert.equal(reason.actual, B);
    }
    assert.equal(here.get("p.example"), A);
    assert.equal(
      JSON.parse(await Deno.readTextFile(file)).peers["p.example"],
      A,
    );
    // The same fingerprint pinned meanwhile is fine.
    const again = await KnownPeers.open({
      file,
      approve: async () => {
        await there.verify("q.example", A);
        return true;
      },
    });
    await again.verify("q.example", A);
    assert.equal(again.get("q.example"), A);
  });
});

Deno.test("concurrent verify() of one unknown peer in a file-backed store asks once", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const { calls, approve } = recorder();
    const peers = await KnownPeers.open({ file, approve });
    await Promise.all([
      peers.verify("example.org", A),
      peers.verify("EXAMPLE.org", A),
      peers.verify("example.org", A.replaceAll(":", "")),
    ]);
    assert.deepEqual(calls, [["example.org", A]]);
    await assert.rejects(peers.verify("example.org", B), PeerChangedError);
    assert.deepEqual((await KnownPeers.open({ file })).entries(), [
      ["example.org", A],
    ]);
  });
});

Deno.test("open() and changes remove temporary files left by a killed writer, and only those", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const stale = () => `.peers.json.${crypto.randomUUID()}.tmp`;
    const others = [
      `.peers.json.x.${crypto.randomUUID()}.tmp`, // of the store peers.json.x
      ".peers.json.not-a-uuid.tmp",
      `peers.json.${crypto.randomUUID()}.tmp`,
      "other.tmp",
    ];
    for (const name of [stale(), stale(), ...others]) {
      await Deno.writeTextFile(`${dir}/${name}`, "{ half written");
    }
    const peers = await KnownPeers.open({ file });
    assert.deepEqual(
      await listDir(dir),
      [".peers.json.lock", ...others].sort(),
    );
    await Deno.writeTextFile(`${dir}/${stale()}`, "{ half written");
    await peers.set("a.example", A);
    assert.deepEqual(
      await listDir(dir),
      [".peers.json.lock", "peers.json", ...others].sort(),
    );
  });
});

Deno.test("a store in a directory that does not exist opens empty, and cannot be changed", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/missing/peers.json`;
    const peers = await KnownPeers.open({ file, approve: () => true });
    assert.deepEqual(peers.entries(), []);
    await assert.rejects(peers.set("a.example", A), Deno.errors.NotFound);
    await assert.rejects(peers.verify("a.example", A), Deno.errors.NotFound);
    assert.deepEqual(await listDir(dir), []);
  });
});

// Multi-process tests: the other process runs _known_peers_child.ts.

const CHILD = fileURLToPath(
  new URL("./_known_peers_child.ts", import.meta.url),
);

/**
 * A child process running _known_peers_child.ts, read line by line. Disposing
 * of it kills it if it still runs, reads its output to the end and waits for
 * its exit, so no test leaves a process or a resource behind.
 */
class Child {
  readonly process: Deno.ChildProcess;
  readonly #lines: AsyncGenerator<string>;

  constructor(dir: string, args: string[], stdin: "piped" | "null" = "null") {
    this.process = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        `--allow-read=${dir}`,
        `--allow-write=${dir}`,
        CHILD,
        ...args,
      ],
      stdin,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = linesOf(this.process.stdout);
  }

  /** The next line it printed, or undefined once its output ended. */
  async line(): Promise<string | undefined> {
    const { done, value } = await this.#lines.next();
    return done ? undefined : value;
  }

  /** The lines it prints until its output ends. */
  async rest(): Promise<string[]> {
    const lines = [];
    for (let line; (line = await this.line()) !== undefined;) lines.push(line);
    return lines;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.process.kill("SIGKILL");
    } catch {
      // It has exited already.
    }
    await this.rest();
    await this.process.status;
  }
}

/** The lines of a byte stream, read to its end. */
async function* linesOf(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let buffer = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    for (let end; (end = buffer.indexOf("\n")) >= 0;) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
    }
  }
  if (buffer !== "") yield buffer;
}

/** A fingerprint made from a number, as the child makes them. */
function fingerprintOf(n: number): string {
  return n.toString(16).padStart(64, "0").match(/../g)!.join(":").toUpperCase();
}

/** The peers in a store file, read without KnownPeers. */
async function peersIn(file: string): Promise<Record<string, string>> {
  const data = JSON.parse(await Deno.readTextFile(file));
  assert.equal(data.version, 1);
  return data.peers;
}

/** The temporary files of peers.json in a directory. */
async function tempsIn(dir: string): Promise<string[]> {
  return (await listDir(dir)).filter((name) => name.endsWith(".tmp"));
}

Deno.test("a pin made by another process while approve runs makes the approval a PeerChangedError", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const other: string[][] = [];
    const peers = await KnownPeers.open({
      file,
      approve: async () => {
        // Opened after this store, the other process pins the peer first.
        await using child = new Child(dir, ["pin", file, "p.example", A]);
        other.push(await child.rest());
        assert.equal((await child.process.status).code, 0);
        return true;
      },
    });
    const error = await peers.verify("p.example", B).then(
      () => assert.fail("should reject"),
      (error: unknown) => error,
    );
    assert.deepEqual(other, [["ok"]]);
    assert.ok(error instanceof PeerChangedError);
    assert.equal(error.expected, A);
    assert.equal(error.actual, B);
    assert.deepEqual(await peersIn(file), { "p.example": A });
    assert.equal(peers.get("p.example"), A);
  });
});

Deno.test("a store sees a pin another process added after it was opened", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    const { calls, approve } = recorder();
    const peers = await KnownPeers.open({ file, approve });
    await peers.set("a.example", A);
    {
      await using child = new Child(dir, ["pin", file, "p.example", A]);
      assert.deepEqual(await child.rest(), ["ok"]);
    }
    await assert.rejects(
      peers.verify("p.example", B),
      (error: unknown) =>
        error instanceof PeerChangedError && error.expected === A &&
        error.actual === B,
    );
    assert.equal(calls.length, 0);
    assert.deepEqual(peers.entries(), [["a.example", A], ["p.example", A]]);
    {
      // And the other way round: the child refuses what this store pinned.
      await using child = new Child(dir, ["pin", file, "a.example", B]);
      assert.deepEqual(await child.rest(), ["PeerChangedError"]);
    }
    assert.deepEqual(await peersIn(file), {
      "a.example": A,
      "p.example": A,
    });
  });
});

Deno.test("two processes approving 300 peers each at once keep all 600", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    await using one = new Child(
      dir,
      ["approve-many", file, "one", "300"],
      "piped",
    );
    await using two = new Child(
      dir,
      ["approve-many", file, "two", "300"],
      "piped",
    );
    assert.equal(await one.line(), "ready");
    assert.equal(await two.line(), "ready");
    await Promise.all([one.process.stdin.close(), two.process.stdin.close()]);
    assert.deepEqual(await one.rest(), ["done"]);
    assert.deepEqual(await two.rest(), ["done"]);
    assert.equal((await one.process.status).code, 0);
    assert.equal((await two.process.status).code, 0);
    const peers = await peersIn(file);
    assert.equal(Object.keys(peers).length, 600);
    for (let i = 0; i < 300; i++) {
      assert.equal(peers[`one-${i}`], fingerprintOf(i));
      assert.equal(peers[`two-${i}`], fingerprintOf(i));
    }
  });
});

Deno.test("a writer killed at random moments leaves a valid store with every completed save, and no temporary file", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    // A big file, so that many kills land in the middle of a write.
    const seed = Array.from(
      { length: 2000 },
      (_, i) => [`seed-${i}.example`, fingerprintOf(i)],
    );
    await Deno.writeTextFile(
      file,
      JSON.stringify({ version: 1, peers: Object.fromEntries(seed) }),
    );
    const saved: [string, string][] = [];
    for (let round = 0; round < 50; round++) {
      await using child = new Child(dir, ["save-loop", file, `r${round}`]);
      // Wait for its first save, then kill it a little later.
      const first = await child.line();
      assert.equal(first, "0");
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
      child.process.kill("SIGKILL");
      for (const line of [first, ...await child.rest()]) {
        saved.push([`r${round}-${line}`, fingerprintOf(Number(line))]);
      }
      assert.equal((await child.process.status).signal, "SIGKILL");
    }
    const peers = await peersIn(file);
    for (const [peer, fingerprint] of saved) {
      assert.equal(peers[peer], fingerprint, peer);
    }
    // Each run may have finished one save it was killed before reporting.
    const count = Object.keys(peers).length;
    assert.ok(count <= seed.length + saved.length + 50);
    // Whatever the last kill left, and a temporary file surely left mid-write.
    const stale = () => `${dir}/.peers.json.${crypto.randomUUID()}.tmp`;
    await Deno.writeTextFile(stale(), `{"version": 1, "peers": {"r`);
    const reopened = await KnownPeers.open({ file });
    assert.deepEqual(await tempsIn(dir), []);
    await Deno.writeTextFile(stale(), `{"version": 1, "peers": {"r`);
    await reopened.set("after.example", A);
    assert.deepEqual(await tempsIn(dir), []);
    assert.equal(reopened.entries().length, count + 1);
  });
});

Deno.test("KnownPeers keys are JIDs normalised: case, width, NFC and IDN variants are one peer", async () => {
  const { calls, approve } = recorder();
  const peers = await KnownPeers.open({ approve });
  await peers.verify("KSTO@nws.noaa.gov", A);
  for (
    const variant of [
      "ksto@nws.noaa.gov",
      "Ksto@NWS.NOAA.gov",
      "ＫＳＴＯ@nws.noaa.gov",
      " ksto@nws.noaa.gov. ",
    ]
  ) {
    assert.equal(peers.get(variant), A, variant);
    await peers.verify(variant, A);
  }
  await peers.set("cafe\u0301@例え.テスト", B);
  assert.equal(peers.get("CAF\u00c9@xn--r8jz45g.xn--zckzah"), B);
  assert.equal(peers.get("xn--r8jz45g.xn--zckzah"), undefined);
  assert.deepEqual(peers.entries(), [
    ["café@例え.テスト", B],
    ["ksto@nws.noaa.gov", A],
  ]);
  assert.deepEqual(calls, [["ksto@nws.noaa.gov", A]]);
  await assert.rejects(
    peers.verify("KSTO@NWS.noaa.gov", B),
    (error: unknown) =>
      error instanceof PeerChangedError && error.peer === "ksto@nws.noaa.gov",
  );
});

Deno.test("KnownPeers loads files with lower-cased keys, normalises other spellings, and refuses two spellings pinned differently", async () => {
  await withTempDir(async (dir) => {
    const file = `${dir}/peers.json`;
    // Written by the version that only lower-cased keys, plus names that
    // are no JID (kept as they were).
    await Deno.writeTextFile(
      file,
      JSON.stringify({
        version: 1,
        peers: {
          "ksto@nws.noaa.gov": A,
          "xn--r8jz45g.xn--zckzah": B,
          "host.example:5222": A,
        },
      }),
    );
    const peers = await KnownPeers.open({ file });
    assert.equal(peers.get("KSTO@nws.noaa.gov"), A);
    assert.equal(peers.get("例え.テスト"), B);
    assert.equal(peers.get("HOST.example:5222"), A);
    const spellings: [string, string][] = [
      ["ksto@nws.noaa.gov", "ＫＳＴＯ@nws.noaa.gov"],
      ["cafe\u0301.example", "café.example"],
      ["例え.テスト", "xn--r8jz45g.xn--zckzah"],
    ];
    for (const [one, other] of spellings) {
      const text = JSON.stringify({
        version: 1,
        peers: { [one]: A, [other]: B },
      });
      await Deno.writeTextFile(file, text);
      await assert.rejects(
        KnownPeers.open({ file }),
        (error: unknown) =>
          error instanceof KnownPeersFileError &&
          error.reason.startsWith("conflicting entries for "),
        text,
      );
      // The same pin under two spellings is one entry.
      await Deno.writeTextFile(
        file,
        JSON.stringify({ version: 1, peers: { [one]: A, [other]: A } }),
      );
      assert.equal((await KnownPeers.open({ file })).entries().length, 1);
    }
  });
});
