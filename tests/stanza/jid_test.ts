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

Deno.test("Jid.parse() lower-cases the localpart and the domain, drops one trailing dot and keeps the resource's case", () => {
  const j = Jid.parse("Juliet@EXAMPLE.com./Balcony");
  assert.deepEqual(parts(j), ["juliet", "example.com", "Balcony"]);
  assert.equal(j.toString(), "juliet@example.com/Balcony");
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
  assert.ok(a.equals("Romeo@montague.example/orchard"));
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

const localChar = fc.constantFrom(..."abcXYZ09._-+=!~é中");
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
  // A last label the URL parser reads as a number (digits only, or 0x and
  // hex digits) would make an IPv4 address, not a name: refused, as tested
  // above.
  domain: fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) =>
    ls.join(".")
  ).filter((domain) => !/(^|\.)([0-9]+|0x[0-9a-f]*)$/i.test(domain)),
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
      assert.deepEqual(parts(j), [local?.toLowerCase(), domain, resource]);
      const again = Jid.parse(j.toString());
      assert.deepEqual(parts(again), parts(j));
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

// RFC 7622 section 3.5.1: valid JIDs, with the form each normalises to.
const RFC_7622_VALID: [string, string][] = [
  ["juliet@example.com", "juliet@example.com"],
  ["juliet@example.com/foo", "juliet@example.com/foo"],
  ["juliet@example.com/foo bar", "juliet@example.com/foo bar"],
  ["juliet@example.com/foo@bar", "juliet@example.com/foo@bar"],
  ["foo\\20bar@example.com", "foo\\20bar@example.com"],
  ["fussball@example.com", "fussball@example.com"],
  ["fußball@example.com", "fußball@example.com"],
  ["π@example.com", "π@example.com"],
  ["Σ@example.com/foo", "σ@example.com/foo"],
  ["σ@example.com/foo", "σ@example.com/foo"],
  ["ς@example.com/foo", "ς@example.com/foo"],
  ["king@example.com/♚", "king@example.com/♚"],
  ["example.com", "example.com"],
  ["example.com/foobar", "example.com/foobar"],
  ["a.example.com/b@example.net", "a.example.com/b@example.net"],
];

// RFC 7622 section 3.5.2: invalid JIDs, with the part at fault.
const RFC_7622_INVALID: [string, string][] = [
  ['"juliet"@example.com', "local"], // quotation marks
  ["foo bar@example.com", "local"], // space
  ["juliet@example.com/", "resource"], // empty resourcepart
  ["@example.com/", "local"], // empty localpart
  ["henry\u2163@example.com", "local"], // ROMAN NUMERAL FOUR
  ["♚@example.com", "local"], // BLACK CHESS KING
  ["juliet@", "domain"], // empty domainpart
  ["/foobar", "domain"], // empty domainpart
];

Deno.test("Jid.parse() accepts the valid examples of RFC 7622 section 3.5.1 and normalises them", () => {
  for (const [text, normal] of RFC_7622_VALID) {
    assert.equal(Jid.parse(text).toString(), normal, text);
  }
});

Deno.test("Jid.parse() refuses the invalid examples of RFC 7622 section 3.5.2, naming the part", () => {
  for (const [text, part] of RFC_7622_INVALID) {
    assert.throws(
      () => Jid.parse(text),
      (e) => e instanceof JidError && e.part === part && e.input === text,
      text,
    );
  }
});

Deno.test("Jid case-folds the localpart: KSTO@nws.noaa.gov is ksto@nws.noaa.gov", () => {
  const upper = jid("KSTO@nws.noaa.gov");
  assert.equal(upper.local, "ksto");
  assert.equal(upper.toString(), "ksto@nws.noaa.gov");
  assert.ok(upper.equals("ksto@nws.noaa.gov"));
  assert.ok(upper.equals(jid("Ksto@NWS.noaa.gov")));
  assert.ok(upper.bare.equals("ksto@nws.noaa.gov"));
  assert.ok(jid("KSTO@nws.noaa.gov/Desk").equals("ksto@nws.noaa.gov/Desk"));
});

Deno.test("Jid maps case with toLowerCase(): sigma and sharp s as documented", () => {
  // Σ lower-cases to σ, and to ς at the end of a word; σ and ς stay apart
  // (full case folding, which RFC 8265 uses, would make both σ).
  assert.equal(jid("Σ@example.com").local, "σ");
  assert.equal(jid("ΟΔΟΣ@example.com").local, "οδος");
  assert.ok(jid("Σ@example.com").equals("σ@example.com"));
  assert.ok(!jid("σ@example.com").equals("ς@example.com"));
  // ß stays ß (case folding would give ss); ẞ (capital sharp s) becomes ß.
  assert.equal(jid("Straße@example.com").local, "straße");
  assert.equal(jid("STRA\u1E9EE@example.com").local, "straße");
  assert.ok(!jid("straße@example.com").equals("strasse@example.com"));
});

Deno.test("Jid puts every part in NFC: a composed and a decomposed é are one JID", () => {
  const composed = jid("caf\u00e9@caf\u00e9.example/caf\u00e9");
  const decomposed = jid("cafe\u0301@cafe\u0301.example/cafe\u0301");
  assert.equal(decomposed.toString(), composed.toString());
  assert.equal(decomposed.local, "caf\u00e9");
  assert.equal(decomposed.domain, "caf\u00e9.example");
  assert.equal(decomposed.resource, "caf\u00e9");
  assert.ok(composed.equals(decomposed));
});

Deno.test("Jid maps fullwidth and halfwidth forms of the localpart: ＲＯＭＥＯ is romeo", () => {
  const wide = jid("ＲＯＭＥＯ@montague.example");
  assert.equal(wide.local, "romeo");
  assert.ok(wide.equals("romeo@montague.example"));
  assert.equal(jid("ｶﾞ@example.com").local, "ガ"); // halfwidth katakana
  // A fullwidth at-sign maps to "@", which no localpart may hold.
  assert.throws(() => new Jid("a＠b", "example.com"), JidError);
  // The resource keeps its width (OpaqueString maps no width).
  assert.equal(jid("a@b.example/ＲＯＭＥＯ").resource, "ＲＯＭＥＯ");
});

Deno.test("Jid keeps IDN domains as U-labels, equal to their punycode form", () => {
  const unicode = jid("juliet@例え.テスト");
  assert.equal(unicode.domain, "例え.テスト");
  const punycode = jid("juliet@xn--r8jz45g.xn--zckzah");
  assert.equal(punycode.domain, "例え.テスト");
  assert.ok(unicode.equals(punycode));
  assert.ok(unicode.equals("juliet@XN--R8JZ45G.xn--zckzah"));
  // UTS #46 mapping: case, width, and the ideographic full stop.
  assert.equal(jid("a@ÉCOLE.fr").domain, "école.fr");
  assert.equal(jid("a@ＥＸＡＭＰＬＥ.com").domain, "example.com");
  assert.equal(jid("a@例え。テスト。").domain, "例え.テスト");
  assert.equal(jid("a@faß.de").domain, "faß.de"); // IDNA2008: ß kept
});

Deno.test("Jid lower-cases an ASCII domain and keeps IP addresses as written", () => {
  assert.equal(jid("a@Capulet.EXAMPLE").domain, "capulet.example");
  assert.equal(jid("a@192.0.2.1").domain, "192.0.2.1");
  assert.equal(jid("a@[2001:DB8::1]").domain, "[2001:db8::1]");
  assert.equal(jid("a@a_b.example").domain, "a_b.example");
});

Deno.test("Jid keeps the resource's case", () => {
  const j = jid("romeo@montague.example/Orchard");
  assert.equal(j.resource, "Orchard");
  assert.ok(!j.equals("romeo@montague.example/orchard"));
  assert.equal(jid("a@b.example/a\u00a0b").resource, "a b"); // non-ASCII space
});

Deno.test("Jid refuses domains that are no host name, IDNA refuses or the URL parser would reread", () => {
  for (
    const text of [
      "a@1234", // an IPv4 number to the URL parser
      "a@1.2.3",
      "a@a.123",
      "a@0x7f.1",
      "a@１.２.３.４", // fullwidth digits map to an address
      "a@a%41.com", // percent-decoded by the URL parser
      "a@é#x", // "#" would end the host
      "a@é／x", // maps to "/"
      "a@\u2100.com", // ACCOUNT OF maps to "a/c"
      "a@xn--a.com", // not Punycode
      "a@x\u200dy.com", // a joiner outside its context
      "a@[1:2:3]", // not an IPv6 address
      "a@é..",
    ]
  ) {
    assert.throws(
      () => Jid.parse(text),
      (e) => e instanceof JidError && e.part === "domain",
      text,
    );
  }
});

Deno.test("Jid refuses localparts and resources that PRECIS does not allow", () => {
  const cases: [string, string][] = [
    ["\u216b@example.com", "local"], // ROMAN NUMERAL TWELVE (Nl)
    ["\ufb01@example.com", "local"], // LATIN SMALL LIGATURE FI (compatibility)
    ["a\u200db@example.com", "local"], // ZERO WIDTH JOINER not after a virama
    ["a\u00adb@example.com", "local"], // SOFT HYPHEN (default-ignorable)
    ["a\u00b7b@example.com", "local"], // MIDDLE DOT not between two l
    ["\u0660\u06f0@example.com", "local"], // two Arabic-Indic digit sets
    ["a\u0640b@example.com", "local"], // ARABIC TATWEEL (RFC 5892 exception)
    ["\u1100@example.com", "local"], // a lone conjoining jamo
    ["a\u0378@example.com", "local"], // unassigned
    ["a@example.com/\ue000", "resource"], // private use
    ["a@example.com/a\u2028b", "resource"], // LINE SEPARATOR
    ["a@example.com/a\u200bb", "resource"], // ZERO WIDTH SPACE (ignorable)
    ["a@example.com/a\u0085b", "resource"], // a C1 control
  ];
  for (const [text, part] of cases) {
    assert.throws(
      () => Jid.parse(text),
      (e) => e instanceof JidError && e.part === part,
      JSON.stringify(text),
    );
  }
  // What their context rules allow.
  assert.equal(jid("l\u00b7l@example.com").local, "l\u00b7l");
  assert.equal(
    jid("\u0627\u0660\u0661@example.com").local,
    "\u0627\u0660\u0661",
  );
  assert.equal(
    jid("\u30a2\u30fb\u30a4@example.com").local,
    "\u30a2\u30fb\u30a4",
  );
  // The resource allows symbols, compatibility characters and spaces.
  assert.equal(
    jid("a@example.com/\u216b \ufb01 ♚").resource,
    "\u216b \ufb01 ♚",
  );
});

Deno.test("Jid holds localparts with right-to-left characters to the Bidi Rule, and only those", () => {
  const allowed = [
    "\u05e9\u05dc\u05d5\u05dd", // Hebrew
    "\u05e91", // right-to-left, then a European digit
    "\u0627\u064e", // ALEF with a mark after it
    "\u0627\u0660\u0661", // ALEF, then Arabic-Indic digits
    "a-1.b", // no right-to-left character: no Bidi Rule
  ];
  for (const local of allowed) {
    assert.equal(jid(`${local}@example.com`).local, local, local);
  }
  const refused = [
    "\u0660\u0661", // 1: starts with a digit
    "1\u05e9", // 1: the same
    "\u05e9a", // 2: a left-to-right letter in a right-to-left part
    "\u05e9-", // 3: ends with a separator
    "\u0627\u0660" + "1", // 4: Arabic and European digits together
    "a\u05e9", // 5: a right-to-left letter in a left-to-right part
  ];
  for (const local of refused) {
    assert.throws(
      () => jid(`${local}@example.com`),
      (e) =>
        e instanceof JidError && e.part === "local" &&
        e.message.includes("Bidi Rule"),
      local,
    );
  }
});

Deno.test("Jid allows ZERO WIDTH JOINER and NON-JOINER where RFC 5892's CONTEXTJ rules do, and nowhere else", () => {
  // After a virama (Devanagari KA, VIRAMA, the joiner, SSA), in both parts.
  for (const joiner of ["\u200d", "\u200c"]) {
    const word = `\u0915\u094d${joiner}\u0937`;
    assert.equal(jid(`${word}@example.com`).local, word);
    assert.equal(jid(`a@example.com/${word}`).resource, word);
  }
  // A non-joiner between Arabic letters that join across it (Persian), a
  // mark between them skipped.
  const persian = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645";
  assert.equal(jid(`${persian}@example.com`).local, persian);
  assert.equal(
    jid("\u0628\u064e\u200c\u0628@example.com").local,
    "\u0628\u064e\u200c\u0628",
  );
  for (
    const [text, part] of [
      ["a\u200cb@example.com", "local"], // no joining letters around it
      ["\u0627\u200c\u0628@example.com", "local"], // ALEF joins only right
      ["\u0628\u200c@example.com", "local"], // nothing after it
      ["a@example.com/a\u200db", "resource"], // ZWJ not after a virama
    ] as const
  ) {
    assert.throws(
      () => Jid.parse(text),
      (e) => e instanceof JidError && e.part === part,
      JSON.stringify(text),
    );
  }
});

Deno.test("Jid bounds each part at 1023 UTF-8 bytes once normalised", () => {
  // 1023 fullwidth letters are 3069 bytes as given, 1023 once mapped.
  const wide = "Ａ".repeat(1023);
  assert.equal(jid(`${wide}@example.com`).local, "a".repeat(1023));
  assert.throws(
    () => jid(`${wide}Ａ@example.com`),
    (e) => e instanceof JidError && e.part === "local",
  );
});

const wideChar = fc.constantFrom(
  ..."aAzZ09.-_é\u0301ßΣσςİＲｶﾞ中例え。Ｅ\u00a0 @/\u00b7l\u200d\u2163♚😀",
);

Deno.test("Jid.parse() of a JID's string is that JID, for random mixes of case, width and marks", () => {
  fc.assert(
    fc.property(fc.string({ unit: wideChar, maxLength: 16 }), (s) => {
      let j: Jid;
      try {
        j = Jid.parse(s);
      } catch (e) {
        assert.ok(e instanceof JidError);
        return;
      }
      const again = Jid.parse(j.toString());
      assert.equal(again.toString(), j.toString());
      assert.deepEqual(parts(again), parts(j));
      assert.ok(again.equals(j) && j.equals(s));
    }),
    { numRuns: 2000 },
  );
});

Deno.test("Jid.parse() refuses a domainpart whose last label the URL parser reads as a hex number, and takes one that only starts like it", () => {
  for (const bad of ["romeo@0x", "romeo@0xff", "romeo@example.0xC0"]) {
    assert.throws(() => Jid.parse(bad), JidError, bad);
  }
  assert.equal(Jid.parse("romeo@0xz").domain, "0xz");
  assert.equal(Jid.parse("romeo@0x.example").domain, "0x.example");
});
