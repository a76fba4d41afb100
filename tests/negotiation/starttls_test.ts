import assert from "node:assert/strict";
import { startTls } from "../../src/negotiation/starttls.ts";
import type { NegotiationContext } from "../../src/negotiation/feature.ts";

Deno.test("startTls() gives every stream of a policy the same frozen feature", () => {
  for (const policy of ["required", "optional", "off"] as const) {
    const feature = startTls(policy);
    assert.equal(startTls(policy), feature);
    assert.ok(Object.isFrozen(feature));
  }
  assert.notEqual(startTls("required"), startTls("optional"));
});

Deno.test("startTls() features keep their policy: only a required one is mandatory before TLS", () => {
  const context = { tls: false } as NegotiationContext;
  assert.equal(startTls("required").mandatory(context), true);
  assert.equal(startTls("optional").mandatory(context), false);
  assert.equal(startTls("off").mandatory(context), false);
});
