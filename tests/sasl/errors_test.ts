import assert from "node:assert/strict";
import {
  SASL_CONDITIONS,
  SaslError,
  timingSafeEqual,
} from "../../src/sasl/mod.ts";

Deno.test("SASL_CONDITIONS lists the eleven RFC 6120 conditions", () => {
  assert.equal(SASL_CONDITIONS.length, 11);
  assert.equal(new Set(SASL_CONDITIONS).size, 11);
});

Deno.test("SaslError carries its condition and optional text", () => {
  const bare = new SaslError("aborted");
  assert.ok(bare instanceof Error);
  assert.equal(bare.condition, "aborted");
  assert.equal(bare.text, undefined);
  assert.equal(bare.message, "SASL failure: aborted");
  assert.equal(
    new SaslError("not-authorized", "nope").message,
    "SASL failure: not-authorized: nope",
  );
});

Deno.test("timingSafeEqual() compares bytes and lengths", () => {
  const a = new Uint8Array([1, 2, 3]);
  assert.equal(timingSafeEqual(a, new Uint8Array([1, 2, 3])), true);
  assert.equal(timingSafeEqual(a, new Uint8Array([1, 2, 4])), false);
  assert.equal(timingSafeEqual(a, new Uint8Array([1, 2])), false);
  assert.equal(timingSafeEqual(new Uint8Array(), new Uint8Array()), true);
});
