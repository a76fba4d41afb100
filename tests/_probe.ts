// Runs a probe script in a child Deno (for a forced GC, or a runtime set up
// apart) and returns the JSON it printed last; a child that fails fails the
// test with what it wrote to stderr.

import assert from "node:assert/strict";

/**
 * Runs `script` with `flags` before it (`--v8-flags=--expose-gc`, say).
 *
 * @returns The value of the last line it printed, as JSON.
 */
export async function probe<T>(script: URL, flags: string[] = []): Promise<T> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, script.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const lines = new TextDecoder().decode(stdout).trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}
