/**
 * fast-check arbitraries for the XML tests: random well-formed restricted-XML
 * documents (as text) and random `Element` trees for serializer round trips.
 * Ways to break and split them are in `_mutations.ts`.
 *
 * Documents are generated as an abstract tree first and rendered second, so
 * that the renderer can resolve namespace prefixes against the declarations
 * in scope and escape only what must be escaped.
 *
 * @module
 */

import fc from "fast-check";
import { Element } from "../../src/xml/element.ts";

type Range = readonly [number, number];

/** NameStartChar of XML 1.0 fifth edition, without ":" (so NCName). */
// deno-fmt-ignore
const NAME_START_ASCII: readonly Range[] = [[0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
// deno-fmt-ignore
const NAME_START_OTHER: readonly Range[] = [
  [0xc0, 0xd6], [0xd8, 0xf6], [0xf8, 0x2ff], [0x370, 0x37d], [0x37f, 0x1fff],
  [0x200c, 0x200d], [0x2070, 0x218f], [0x2c00, 0x2fef], [0x3001, 0xd7ff],
  [0xf900, 0xfdcf], [0xfdf0, 0xfffd],
];
const NAME_START_ASTRAL: readonly Range[] = [[0x10000, 0xeffff]];
/** NameChar minus NameStartChar. */
// deno-fmt-ignore
const NAME_EXTRA: readonly Range[] = [
  [0x2d, 0x2e], [0x30, 0x39], [0xb7, 0xb7], [0x300, 0x36f], [0x203f, 0x2040],
];

/** Char of XML 1.0 fifth edition, split by how often we want each part. */
const CHAR_BMP: readonly Range[] = [[0x80, 0xd7ff], [0xe000, 0xfffd]];
const CHAR_ASTRAL: readonly Range[] = [[0x10000, 0x10ffff]];
/** Edges of the Char production that parsers get wrong. */
// deno-fmt-ignore
const CHAR_EDGES = [
  0x7f, 0x85, 0x9f, 0xa0, 0x2028, 0xd7ff, 0xe000, 0xfdd0, 0xfeff, 0xfffd,
  0x10000, 0x1f600, 0x10ffff,
];

/** Whitespace as the XML S production has it. */
const WHITESPACE = [" ", "\t", "\n", "\r", "\r\n"] as const;

/** The namespaces the stream layer cares about, plus plain ones. */
const NAMESPACES = [
  "jabber:client",
  "jabber:server",
  "http://etherx.jabber.org/streams",
  "urn:ietf:params:xml:ns:xmpp-tls",
  "urn:ietf:params:xml:ns:xmpp-sasl",
  "urn:xmpp:e2e",
  "urn:a",
  "urn:b",
] as const;

/** The XML namespace, bound to the `xml` prefix everywhere. */
export const XML_NS = "http://www.w3.org/XML/1998/namespace";

function codePoint(ranges: readonly Range[]): fc.Arbitrary<number> {
  return fc.oneof(...ranges.map(([min, max]) => fc.integer({ min, max })));
}

function weighted(
  ...entries: [number, fc.Arbitrary<string>][]
): fc.Arbitrary<string> {
  return fc.oneof(
    ...entries.map(([weight, arbitrary]) => ({ weight, arbitrary })),
  );
}

const fromCodePoint = (cp: number) => String.fromCodePoint(cp);

/** One NameStartChar (no colon): mostly ASCII, some BMP, some astral. */
export const nameStartChar: fc.Arbitrary<string> = weighted(
  [12, codePoint(NAME_START_ASCII).map(fromCodePoint)],
  [3, codePoint(NAME_START_OTHER).map(fromCodePoint)],
  [1, codePoint(NAME_START_ASTRAL).map(fromCodePoint)],
);

/** One NameChar (no colon). */
export const nameChar: fc.Arbitrary<string> = weighted(
  [8, nameStartChar],
  [2, codePoint(NAME_EXTRA).map(fromCodePoint)],
);

/**
 * Whether a code point is a NameStartChar other than ":".
 *
 * @param cp The code point.
 * @returns Whether an NCName may start with it.
 */
export function isNameStartChar(cp: number): boolean {
  return [NAME_START_ASCII, NAME_START_OTHER, NAME_START_ASTRAL].some((
    ranges,
  ) => ranges.some(([min, max]) => cp >= min && cp <= max));
}

/** An NCName (a name without a colon), 1 to 9 characters. */
export const ncName: fc.Arbitrary<string> = fc
  .tuple(nameStartChar, fc.array(nameChar, { maxLength: 8 }))
  .map(([first, rest]) => first + rest.join(""))
  .filter((name) => name !== "xmlns");

/** A namespace prefix: an NCName that does not start with "xml". */
export const prefix: fc.Arbitrary<string> = ncName.filter((name) =>
  !/^[Xx][Mm][Ll]/.test(name)
);

/** Any character the XML Char production allows, biased to the hard ones. */
export const xmlChar: fc.Arbitrary<string> = weighted(
  [20, fc.integer({ min: 0x20, max: 0x7e }).map(fromCodePoint)],
  [3, fc.constantFrom("<", "&", ">", "]", "'", '"', "\t", "\n", "\r")],
  [4, codePoint(CHAR_BMP).map(fromCodePoint)],
  [2, codePoint(CHAR_ASTRAL).map(fromCodePoint)],
  [1, fc.constantFrom(...CHAR_EDGES).map(fromCodePoint)],
);

/** A string of XML Chars (may hold `<`, `&`, `]]>`, CR, astral chars). */
export const xmlString: fc.Arbitrary<string> = fc
  .array(xmlChar, { maxLength: 12 })
  .map((chars) => chars.join(""));

/** A namespace URI: a known one, or a random URN with non-ASCII and `&'`. */
export const namespaceUri: fc.Arbitrary<string> = weighted(
  [4, fc.constantFrom(...NAMESPACES)],
  [
    1,
    fc
      .array(
        weighted(
          [6, fc.constantFrom(..."abcxyz019:/.-_%")],
          [1, fc.constantFrom("&", "'", "é", "日", "\u{1F600}")],
        ),
        { minLength: 1, maxLength: 8 },
      )
      .map((chars) => "urn:" + chars.join("")),
  ],
);

// ---------------------------------------------------------------------------
// Abstract documents

/** One piece of character data, before escaping. */
export type TextItem =
  | { kind: "raw"; text: string }
  | { kind: "entity"; name: "lt" | "gt" | "amp" | "apos" | "quot" }
  | {
    kind: "charRef";
    code: number;
    hex: boolean;
    upper: boolean;
    zeros: number;
  }
  | { kind: "cdata"; text: string }
  | { kind: "newline"; text: string };

const entityItem: fc.Arbitrary<TextItem> = fc
  .constantFrom("lt", "gt", "amp", "apos", "quot" as const)
  .map((name) => ({ kind: "entity", name }));

function charRefItem(code: fc.Arbitrary<number>): fc.Arbitrary<TextItem> {
  return fc.record({
    kind: fc.constant("charRef" as const),
    code,
    hex: fc.boolean(),
    upper: fc.boolean(),
    zeros: fc.nat(2),
  });
}

/** Code points a character reference may name: any XML Char. */
const refCode: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0x9, 0xa, 0xd, 0x20, 0x3c, 0x26, 0x5d, ...CHAR_EDGES),
  fc.integer({ min: 0x20, max: 0x7e }),
  codePoint(CHAR_BMP),
  codePoint(CHAR_ASTRAL),
);

const rawItem: fc.Arbitrary<TextItem> = xmlString.map((text) => ({
  kind: "raw",
  text,
}));

const newlineItem: fc.Arbitrary<TextItem> = fc
  .constantFrom("\r\n", "\r", "\n", "\r\r\n", "\n\r")
  .map((text) => ({ kind: "newline", text }));

/** Character data anywhere in element content. */
export const textItem: fc.Arbitrary<TextItem> = fc.oneof(
  { weight: 6, arbitrary: rawItem },
  { weight: 2, arbitrary: entityItem },
  { weight: 2, arbitrary: charRefItem(refCode) },
  {
    weight: 2,
    arbitrary: xmlString.map((text): TextItem => ({ kind: "cdata", text })),
  },
  { weight: 1, arbitrary: newlineItem },
);

/** Character data that is whitespace only (stream level in XMPP). */
export const whitespaceItem: fc.Arbitrary<TextItem> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .array(fc.constantFrom(...WHITESPACE), { minLength: 1, maxLength: 3 })
      .map((ws): TextItem => ({ kind: "raw", text: ws.join("") })),
  },
  { weight: 1, arbitrary: charRefItem(fc.constantFrom(0x9, 0xa, 0xd, 0x20)) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(" ", "\n", "\r\n")
      .map((text): TextItem => ({ kind: "cdata", text })),
  },
);

/** Character data in an attribute value (no CDATA there). */
const attrItem: fc.Arbitrary<TextItem> = fc.oneof(
  { weight: 6, arbitrary: rawItem },
  { weight: 2, arbitrary: entityItem },
  { weight: 2, arbitrary: charRefItem(refCode) },
  { weight: 1, arbitrary: newlineItem },
);

/** An attribute value before escaping. */
export const attrValue: fc.Arbitrary<TextItem[]> = fc.array(attrItem, {
  maxLength: 4,
});

/** An abstract element: names and prefixes are resolved when rendered. */
export interface GenElement {
  /** Which in-scope prefix the element uses: 0 none, n the n-th (mod). */
  prefixPick: number;
  local: string;
  /** Namespace declarations; prefix `null` is the default namespace. */
  decls: { prefix: string | null; uri: string }[];
  attrs: { prefixPick: number; local: string; value: TextItem[] }[];
  lang: TextItem[] | null;
  /** Where namespace declarations go among the attributes. */
  rotate: number;
  quotes: boolean[];
  spaces: string[];
  selfClose: boolean;
  content: (GenElement | TextItem[])[];
}

const space: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(" ") },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.constantFrom(...WHITESPACE), { minLength: 1, maxLength: 3 })
      .map((ws) => ws.join("")),
  },
);

const optionalSpace: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: space },
);

const declArb = fc.record({
  prefix: fc.option(prefix, { freq: 2 }),
  uri: fc.oneof(
    { weight: 6, arbitrary: namespaceUri },
    { weight: 1, arbitrary: fc.constant("") },
  ),
});

const attrArb = fc.record({
  prefixPick: fc.nat(6),
  local: ncName,
  value: attrValue,
});

/** An element with up to `depth` levels of elements below it. */
function genElement(depth: number): fc.Arbitrary<GenElement> {
  const run = fc.array(textItem, { minLength: 1, maxLength: 3 });
  const child = depth <= 0
    ? run
    : fc.oneof<fc.Arbitrary<GenElement | TextItem[]>[]>(
      run,
      genElement(depth - 1),
    );
  return fc.record({
    prefixPick: fc.nat(6),
    local: ncName,
    decls: fc.array(declArb, { maxLength: 2 }),
    attrs: fc.array(attrArb, { maxLength: 3 }),
    lang: fc.option(attrValue, { freq: 6 }),
    rotate: fc.nat(),
    quotes: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    spaces: fc.array(optionalSpace, { minLength: 8, maxLength: 8 }),
    selfClose: fc.boolean(),
    content: fc.array(child, { maxLength: 4 }),
  });
}

/** Options of {@linkcode xmlDocument}. */
export interface DocumentOptions {
  /**
   * Text directly inside the root is whitespace only, as in an XMPP stream
   * (so `frames()` accepts it). Default false.
   */
  stream?: boolean;
  /** Whether the root end tag is there. Default true. */
  closed?: boolean;
  /** Deepest nesting below the root. Default 3. */
  depth?: number;
}

interface GenDocument {
  declaration: string | null;
  afterDeclaration: string;
  root: GenElement;
}

const declaration: fc.Arbitrary<string> = fc
  .record({
    q: fc.constantFrom("'", '"'),
    s: fc.array(optionalSpace, { minLength: 4, maxLength: 4 }),
    encoding: fc.option(fc.constantFrom("UTF-8", "utf-8", "Utf-8")),
    standalone: fc.option(fc.constantFrom("yes", "no")),
  })
  .map(({ q, s, encoding, standalone }) =>
    `<?xml version${s[0]}=${s[1]}${q}1.0${q}` +
    (encoding === null ? "" : ` encoding${s[2]}=${q}${encoding}${q}`) +
    (standalone === null ? "" : ` standalone=${s[3]}${q}${standalone}${q}`) +
    `${s[0]}?>`
  );

/** An XMPP stream header as a client sends it, as an abstract root. */
const streamRoot: fc.Arbitrary<GenElement> = fc
  .record({ to: ncName, quote: fc.boolean() })
  .map(({ to, quote }) => ({
    prefixPick: 1,
    local: "stream",
    decls: [
      { prefix: null, uri: "jabber:client" },
      { prefix: "stream", uri: "http://etherx.jabber.org/streams" },
    ],
    attrs: [
      { prefixPick: 0, local: "to", value: [{ kind: "raw", text: to }] },
      {
        prefixPick: 0,
        local: "version",
        value: [{ kind: "raw", text: "1.0" }],
      },
    ],
    lang: [{ kind: "raw", text: "en" }],
    rotate: 0,
    quotes: Array(8).fill(quote),
    spaces: Array(8).fill(""),
    selfClose: false,
    content: [],
  }));

function genDocument(options: DocumentOptions): fc.Arbitrary<GenDocument> {
  const depth = options.depth ?? 3;
  const rootText = options.stream ? whitespaceItem : textItem;
  const random = genElement(depth);
  const rootContent = fc.array(
    fc.oneof(fc.array(rootText, { minLength: 1, maxLength: 2 }), random),
    { maxLength: 5 },
  );
  const rootHead = fc.oneof({ weight: 3, arbitrary: random }, {
    weight: 1,
    arbitrary: streamRoot,
  });
  return fc.record({
    declaration: fc.option(declaration, { freq: 3 }),
    afterDeclaration: fc.constantFrom("", "", "\n", "\r\n", " \t"),
    root: fc
      .tuple(rootHead, rootContent, fc.boolean())
      .map(([head, content, selfClose]) => ({
        ...head,
        content,
        selfClose: selfClose && content.length === 0 &&
          options.closed !== false,
      })),
  });
}

// ---------------------------------------------------------------------------
// Rendering

interface Scope {
  /** Prefix to URI; `""` is the default namespace. */
  readonly bindings: ReadonlyMap<string, string>;
}

function charRef(
  item: Extract<TextItem, { kind: "charRef" }>,
): string {
  const zeros = "0".repeat(item.zeros);
  if (!item.hex) return `&#${zeros}${item.code};`;
  const digits = item.code.toString(16);
  return `&#x${zeros}${item.upper ? digits.toUpperCase() : digits};`;
}

/** Renders character data in element content. */
function renderText(items: readonly TextItem[], out: string[]): void {
  for (const item of items) {
    switch (item.kind) {
      case "raw":
        for (const ch of item.text) {
          if (ch === "<") out.push("&lt;");
          else if (ch === "&") out.push("&amp;");
          else if (ch === ">" && endsWithBrackets(out)) out.push("&gt;");
          else out.push(ch);
        }
        break;
      case "entity":
        out.push(`&${item.name};`);
        break;
      case "charRef":
        out.push(charRef(item));
        break;
      case "cdata":
        out.push(
          `<![CDATA[${item.text.replaceAll("]]>", "]]]]><![CDATA[>")}]]>`,
        );
        break;
      case "newline":
        out.push(item.text);
        break;
    }
  }
}

/** Whether the output so far ends with `]]` (so a raw `>` would be `]]>`). */
function endsWithBrackets(out: readonly string[]): boolean {
  const tail = (out.at(-2) ?? "") + (out.at(-1) ?? "");
  return tail.endsWith("]]");
}

/** Renders an attribute value between the given quotes. */
function renderAttr(items: readonly TextItem[], quote: string): string {
  let value = "";
  for (const item of items) {
    switch (item.kind) {
      case "raw":
      case "newline":
      case "cdata":
        for (const ch of item.text) {
          if (ch === "<") value += "&lt;";
          else if (ch === "&") value += "&amp;";
          else if (ch === quote) value += quote === "'" ? "&apos;" : "&#34;";
          else value += ch;
        }
        break;
      case "entity":
        value += `&${item.name};`;
        break;
      case "charRef":
        value += charRef(item);
        break;
    }
  }
  return quote + value + quote;
}

function pick<T>(items: readonly T[], n: number): T | undefined {
  const choice = n % (items.length + 1);
  return choice === 0 ? undefined : items[choice - 1];
}

function renderElement(
  el: GenElement,
  parent: Scope,
  out: string[],
  closed: boolean,
): void {
  const bindings = new Map(parent.bindings);
  const declared = new Set<string>();
  const parts: string[] = [];
  const q = (i: number) => (el.quotes[i % el.quotes.length] ? "'" : '"');
  for (const { prefix, uri } of el.decls) {
    const key = prefix ?? "";
    if (declared.has(key)) continue;
    if (prefix !== null && uri === "") continue; // xmlns:p='' is an error
    declared.add(key);
    bindings.set(key, uri);
    const name = prefix === null ? "xmlns" : `xmlns:${prefix}`;
    parts.push(`${name}=${renderAttr([{ kind: "raw", text: uri }], q(1))}`);
  }
  const prefixes = [...bindings.keys()].filter((p) => p !== "");
  const elementPrefix = pick(prefixes, el.prefixPick);
  const qname = elementPrefix === undefined
    ? el.local
    : `${elementPrefix}:${el.local}`;
  const seen = new Set<string>();
  for (const [i, attr] of el.attrs.entries()) {
    const attrPrefix = pick(prefixes, attr.prefixPick);
    const uri = attrPrefix === undefined ? "" : bindings.get(attrPrefix);
    const expanded = `{${uri}}${attr.local}`;
    if (seen.has(expanded)) continue;
    seen.add(expanded);
    const name = attrPrefix === undefined
      ? attr.local
      : `${attrPrefix}:${attr.local}`;
    const eq = `${el.spaces[i % 8]}=${el.spaces[(i + 3) % 8]}`;
    parts.push(`${name}${eq}${renderAttr(attr.value, q(i + 2))}`);
  }
  if (el.lang !== null) parts.push(`xml:lang=${renderAttr(el.lang, q(0))}`);
  const rotate = parts.length === 0 ? 0 : el.rotate % parts.length;
  const ordered = [...parts.slice(rotate), ...parts.slice(0, rotate)];
  out.push("<", qname);
  for (const [i, part] of ordered.entries()) {
    out.push(i === 0 || el.spaces[i % 8] === "" ? " " : el.spaces[i % 8]!);
    out.push(part);
  }
  out.push(el.spaces[7]!);
  if (el.selfClose && el.content.length === 0 && closed) {
    out.push("/>");
    return;
  }
  out.push(">");
  const scope = { bindings };
  for (const child of el.content) {
    if (Array.isArray(child)) renderText(child, out);
    else renderElement(child, scope, out, true);
  }
  if (closed) out.push("</", qname, el.spaces[6]!, ">");
}

function renderDocument(doc: GenDocument, closed: boolean): string {
  const out: string[] = [];
  if (doc.declaration !== null) out.push(doc.declaration, doc.afterDeclaration);
  const root: Scope = { bindings: new Map() };
  renderElement(doc.root, root, out, closed);
  return out.join("");
}

/**
 * A random well-formed restricted-XML document (no DTD, comment or PI): an
 * optional XML declaration, then one root element. Names are ASCII and
 * non-ASCII NCNames; namespaces are declared (default and prefixed, also
 * after their use in the same tag, redeclared and undeclared in children);
 * attributes use both quote styles and `xml:lang`; text mixes the five
 * entities, decimal and hex character references (astral ones too), CDATA
 * sections, CR / CRLF line ends and non-ASCII and astral characters.
 *
 * @param options What kind of document.
 * @returns The document as a string.
 */
export function xmlDocument(
  options: DocumentOptions = {},
): fc.Arbitrary<string> {
  const closed = options.closed ?? true;
  return genDocument(options).map((doc) => renderDocument(doc, closed));
}

/** The UTF-8 encoding of a string. */
export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

// ---------------------------------------------------------------------------
// Element trees

/** An attribute key as `Element.attrs` has it: local, `xml:*` or Clark. */
const attrKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: ncName },
  { weight: 1, arbitrary: fc.constantFrom("xml:lang", "xml:space") },
  {
    weight: 2,
    arbitrary: fc
      .tuple(namespaceUri, ncName)
      .map(([uri, local]) => `{${uri}}${local}`),
  },
);

const elementNs: fc.Arbitrary<string> = fc.oneof(
  { weight: 1, arbitrary: fc.constant("") },
  { weight: 3, arbitrary: namespaceUri },
);

function elementTreeAt(depth: number): fc.Arbitrary<Element> {
  const text = fc.oneof({ weight: 4, arbitrary: xmlString }, {
    weight: 1,
    arbitrary: fc.constantFrom("", "]]>", "\r\n", "\r", "\t", " "),
  });
  const child: fc.Arbitrary<Element | string> = depth <= 0
    ? text
    : fc.oneof(text, elementTreeAt(depth - 1));
  return fc
    .record({
      name: ncName,
      ns: elementNs,
      attrs: fc.dictionary(attrKey, xmlString, { maxKeys: 4 }),
      children: fc.array(child, { maxLength: 4 }),
    })
    .map(({ name, ns, attrs, children }) =>
      new Element(name, ns, { ...attrs }, children)
    );
}

/**
 * A random `Element` tree for serializer round trips: any NCName, any
 * namespace (or none), attributes unprefixed, `xml:*` and `{uri}local`,
 * text with every XML Char (so `<`, `&`, `]]>`, CR, tab, quotes, astral),
 * empty and adjacent text children.
 *
 * @param depth Deepest nesting below the root. Default 3.
 * @returns Elements.
 */
export function elementTree(depth = 3): fc.Arbitrary<Element> {
  return elementTreeAt(depth);
}

/**
 * Scales a test's number of runs by the `XML_FUZZ_SCALE` environment
 * variable (default 1), for longer local fuzzing sessions:
 * `XML_FUZZ_SCALE=50 deno test --allow-read --allow-env tests/xml/`.
 *
 * @param n Runs at scale 1.
 * @returns Runs at the configured scale.
 */
export function runs(n: number): number {
  const scale = Number(Deno.env.get("XML_FUZZ_SCALE") ?? "1");
  return Math.max(1, Math.round(n * (Number.isFinite(scale) ? scale : 1)));
}
