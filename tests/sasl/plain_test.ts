import assert from "node:assert/strict";
import { parsePlain, plainInitial } from "../../src/sasl/mod.ts";
import { sasl } from "./_helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("plainInitial() and parsePlain() round-trip", () => {
  assert.deepEqual(parsePlain(plainInitial("tim", "tanstaaf")), {
    authzid: undefined,
    authcid: "tim",
    password: "tanstaaf",
  });
  assert.deepEqual(parsePlain(plainInitial("Kurt", "xipj3plmq", "Ursel")), {
    authzid: "Ursel",
    authcid: "Kurt",
    password: "xipj3plmq",
  });
});

Deno.test("plainInitial() refuses NUL and empty fields", () => {
  assert.throws(() => plainInitial("a\0b", "pw"), TypeError);
  assert.throws(() => plainInitial("a", ""), TypeError);
  assert.throws(() => plainInitial("a", "pw", "z\0"), TypeError);
});

Deno.test("parsePlain() rejects malformed messages with malformed-request", () => {
  for (
    const bytes of [
      enc(""),
      enc("tim"),
      enc("\0tim"),
      enc("\0\0pw"),
      enc("\0tim\0"),
      enc("a\0b\0c\0d"),
      new Uint8Array([0, 0x74, 0, 0xff]),
    ]
  ) {
    assert.throws(() => parsePlain(bytes), sasl("malformed-request"));
  }
});
