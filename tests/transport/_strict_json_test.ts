import assert from "node:assert/strict";
import fc from "fast-check";
import {
  JsonSyntaxError,
  parseStrictJson,
} from "../../src/transport/_strict_json.ts";

/** What `f` returns, or the constructor name of what it throws. */
function outcome(f: () => unknown): { value: unknown } | { error: string } {
  try {
    return { value: f() };
  } catch (error) {
    return { error: (error as Error).constructor.name };
  }
}

/** `value` with every object given a null prototype, as the reader makes. */
function nullPrototypes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(nullPrototypes);
  if (typeof value !== "object" || value === null) return value;
  const copy: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(value)) {
    copy[key] = nullPrototypes(item);
  }
  return copy;
}

Deno.test("parseStrictJson() reads what JSON.parse reads, for JSON without duplicate keys", () => {
  const texts = fc.tuple(
    fc.jsonValue({ stringUnit: "binary" }),
    fc.constantFrom(undefined, 2, "\t", " \r\n"),
  ).map(([value, space]) => JSON.stringify(value, null, space));
  fc.assert(
    fc.property(texts, (text) => {
      assert.deepEqual(parseStrictJson(text), nullPrototypes(JSON.parse(text)));
    }),
    { numRuns: 200 },
  );
});

Deno.test("parseStrictJson() refuses what JSON.parse refuses", () => {
  const near = fc.oneof(
    fc.string(),
    fc.json().chain((text) =>
      fc.tuple(fc.nat(text.length), fc.nat(text.length), fc.string()).map((
        [from, to, insert],
      ) =>
        text.slice(0, Math.min(from, to)) + insert +
        text.slice(Math.max(from, to))
      )
    ),
  );
  fc.assert(
    fc.property(near, (text) => {
      const strict = outcome(() => parseStrictJson(text));
      const loose = outcome(() => JSON.parse(text));
      if ("error" in loose) {
        assert.deepEqual(strict, { error: "JsonSyntaxError" }, text);
      } else if ("value" in strict) {
        assert.deepEqual(strict.value, nullPrototypes(loose.value), text);
      } else {
        // Only a repeated key may make the strict reader refuse.
        assert.throws(
          () => parseStrictJson(text),
          /^JsonSyntaxError: Duplicate key/,
        );
      }
    }),
    { numRuns: 500 },
  );
});

Deno.test("parseStrictJson() refuses a key repeated in one object, also when escaped", () => {
  for (
    const [text, key, column] of [
      ['{"a": 1, "a": 1}', "a", 10],
      ['{"a": 1, "\\u0061": 2}', "a", 10],
      ['[{"x": {"b": 1, "c": 2, "b": 3}}]', "b", 25],
      ['{"__proto__": 1, "__proto__": 2}', "__proto__", 18],
    ] as const
  ) {
    assert.throws(
      () => parseStrictJson(text),
      (error: unknown) =>
        error instanceof JsonSyntaxError && error instanceof SyntaxError &&
        error.message ===
          `Duplicate key ${JSON.stringify(key)} at line 1, column ${column}` &&
        error.line === 1 && error.column === column &&
        error.offset === column - 1,
      text,
    );
  }
  // The same key in two different objects is fine.
  assert.deepEqual(
    parseStrictJson('[{"a": 1}, {"a": 2}]'),
    nullPrototypes([{ a: 1 }, { a: 2 }]),
  );
});

Deno.test("parseStrictJson() keeps __proto__ as an own property", () => {
  const value = parseStrictJson('{"__proto__": {"polluted": true}}') as Record<
    string,
    unknown
  >;
  assert.equal(Object.getPrototypeOf(value), null);
  assert.deepEqual(Object.keys(value), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("parseStrictJson() says where the text goes wrong", () => {
  for (
    const [text, message] of [
      ["", "Unexpected end of text at line 1, column 1"],
      ['{\n  "a": tru\n}', 'Unexpected character "t" at line 2, column 8'],
      ['{"a" 1}', 'Expected ":", found "1" at line 1, column 6'],
      ['{"a": "b', "Unterminated string at line 1, column 7"],
      ['"\\x"', "Bad escape at line 1, column 2"],
      ['"a\nb"', "Control character in a string at line 1, column 3"],
      ["{} {}", "Unexpected text after the value at line 1, column 4"],
      ["[1,]", 'Unexpected character "]" at line 1, column 4'],
      ["[".repeat(300), "Nested too deeply at line 1, column 257"],
    ] as const
  ) {
    assert.throws(() => parseStrictJson(text), { message }, text);
  }
});
