/**
 * What an idle stream keeps of the stanzas it delivered: nothing. Measured
 * in a child process with a forced GC (see _stanza_retention_probe.ts).
 */

import assert from "node:assert/strict";

Deno.test("an idle stream keeps none of the stanzas it delivered once its subscriber let go of them", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--v8-flags=--expose-gc",
      new URL("./_stanza_retention_probe.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const { taken, alive } = JSON.parse(new TextDecoder().decode(stdout));
  assert.equal(taken, 12);
  assert.equal(alive, 0, `${alive} of ${taken} stanzas still alive`);
});
