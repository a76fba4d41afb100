/**
 * A strict JSON reader (RFC 8259) for files a person may edit: it reads what
 * `JSON.parse` reads, but refuses an object that names a key twice, which
 * `JSON.parse` accepts silently (keeping the last value).
 *
 * @module
 */

/** How deep arrays and objects may nest. */
const MAX_DEPTH = 256;

/**
 * Thrown by {@linkcode parseStrictJson} for text that is not JSON, or that
 * repeats a key in an object.
 */
export class JsonSyntaxError extends SyntaxError {
  /** The error's name. */
  override readonly name: string = "JsonSyntaxError";
  /** Where the problem is: 1-based line. */
  readonly line: number;
  /** Where the problem is: 1-based column, in UTF-16 code units. */
  readonly column: number;
  /** Where the problem is: 0-based offset, in UTF-16 code units. */
  readonly offset: number;

  /**
   * Makes the error.
   *
   * @param problem What is wrong.
   * @param text The whole text.
   * @param offset Where.
   */
  constructor(problem: string, text: string, offset: number) {
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < offset && i < text.length; i++) {
      if (text.charCodeAt(i) === 0x0a) {
        line++;
        lineStart = i + 1;
      }
    }
    const column = offset - lineStart + 1;
    super(`${problem} at line ${line}, column ${column}`);
    this.line = line;
    this.column = column;
    this.offset = offset;
  }
}

/**
 * Parses JSON text like `JSON.parse`, but refuses duplicate object keys
 * (compared after unescaping, so `"a"` and `"\u0061"` are the same key).
 * Objects come back with a null prototype, so a `"__proto__"` key is an
 * ordinary own property.
 *
 * @param text The JSON text.
 * @returns The value.
 * @throws {JsonSyntaxError} When the text is not JSON, repeats a key, or
 * nests deeper than 256 levels.
 */
export function parseStrictJson(text: string): unknown {
  const reader = new Reader(text);
  reader.skipSpace();
  const value = reader.value(0);
  reader.skipSpace();
  if (reader.pos < text.length) reader.fail("Unexpected text after the value");
  return value;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = {
  '"': '"',
  "\\": "\\",
  "/": "/",
  b: "\b",
  f: "\f",
  n: "\n",
  r: "\r",
  t: "\t",
};

/** A cursor over the text. */
class Reader {
  readonly text: string;
  pos = 0;

  constructor(text: string) {
    this.text = text;
  }

  fail(problem: string, at = this.pos): never {
    throw new JsonSyntaxError(problem, this.text, at);
  }

  skipSpace(): void {
    const { text } = this;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  value(depth: number): unknown {
    const { text } = this;
    if (this.pos >= text.length) this.fail("Unexpected end of text");
    const c = text[this.pos];
    if (c === "{") return this.object(depth + 1);
    if (c === "[") return this.array(depth + 1);
    if (c === '"') return this.string();
    for (const [word, value] of LITERALS) {
      if (text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return value;
      }
    }
    NUMBER.lastIndex = this.pos;
    const number = NUMBER.exec(text);
    if (number === null) {
      this.fail(`Unexpected character ${JSON.stringify(c)}`);
    }
    this.pos += number[0].length;
    return Number(number[0]);
  }

  object(depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) this.fail("Nested too deeply");
    const result: Record<string, unknown> = Object.create(null);
    const seen = new Set<string>();
    this.pos++; // {
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return result;
    }
    for (;;) {
      const at = this.pos;
      if (this.text[this.pos] !== '"') this.fail("Expected a string key");
      const key = this.string();
      if (seen.has(key)) this.fail(`Duplicate key ${JSON.stringify(key)}`, at);
      seen.add(key);
      this.skipSpace();
      this.expect(":");
      this.skipSpace();
      result[key] = this.value(depth);
      this.skipSpace();
      if (this.text[this.pos] === "}") {
        this.pos++;
        return result;
      }
      this.expect(",");
      this.skipSpace();
    }
  }

  array(depth: number): unknown[] {
    if (depth > MAX_DEPTH) this.fail("Nested too deeply");
    const result: unknown[] = [];
    this.pos++; // [
    this.skipSpace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.value(depth));
      this.skipSpace();
      if (this.text[this.pos] === "]") {
        this.pos++;
        return result;
      }
      this.expect(",");
      this.skipSpace();
    }
  }

  string(): string {
    const { text } = this;
    const start = ++this.pos; // "
    let out = "";
    let run = start;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c === 0x22) {
        out += text.slice(run, this.pos++);
        return out;
      }
      if (c < 0x20) this.fail("Control character in a string");
      if (c !== 0x5c) {
        this.pos++;
        continue;
      }
      out += text.slice(run, this.pos);
      const escape = text[this.pos + 1];
      if (escape === "u") {
        const hex = text.slice(this.pos + 2, this.pos + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail("Bad \\u escape");
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += 6;
      } else if (escape !== undefined && Object.hasOwn(ESCAPES, escape)) {
        out += ESCAPES[escape];
        this.pos += 2;
      } else {
        this.fail("Bad escape");
      }
      run = this.pos;
    }
    return this.fail("Unterminated string", start - 1);
  }

  expect(char: string): void {
    if (this.pos >= this.text.length) this.fail("Unexpected end of text");
    if (this.text[this.pos] !== char) {
      this.fail(
        `Expected ${JSON.stringify(char)}, found ${
          JSON.stringify(this.text[this.pos])
        }`,
      );
    }
    this.pos++;
  }
}

const LITERALS: [string, unknown][] = [
  ["true", true],
  ["false", false],
  ["null", null],
];
