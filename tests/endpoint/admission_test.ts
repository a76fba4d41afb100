import assert from "node:assert/strict";
import {
  addressKey,
  Admission,
  defaultMaxConnections,
  FALLBACK_MAX_CONNECTIONS,
} from "../../src/endpoint/admission.ts";

const LIMITS = { maxPending: 4, maxPendingPerAddress: 2, maxConnections: 6 };

Deno.test("Admission refuses a third negotiating connection from one address, and counts open ones apart", () => {
  const admission = new Admission(LIMITS);
  const a = admission.add("10.0.0.1", 0);
  admission.add("10.0.0.1", 1);
  assert.deepEqual(admission.decide("10.0.0.1"), {
    admit: false,
    why: "per-address",
  });
  admission.open(a); // negotiated: no longer counts against the address
  assert.deepEqual(admission.decide("10.0.0.1"), {
    admit: true,
    evict: undefined,
  });
  assert.equal(admission.pending, 1);
  assert.equal(admission.total, 2);
});

Deno.test("Admission, when full, evicts the stalest connection of the address that holds the most", () => {
  const admission = new Admission(LIMITS);
  const lone = admission.add("10.0.0.1", 0); // the oldest of all
  const b1 = admission.add("10.0.0.2", 5);
  const b2 = admission.add("10.0.0.2", 3);
  admission.add("10.0.0.3", 1);
  const decision = admission.decide("10.0.0.4");
  assert.equal(decision.admit, true);
  // Not the lone connection, though it is older: 10.0.0.2 holds two.
  assert.equal(decision.admit && decision.evict, b2);
  b2.progress = 9; // it moved on: now b1 is the stalest there
  const again = admission.decide("10.0.0.4");
  assert.equal(again.admit && again.evict, b1);
  assert.notEqual(again.admit && again.evict, lone);
});

Deno.test("Admission with one connection per address evicts the stalest overall, never a fresher one", () => {
  const admission = new Admission({ ...LIMITS, maxPending: 3 });
  admission.add("a", 10);
  const stale = admission.add("b", 2);
  admission.add("c", 7);
  const decision = admission.decide("d");
  assert.equal(decision.admit && decision.evict, stale);
});

Deno.test("Admission refuses when open streams fill it, and evicts a negotiating one when there is one", () => {
  const admission = new Admission({
    maxPending: 10,
    maxPendingPerAddress: 10,
    maxConnections: 2,
  });
  const one = admission.add("a", 0);
  const two = admission.add("b", 0);
  admission.open(one);
  const decision = admission.decide("c");
  assert.equal(decision.admit && decision.evict, two);
  admission.remove(two);
  admission.open(admission.add("c", 1));
  assert.deepEqual(admission.decide("d"), { admit: false, why: "capacity" });
  admission.remove(one);
  admission.remove(one); // idempotent
  assert.equal(admission.total, 1);
  assert.deepEqual(admission.decide("d"), { admit: true, evict: undefined });
});

Deno.test("addressKey() counts IPv4 by address, IPv6 by /64, mapped IPv4 as IPv4, zones ignored", () => {
  assert.equal(addressKey("127.0.0.2"), "127.0.0.2");
  assert.equal(addressKey("::ffff:192.0.2.7"), "192.0.2.7");
  assert.equal(addressKey("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:db8:1:2::9"), "2001:db8:1:2::/64");
  assert.equal(addressKey("2001:DB8:0001:0002::1"), "2001:db8:1:2::/64");
  assert.equal(addressKey("fe80::1%eth0"), "fe80:0:0:0::/64");
  assert.equal(addressKey("fe80::2%eth1"), addressKey("fe80::1%eth0"));
  assert.equal(addressKey("::1"), "0:0:0:0::/64");
  assert.equal(addressKey("::ffff:1.2.3.4"), "1.2.3.4");
  assert.equal(addressKey("64:ff9b::1.2.3.4"), "64:ff9b:0:0::/64");
  assert.equal(addressKey(undefined), "?");
});

Deno.test("defaultMaxConnections() stays under the open-file limit when it can read it, else falls back", () => {
  const max = defaultMaxConnections();
  let limits: string | undefined;
  try {
    limits = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    // Deno allows it only with all permissions.
  }
  const soft = Number(/^Max open files\s+(\d+)/m.exec(limits ?? "")?.[1]);
  if (Number.isFinite(soft)) {
    assert.ok(max >= 16 && max < soft, `${max} < ${soft}`);
  } else assert.equal(max, FALLBACK_MAX_CONNECTIONS);
});

Deno.test("Admission counts a connection that gave way until it has closed: its negotiating place is free at once, it is never cut again, and past the cap by 64 closing ones a newcomer is refused", () => {
  const admission = new Admission({
    maxPending: 4,
    maxPendingPerAddress: 4,
    maxConnections: 4,
  });
  const entries = [0, 1, 2, 3].map((i) => admission.add(`10.0.0.${i}`, i));
  let closing = 0;
  for (let i = 0; i < 64; i++) {
    const decision = admission.decide(`10.1.0.${i}`);
    assert.equal(decision.admit, true, `newcomer ${i}`);
    const victim = decision.admit ? decision.evict : undefined;
    assert.ok(victim !== undefined);
    admission.leave(victim);
    admission.leave(victim); // twice: counted once
    closing++;
    assert.equal(admission.pending, 3);
    entries.push(admission.add(`10.1.0.${i}`, 100 + i));
    assert.equal(admission.total, 4 + closing);
  }
  // 64 are closing, their files still open: nobody more is cut, newcomers
  // are refused until some have closed.
  assert.deepEqual(admission.decide("10.2.0.1"), {
    admit: false,
    why: "capacity",
  });
  const left = entries.filter((e) => !e.pending);
  assert.equal(left.length, 64);
  admission.remove(left[0]!);
  const after = admission.decide("10.2.0.1");
  assert.equal(after.admit, true);
  assert.ok(after.admit && after.evict !== undefined && after.evict.pending);
});
