/**
 * The first run stays light: `deno task demo` and `deno task cli` install
 * the packages their programs import, and no test or bench package.
 */

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const config = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
) as { nodeModulesDir: string; tasks: Record<string, string> };
// Each program its own lock: the command's `discover` loads the mDNS
// packages, which the demo must not fetch.
const PROGRAMS = [
  {
    task: "demo",
    program: "examples/romeo_juliet.ts",
    lock: "deno.runtime.lock",
  },
  { task: "cli", program: "src/cli/main.ts", lock: "deno.cli.lock" },
];

Deno.test("deno task installs nothing up front, and the demo and the command each run from their own lock without node_modules", () => {
  // With "auto", deno task would install every package of the import map
  // and deno.lock (the bench and test oracles) before any task.
  assert.equal(config.nodeModulesDir, "manual");
  for (const { task, lock } of PROGRAMS) {
    assert.match(
      config.tasks[task]!,
      new RegExp(`^deno run --node-modules-dir=none --lock=${lock} `),
      task,
    );
  }
});

for (const { program, lock } of PROGRAMS) {
  Deno.test(`${lock} holds exactly the packages ${program} imports, as deno.lock pins them`, async () => {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "info",
        "--json",
        "--node-modules-dir=none",
        `--lock=${lock}`,
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
      }\n(deno task lock:runtime remakes the locks)`,
    );
    const info = JSON.parse(new TextDecoder().decode(stdout)) as {
      npmPackages: Record<string, unknown>;
    };
    const read = async (name: string) =>
      JSON.parse(await Deno.readTextFile(new URL(name, root))) as {
        npm: Record<string, { integrity: string }>;
      };
    const own = await read(lock);
    assert.deepEqual(
      Object.keys(own.npm).sort(),
      Object.keys(info.npmPackages).sort(),
      "deno task lock:runtime remakes the locks",
    );
    const full = await read("deno.lock");
    for (const [name, entry] of Object.entries(own.npm)) {
      assert.equal(entry.integrity, full.npm[name]?.integrity, name);
    }
  });
}
