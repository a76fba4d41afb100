/**
 * What an idle stream keeps of the stanzas it delivered: nothing. Measured
 * in a child process with a forced GC (see _stanza_retention_probe.ts).
 */

import assert from "node:assert/strict";
import { probe } from "../_probe.ts";

Deno.test("an idle stream keeps none of the stanzas it delivered once its subscriber let go of them", async () => {
  const { taken, alive } = await probe<{ taken: number; alive: number }>(
    new URL("./_stanza_retention_probe.ts", import.meta.url),
    ["--v8-flags=--expose-gc"],
  );
  assert.equal(taken, 12);
  assert.equal(alive, 0, `${alive} of ${taken} stanzas still alive`);
});
