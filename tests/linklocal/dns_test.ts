import assert from "node:assert/strict";
import {
  decodeMessage,
  encodeQuery,
  encodeResponse,
} from "../../src/linklocal/_dns.ts";

Deno.test("decodeMessage() reads a response it encoded, records of other types dropped", () => {
  const bytes = encodeResponse([
    {
      name: "_presence._tcp.local",
      type: "PTR",
      ttl: 4500,
      flush: false,
      data: "a@b._presence._tcp.local",
    },
    {
      name: "a@b._presence._tcp.local",
      type: "SRV",
      ttl: 120,
      flush: true,
      data: { target: "b.local", port: 5562, priority: 0, weight: 0 },
    },
    { name: "b.local", type: "AAAA", ttl: 120, flush: true, data: "fe80::1" },
  ]);
  const message = decodeMessage(bytes);
  assert.ok(message?.response);
  assert.deepEqual(message.records.map((r) => [r.type, r.ttl, r.flush]), [
    ["PTR", 4500, false],
    ["SRV", 120, true],
    ["AAAA", 120, true],
  ]);
});

Deno.test("decodeMessage() reads a query with its known answers", () => {
  const message = decodeMessage(encodeQuery(
    [{ name: "_presence._tcp.local", type: "PTR" }],
    [{
      name: "_presence._tcp.local",
      type: "PTR",
      ttl: 4000,
      flush: false,
      data: "a@b._presence._tcp.local",
    }],
  ));
  assert.equal(message?.response, false);
  assert.deepEqual(message.questions, [{
    name: "_presence._tcp.local",
    type: "PTR",
    unicast: false,
  }]);
  assert.equal(message.records[0]?.ttl, 4000);
});

Deno.test("decodeMessage() gives undefined for bytes that are no DNS message", () => {
  for (
    const bytes of [
      new Uint8Array(),
      new Uint8Array([1, 2, 3]),
      new Uint8Array(12).fill(0xff),
    ]
  ) {
    assert.equal(decodeMessage(bytes), undefined);
  }
  // Every truncation of a real message is refused or read, never thrown.
  const whole = encodeResponse([
    {
      name: "b.local",
      type: "TXT",
      ttl: 1,
      flush: false,
      data: [new Uint8Array([1])],
    },
  ]);
  for (let n = 0; n < whole.length; n++) decodeMessage(whole.subarray(0, n));
});
