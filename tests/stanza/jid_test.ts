import assert from "node:assert/strict";
import fc from "fast-check";
import { Jid, jid, JidError } from "../../src/stanza/jid.ts";

function parts(j: Jid): [string | undefined, string, string | undefined] {
  return [j.local, j.domain, j.resource];
}

Deno.test("Jid.parse() reads the three parts of a full JID", () => {
  assert.deepEqual(parts(Jid.parse("juliet@example.com/foo")), [
    "juliet",
    "example.com",
    "foo",
  ]);
  assert.deepEqual(parts(Jid.parse("juliet@example.com")), [
    "juliet",
    "example.com",
    undefined,
  ]);
  assert.deepEqual(parts(Jid.parse("example.com")), [
    undefined,
    "example.com",
    undefined,
  ]);
  assert.deepEqual(parts(Jid.parse("example.com/foo")), [
    undefined,
    "example.com",
    "foo",
  ]);
});

Deno.test("Jid.parse() splits the resource at the first slash, then the localpart at the first at-sign", () => {
  assert.deepEqual(parts(Jid.parse("juliet@example.com/foo/bar")), [
    "juliet",
    "example.com",
    "foo/bar",
  ]);
  assert.deepEqual(parts(Jid.parse("juliet@example.com/foo@bar")), [
    "juliet",
    "example.com",
    "foo@bar",
  ]);
  assert.deepEqual(parts(Jid.parse("example.com/juliet@x")), [
    undefined,
    "example.com",
    "juliet@x",
  ]);
  assert.deepEqual(parts(Jid.parse("juliet@example.com/ foo ")), [
    "juliet",
    "example.com",
    " foo ",
  ]);
});

Deno.test("Jid.parse() lower-cases the domain, drops one trailing dot and keeps the rest as given", () => {
  const j = Jid.parse("Juliet@EXAMPLE.com./Balcony");
  assert.deepEqual(parts(j), ["Juliet", "example.com", "Balcony"]);
  assert.equal(j.toString(), "Juliet@example.com/Balcony");
});

Deno.test("Jid.parse() accepts IP addresses, IPv6 literals and non-ASCII parts", () => {
  assert.equal(Jid.parse("a@192.0.2.1").domain, "192.0.2.1");
  assert.equal(Jid.parse("a@[2001:DB8::1]/r").domain, "[2001:db8::1]");
  assert.deepEqual(parts(Jid.parse("ñandú@café.example/♚")), [
    "ñandú",
    "café.example",
    "♚",
  ]);
});

Deno.test("Jid.parse() rejects empty parts with a JidError naming the part", () => {
  const cases: [string, string | undefined][] = [
    ["", "domain"],
    ["@example.com", "local"],
    ["juliet@", "domain"],
    ["example.com/", "resource"],
    ["juliet@example.com/", "resource"],
    ["/foo", "domain"],
    ["@/", "local"],
    [".", "domain"],
    ["a..b", "domain"],
    [".example.com", "domain"],
    ["example.com..", "domain"],
  ];
  for (const [text, part] of cases) {
    assert.throws(
      () => Jid.parse(text),
      (e) =>
        e instanceof JidError && e instanceof TypeError && e.part === part &&
        e.input === text,
      text,
    );
  }
});

Deno.test("Jid.parse() rejects forbidden localpart characters", () => {
  for (
    const c of [`"`, "&", "'", ":", "<", ">", " ", "\t", "\u0000", "\u3000"]
  ) {
    assert.throws(
      () => Jid.parse(`ju${c}liet@example.com`),
      (e) => e instanceof JidError && e.part === "local",
      JSON.stringify(c),
    );
  }
});

Deno.test("Jid.parse() rejects forbidden domain characters and a second at-sign", () => {
  for (
    const text of [
      "a@b@c",
      "exa mple.com",
      "a@ex<ample",
      "a@[::1",
      "a@ex\\ample",
      "a@:5222",
    ]
  ) {
    assert.throws(
      () => Jid.parse(text),
      (e) => e instanceof JidError && e.part === "domain",
      text,
    );
  }
});

Deno.test("Jid.parse() rejects control characters in the resource and lone surrogates anywhere", () => {
  assert.throws(() => Jid.parse("a@b/c\u0007"), JidError);
  assert.throws(() => Jid.parse("a\uD800@b"), JidError);
  assert.throws(() => Jid.parse("a@b/\uDC00"), JidError);
});

Deno.test("Jid.parse() bounds each part at 1023 UTF-8 bytes", () => {
  const max = "a".repeat(1023);
  assert.equal(Jid.parse(`${max}@${max}/${max}`).local, max);
  assert.throws(
    () => Jid.parse(`${max}a@b`),
    (e) => e instanceof JidError && e.part === "local",
  );
  assert.throws(
    () => Jid.parse(`${max}a`),
    (e) => e instanceof JidError && e.part === "domain",
  );
  assert.throws(
    () => Jid.parse(`b/${max}a`),
    (e) => e instanceof JidError && e.part === "resource",
  );
  // 341 three-byte characters are 1023 bytes; one more is too many.
  const wide = "€".repeat(341);
  assert.equal(Jid.parse(`a@b/${wide}`).resource, wide);
  assert.throws(() => Jid.parse(`a@b/${wide}€`), JidError);
  // 255 four-byte characters are 1020 bytes.
  assert.ok(Jid.parse(`a@b/${"😀".repeat(255)}`));
  assert.throws(() => Jid.parse(`a@b/${"😀".repeat(256)}`), JidError);
});

Deno.test("new Jid() checks its parts like Jid.parse()", () => {
  assert.equal(new Jid("a", "B.example", "r").toString(), "a@b.example/r");
  assert.throws(() => new Jid("a@b", "c"), JidError);
  assert.throws(() => new Jid("", "c"), JidError);
  assert.throws(() => new Jid(undefined, "c", ""), JidError);
});

Deno.test("Jid.bare drops the resource and a bare JID is its own bare", () => {
  const full = jid("romeo@montague.example/orchard");
  assert.equal(full.bare.toString(), "romeo@montague.example");
  assert.ok(full.bare.isBare);
  assert.ok(!full.isBare);
  const bare = jid("romeo@montague.example");
  assert.equal(bare.bare, bare);
});

Deno.test("Jid.equals() compares normalised JIDs, strings included", () => {
  const a = jid("romeo@Montague.example/orchard");
  assert.ok(a.equals(jid("romeo@montague.EXAMPLE./orchard")));
  assert.ok(a.equals("romeo@montague.example/orchard"));
  assert.ok(!a.equals("Romeo@montague.example/orchard"));
  assert.ok(!a.equals("romeo@montague.example/Orchard"));
  assert.ok(!a.equals("romeo@montague.example"));
  assert.ok(!a.equals("@bad"));
  assert.ok(!a.equals(undefined));
});

Deno.test("Jid.tryParse() gives undefined for invalid or absent input", () => {
  assert.equal(Jid.tryParse("a@"), undefined);
  assert.equal(Jid.tryParse(undefined), undefined);
  assert.equal(Jid.tryParse("a@b")?.toString(), "a@b");
});

const localChar = fc.constantFrom(..."abcXYZ09._-+=!~é中😀");
const domainChar = fc.constantFrom(..."abcxyz09-é中");
const resourceChar = fc.constantFrom(..."abcXYZ09 @/:<>&'\"é中😀");
const label = fc.string({ unit: domainChar, minLength: 1, maxLength: 10 });
const anyJid = fc.record({
  local: fc.option(
    fc.string({ unit: localChar, minLength: 1, maxLength: 20 }),
    {
      nil: undefined,
    },
  ),
  domain: fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) =>
    ls.join(".")
  ),
  resource: fc.option(
    fc.string({ unit: resourceChar, minLength: 1, maxLength: 20 }),
    {
      nil: undefined,
    },
  ),
});

Deno.test("Jid.parse(String(j)) gives j back for random valid JIDs", () => {
  fc.assert(
    fc.property(anyJid, ({ local, domain, resource }) => {
      const j = new Jid(local, domain, resource);
      const again = Jid.parse(j.toString());
      assert.deepEqual(parts(again), [local, domain, resource]);
      assert.ok(again.equals(j));
      assert.equal(again.toString(), j.toString());
    }),
  );
});

Deno.test("Jid.parse() either throws a JidError or is a fixpoint of toString() on random strings", () => {
  const text = fc.string({
    unit: fc.constantFrom(..."aB.@/ :é\u0000\uD800"),
    maxLength: 12,
  });
  fc.assert(
    fc.property(text, (s) => {
      let j: Jid;
      try {
        j = Jid.parse(s);
      } catch (e) {
        assert.ok(e instanceof JidError);
        return;
      }
      assert.equal(Jid.parse(j.toString()).toString(), j.toString());
    }),
  );
});
