/**
 * Differential fuzzing against C expat: the fuzzer's inputs (mutated
 * streams, random frames, spliced documents, random UTF-8, deep nesting)
 * and, every other input, a document of a small XML grammar made for the
 * edges (references, line ends, CDATA, namespace declarations; see
 * `xml_grammar.ts`), read by our parser as plain documents with no limits in the way, and by
 * python3's `pyexpat` with namespaces on; both must reach the same verdict,
 * well-formed or not, and read a well-formed one the same: names expanded
 * with their namespaces, attributes, text, in order; and what `serialize()`
 * writes of our reading of it, expat must read the same again (escaping,
 * line ends, white space in attributes, namespace declarations). Where the rules differ on purpose, the difference is
 * named and counted, not reported:
 *
 * - what restricted XML refuses and expat accepts (comments, processing
 *   instructions, document types, encodings other than UTF-8);
 * - names with characters of XML 1.0's fifth edition, which expat reads by
 *   the fourth edition's tables (ours accepts, expat fails at the character);
 * - XML declarations whose version is not `1.` and digits (VersionNum),
 *   which expat does not check.
 *
 * Any other difference is a bug in one of the two: the script prints each
 * class with its smallest input and exits with 1. Exits with 0 and a note
 * when python3 or pyexpat is missing.
 *
 *     deno task fuzz:expat [--inputs=N] [--seed=S]
 *
 * @module
 */

import { buildCorpus, parserInput } from "./parser_input.ts";
import { isNameCharNonAscii } from "../../src/xml/_chars.ts";
import { Oracle, runOptions, scriptArgs } from "./_oracle.ts";
import { itemSeed, Rng } from "./rng.ts";
import { grammarDocument } from "./xml_grammar.ts";
import { recordTranscripts } from "./transcripts.ts";
import { XmlError } from "../../src/xml/errors.ts";
import { parseDocument } from "../../src/xml/parse_document.ts";
import { XmlParser } from "../../src/xml/parser.ts";
import { serialize } from "../../src/xml/serialize.ts";
import type { Element } from "../../src/xml/element.ts";
import type { XmlSink } from "../../src/xml/sink.ts";

const { inputs, seed } = runOptions(scriptArgs());

// One input per request: a 4-byte length, then the bytes; one line back,
// "ok" or "err <code> <byte index> <message>". The separator is a character
// XML cannot hold, so that no namespace name contains it (expat refuses a
// name that holds the separator).
const EXPAT = String.raw`
import sys, struct, json
try:
    import pyexpat
except ImportError:
    print("missing", flush=True); sys.exit(0)
print("ready", pyexpat.EXPAT_VERSION, flush=True)
read = sys.stdin.buffer.read
out = []
text = []
def flush():
    if text:
        out.append("T" + "".join(text)); text.clear()
def start(name, attrs):
    flush()
    out.append("S" + name + "".join("%s=%s" % kv for kv in sorted(attrs.items())))
def end(name):
    flush(); out.append("E")
def chars(data):
    text.append(data)
while True:
    head = read(4)
    if len(head) < 4: break
    data = read(struct.unpack(">I", head)[0])
    p = pyexpat.ParserCreate(namespace_separator="")
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    out.clear(); text.clear()
    try:
        p.Parse(data, True)
        print("ok " + json.dumps("".join(out)), flush=True)
    except pyexpat.ExpatError as e:
        print("err %d %d %s" % (e.code, p.ErrorByteIndex, pyexpat.ErrorString(e.code)), flush=True)
`;

/**
 * Expat's answer for `bytes`: "ok" and its reading, or "err" and where.
 *
 * @param expat The oracle.
 * @param bytes The input.
 * @returns Its line.
 */
async function verdict(expat: Oracle, bytes: Uint8Array): Promise<string> {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, bytes.length);
  await expat.write(head);
  await expat.write(bytes);
  return await expat.line();
}

const XML_NS = "http://www.w3.org/XML/1998/namespace";

/** Expat's spelling of a name: `uri` U+0001 `local`, or `local`. */
function expanded(ns: string, local: string): string {
  return ns === "" ? local : `${ns}\x01${local}`;
}

/**
 * Writes what it reads as expat's handlers in the script above do: a start
 * with its expanded name and sorted attributes, the text between two tags
 * in one piece, an end.
 */
class Dump implements XmlSink {
  readonly out: string[] = [];
  #text = "";

  #flush(): void {
    if (this.#text !== "") this.out.push("T" + this.#text);
    this.#text = "";
  }

  #start(element: Element): void {
    this.#flush();
    const attrs = Object.entries(element.attrs).map(([key, value]) => {
      if (key.startsWith("{")) {
        const close = key.indexOf("}");
        return [expanded(key.slice(1, close), key.slice(close + 1)), value];
      }
      if (key.startsWith("xml:")) {
        return [expanded(XML_NS, key.slice(4)), value];
      }
      return [key, value];
    }).sort(([a], [b]) => a! < b! ? -1 : a! > b! ? 1 : 0);
    this.out.push(
      "S" + expanded(element.ns, element.name) +
        attrs.map(([key, value]) => `\x02${key}=${value}`).join(""),
    );
  }

  open(root: Element): void {
    this.#start(root);
  }
  start(element: Element): void {
    this.#start(element);
  }
  text(text: string): void {
    this.#text += text;
  }
  end(): void {
    this.#flush();
    this.out.push("E");
  }
  close(): void {
    this.end();
  }
}

const UNLIMITED = {
  maxStanzaBytes: 2 ** 30,
  maxDepth: 2 ** 20,
  maxAttributes: 2 ** 20,
  maxNameLength: 2 ** 20,
};

/** Our verdict: what we read, as expat's script writes it, or the XmlError. */
function ours(bytes: Uint8Array): { dump: string } | XmlError {
  const dump = new Dump();
  const parser = new XmlParser(dump, { stream: false, ...UNLIMITED });
  try {
    parser.write(bytes);
    parser.end();
    return { dump: dump.out.join("\x03") };
  } catch (error) {
    if (error instanceof XmlError) return error;
    throw error;
  }
}

// A U+FEFF at the character must be read, not taken for a byte order mark.
const KEEP_BOM = new TextDecoder("utf-8", { ignoreBOM: true });

/** Refused by restricted XML, where expat may accept. */
const RESTRICTED = new Set(["restricted-xml", "unsupported-encoding"]);

/**
 * The name of a difference in verdicts the rules explain, or undefined for
 * one they do not. `mine` is our error when expat accepted, or undefined
 * when we accepted and expat said `expat`.
 */
function explained(
  bytes: Uint8Array,
  mine: XmlError | undefined,
  expat: string,
): string | undefined {
  if (mine !== undefined) {
    if (RESTRICTED.has(mine.condition)) return "restricted XML";
    const version = /malformed version "(.*)"/.exec(mine.message);
    if (version && !/^1\.[0-9]+$/.test(version[1]!)) {
      return "version other than 1.n";
    }
    return undefined;
  }
  // Expat stops at the character its tables refuse; ours must then be one
  // the fifth edition allows in names.
  const at = Number(expat.split(" ")[2]);
  if (!Number.isInteger(at) || (bytes[at] ?? 0) < 0x80) return undefined;
  const char = KEEP_BOM.decode(bytes.subarray(at, at + 4));
  return isNameCharNonAscii(char.charCodeAt(0))
    ? "fifth-edition name characters"
    : undefined;
}

const expat = await Oracle.start(EXPAT);
if (expat === undefined) {
  console.log("fuzz:expat skipped: no python3 with pyexpat");
  Deno.exit(0);
}
console.log(
  `# Differential fuzzing against expat ${expat.version}, seed ${seed}\n`,
);

const transcripts = await recordTranscripts(seed);
const donors = transcripts.flatMap((t) => t.steps.map((s) => s.bytes));
const corpus = buildCorpus(transcripts, seed);

const agreed = { ok: 0, rewritten: 0, error: 0 };
const encoder = new TextEncoder();
const known = new Map<string, number>();
const unexplained = new Map<
  string,
  { input: number; bytes: Uint8Array; mine: string; expat: string }
>();
/** Keeps the smallest input of each class of unexplained difference. */
function report(
  key: string,
  input: number,
  bytes: Uint8Array,
  mine: string,
  expat: string,
) {
  const seen = unexplained.get(key);
  if (seen === undefined || bytes.length < seen.bytes.length) {
    unexplained.set(key, { input, bytes, mine, expat });
  }
}
let count = 0;
const started = performance.now();
for (let i = 0; i < inputs; i++) {
  const input = itemSeed(seed, i);
  // Every other input from the grammar, which reaches what XMPP seldom does.
  const bytes = i % 2 === 1
    ? grammarDocument(new Rng(input))
    : parserInput(input, corpus, donors).bytes;
  const mine = ours(bytes);
  const theirs = await verdict(expat, bytes);
  const expatRead = theirs.startsWith("ok ")
    ? JSON.parse(theirs.slice(3)) as string
    : undefined;
  count++;
  if (!(mine instanceof XmlError) && expatRead !== undefined) {
    // Both well-formed: the same names, attributes and text, in order.
    if (mine.dump === expatRead) {
      agreed.ok++;
      // And what we write of our reading, expat reads the same again.
      const written = serialize(parseDocument(bytes, UNLIMITED));
      const again = await verdict(expat, encoder.encode(written));
      const reread = again.startsWith("ok ")
        ? JSON.parse(again.slice(3)) as string
        : undefined;
      if (reread === expatRead) agreed.rewritten++;
      else {
        report(
          "serialize() of our reading, read by expat, differs",
          input,
          bytes,
          written,
          again,
        );
      }
    } else {
      let at = 0;
      while (mine.dump[at] === expatRead[at]) at++;
      const show = (dump: string) =>
        JSON.stringify(dump.slice(Math.max(0, at - 40), at + 40));
      report(
        "both well-formed, read differently",
        input,
        bytes,
        show(mine.dump),
        show(expatRead),
      );
    }
    continue;
  }
  if (mine instanceof XmlError && expatRead === undefined) {
    agreed.error++;
    continue;
  }
  const error = mine instanceof XmlError ? mine : undefined;
  const why = explained(bytes, error, theirs);
  if (why !== undefined) {
    known.set(why, (known.get(why) ?? 0) + 1);
    continue;
  }
  if (error === undefined) {
    report(
      `we accept, expat: ${theirs.split(" ").slice(3).join(" ")}`,
      input,
      bytes,
      "well-formed",
      theirs,
    );
  } else {
    report(
      `expat accepts, we: ${error.condition}`,
      input,
      bytes,
      error.message,
      "well-formed",
    );
  }
}
await expat.close();

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `${count} inputs in ${seconds} s: both well-formed and read the same ${agreed.ok} (written again by serialize() and read the same by expat ${agreed.rewritten}), both not well-formed ${agreed.error}`,
);
for (const [why, n] of known) {
  console.log(`- differ by the rules (${why}): ${n}`);
}
if (unexplained.size === 0) {
  console.log("\nVerdict: PASS (no difference the rules do not explain)");
  Deno.exit(0);
}
for (const [key, { input, bytes, mine, expat }] of unexplained) {
  console.log(`\n## ${key}`);
  console.log(`input ${input} (replay: --seed=${seed}), ${bytes.length} bytes`);
  console.log(`ours: ${mine}\nexpat: ${expat}`);
  console.log(new TextDecoder().decode(bytes));
}
console.log("\nVerdict: FAIL");
Deno.exit(1);
