import assert from "node:assert/strict";
import {
  MAX_TXT_BYTES,
  parseTxt,
  presenceTxt,
} from "../../src/linklocal/txt.ts";

const bytes = (...strings: string[]) =>
  strings.map((s) => new TextEncoder().encode(s));

Deno.test("presenceTxt() puts txtvers=1 first and publishes nothing personal unless given", () => {
  assert.deepEqual(presenceTxt({}, 5562), [
    ["txtvers", "1"],
    ["port.p2pj", "5562"],
    ["status", "avail"],
  ]);
});

Deno.test("presenceTxt() publishes each personal field given, under its registered key", () => {
  const pairs = presenceTxt({
    status: "dnd",
    msg: "Hanging out downtown",
    first: "Juliet",
    last: "Capulet",
    nick: "JuliC",
    email: "juliet@capulet.lit",
    jid: "juliet@capulet.lit",
    caps: {
      node: "http://example.org",
      ver: "QgayPKawpkPSDYmwT/WM94uAlu0=",
      hash: "sha-1",
    },
  }, 5562);
  assert.deepEqual(pairs.map(([k]) => k), [
    "txtvers",
    "port.p2pj",
    "status",
    "msg",
    "1st",
    "last",
    "nick",
    "email",
    "jid",
    "node",
    "ver",
    "hash",
  ]);
  assert.equal(pairs[0]![1], "1");
});

Deno.test("presenceTxt() refuses an unregistered status and a record past the DNS-SD sizes", () => {
  assert.throws(
    () => presenceTxt({ status: "busy" as "dnd" }, 1),
    /status must be avail, away or dnd/,
  );
  assert.throws(() => presenceTxt({ msg: "x".repeat(252) }, 1), TypeError);
  const long = "é".repeat(120); // 240 bytes each
  assert.throws(
    () =>
      presenceTxt({
        msg: long,
        first: long,
        last: long,
        nick: long,
        email: long,
        jid: long,
      }, 1),
    new RegExp(`at most ${MAX_TXT_BYTES}`),
  );
});

Deno.test("parseTxt() lower-cases keys, keeps the first of a repeated key and skips empty strings", () => {
  assert.deepEqual(
    parseTxt(
      bytes(
        "txtvers=1",
        "",
        "=x",
        "Status=away",
        "status=dnd",
        "flag",
        "msg=a=b",
      ),
    ),
    { txtvers: "1", status: "away", flag: "", msg: "a=b" },
  );
});

Deno.test("parseTxt() keeps a key named __proto__ as a plain key", () => {
  const txt = parseTxt(bytes("__proto__=x"));
  assert.equal(Object.getPrototypeOf(txt), Object.prototype);
  assert.equal(txt["__proto__"], "x");
});

Deno.test("parseTxt() reads bad UTF-8 with replacement characters, not an error", () => {
  assert.deepEqual(parseTxt([new Uint8Array([0x6d, 0x3d, 0xff])]), {
    m: "\uFFFD",
  });
});
