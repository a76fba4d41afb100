import assert from "node:assert/strict";
import {
  configDir,
  loadIdentity,
  openKnownPeers,
} from "../../src/cli/config.ts";
import { UsageError } from "../../src/cli/exit.ts";

Deno.test("loadIdentity() makes the certificate once, private to the user, and reads it back on later runs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const first = await loadIdentity(`${dir}/conf`, "forza");
    assert.equal(first.created, true);
    const second = await loadIdentity(`${dir}/conf`, "forza");
    assert.equal(second.created, false);
    assert.deepEqual(second.identity, first.identity);
    if (Deno.build.os !== "windows") {
      assert.equal(
        (await Deno.stat(`${dir}/conf/identity.pem`)).mode! & 0o777,
        0o600,
      );
      assert.equal((await Deno.stat(`${dir}/conf`)).mode! & 0o777, 0o700);
    }
    // Nothing is left behind but the identity.
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${dir}/conf`))).map((e) => e.name),
      ["identity.pem"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadIdentity() called by runs that start at once gives them all one identity", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const runs = await Promise.all(
      Array.from({ length: 6 }, () => loadIdentity(dir, "forza")),
    );
    const fingerprints = new Set(runs.map((r) => r.identity.fingerprint256));
    assert.equal(fingerprints.size, 1);
    assert.equal(runs.filter((r) => r.created).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadIdentity() refuses a file that holds no certificate and key, and changes nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/identity.pem`, "not a certificate\n");
    await assert.rejects(
      loadIdentity(dir, "forza"),
      /holds no certificate and private key/,
    );
    assert.equal(
      await Deno.readTextFile(`${dir}/identity.pem`),
      "not a certificate\n",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openKnownPeers() keeps the peers in known_peers.json of the directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = await openKnownPeers(dir, () => true);
    await store.verify("juliet@pronto", "AB".repeat(32));
    const again = await openKnownPeers(dir);
    assert.deepEqual(again.entries().map(([peer]) => peer), ["juliet@pronto"]);
    assert.ok((await Deno.stat(`${dir}/known_peers.json`)).isFile);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configDir() prefers the flag, then XMPP_E2E_CONFIG_DIR, XDG_CONFIG_HOME and HOME", () => {
  const names = ["XMPP_E2E_CONFIG_DIR", "XDG_CONFIG_HOME", "HOME", "APPDATA"];
  const saved = names.map((name) => Deno.env.get(name));
  try {
    Deno.env.set("XMPP_E2E_CONFIG_DIR", "/e");
    Deno.env.set("XDG_CONFIG_HOME", "/x");
    Deno.env.set("HOME", "/h");
    assert.equal(configDir("/flag"), "/flag");
    assert.equal(configDir(undefined), "/e");
    Deno.env.delete("XMPP_E2E_CONFIG_DIR");
    assert.match(configDir(undefined), /^\/x[\\/]xmpp-e2e$/);
    Deno.env.set("XDG_CONFIG_HOME", "");
    assert.match(configDir(undefined), /^\/h[\\/]\.config[\\/]xmpp-e2e$/);
    Deno.env.delete("HOME");
    Deno.env.delete("APPDATA");
    Deno.env.delete("XDG_CONFIG_HOME");
    assert.throws(() => configDir(undefined), UsageError);
  } finally {
    names.forEach((name, i) => {
      const value = saved[i];
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    });
  }
});
