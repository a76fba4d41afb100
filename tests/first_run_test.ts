/**
 * The first run stays light: `deno task demo` and `deno task cli` install
 * the packages their programs import, and no test or bench package.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const config = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
) as { nodeModulesDir: string; tasks: Record<string, string> };
const RUNTIME_LOCK = "deno.runtime.lock";

Deno.test("deno task installs nothing up front, and the demo and the command run from their own lock without node_modules", () => {
  // With "auto", deno task would install every package of the import map
  // and deno.lock (the bench and test oracles) before any task.
  assert.equal(config.nodeModulesDir, "manual");
  for (const task of ["demo", "cli"]) {
    assert.match(
      config.tasks[task]!,
      new RegExp(`^deno run --node-modules-dir=none --lock=${RUNTIME_LOCK} `),
      task,
    );
  }
});

Deno.test("deno.runtime.lock holds exactly the packages the demo and the command import, as deno.lock pins them", async () => {
  const imported = new Set<string>();
  for (const program of ["examples/romeo_juliet.ts", "src/cli/main.ts"]) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "info",
        "--json",
        "--node-modules-dir=none",
        `--lock=${RUNTIME_LOCK}`,
        "--frozen", // fails if the lock lacks anything the program imports
        program,
      ],
      cwd: root,
      env: { NO_COLOR: "1" },
    }).output();
    assert.equal(
      code,
      0,
      `${
        new TextDecoder().decode(stderr)
      }\n(deno task lock:runtime remakes the lock)`,
    );
    const info = JSON.parse(new TextDecoder().decode(stdout)) as {
      npmPackages: Record<string, unknown>;
    };
    for (const name of Object.keys(info.npmPackages)) imported.add(name);
  }
  const lock = async (name: string) =>
    JSON.parse(await Deno.readTextFile(new URL(name, root))) as {
      npm: Record<string, { integrity: string }>;
    };
  const runtime = await lock(RUNTIME_LOCK);
  assert.deepEqual(
    Object.keys(runtime.npm).sort(),
    [...imported].sort(),
    "deno task lock:runtime remakes the lock",
  );
  const full = await lock("deno.lock");
  for (const [name, entry] of Object.entries(runtime.npm)) {
    assert.equal(entry.integrity, full.npm[name]?.integrity, name);
  }
});
