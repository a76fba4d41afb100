/**
 * Parser inputs: a corpus of valid XMPP streams (the recorded transcripts,
 * realistic stanzas, documents at the limits) and, for each seed, one input
 * made from it: mutated, random frames, two documents spliced, random UTF-8
 * in a body, deep nesting, or untouched; with random parser options and,
 * for some, limits that change after the header or the first stanza (as a
 * stream's do once it is authenticated).
 *
 * @module
 */

import type { XmlParserOptions } from "../../src/xml/parser.ts";
import { DEFAULT_LIMITS, type ParserLimits } from "../../src/xml/limits.ts";
import { xmppStanza } from "../../bench/_xmpp_stanzas.ts";
import { gap } from "../../bench/_random.ts";
import {
  concat,
  edit,
  HEADER,
  mutate,
  randomFrames,
  randomUtf8,
  utf8,
} from "./mutate.ts";
import { Rng } from "./rng.ts";
import type { Transcript } from "./transcripts.ts";

/** One generated input. */
export interface ParserInput {
  /** How it was made. */
  kind: string;
  /** The bytes. */
  bytes: Uint8Array;
  /** Parser options. */
  options: XmlParserOptions;
  /** Whether it is an untouched corpus document, which must be accepted. */
  valid: boolean;
  /**
   * Limits to switch to from a sink callback (as a stream does once open),
   * at the header or at the end of the first stanza.
   */
  switchLimits?: { at: "open" | "stanza"; limits: Partial<ParserLimits> };
}

/**
 * The documents to mutate: every stream of every transcript (closed with
 * `</stream:stream>`), streams of realistic stanzas, and a few made to sit
 * at the limits.
 *
 * @param transcripts Recorded honest streams.
 * @param seed Seeds the stanza generator.
 * @returns Valid stream documents.
 */
export function buildCorpus(
  transcripts: readonly Transcript[],
  seed: number,
): Uint8Array[] {
  const corpus: Uint8Array[] = [];
  for (const { steps } of transcripts) {
    const streams = new Map<string, Uint8Array[]>();
    for (const step of steps) {
      const key = `${step.side}:${step.stream}`;
      if (!streams.has(key)) streams.set(key, []);
      streams.get(key)!.push(step.bytes);
    }
    for (const chunks of streams.values()) {
      const text = new TextDecoder().decode(concat(...chunks));
      corpus.push(
        utf8(
          text.endsWith("</stream:stream>") ? text : `${text}</stream:stream>`,
        ),
      );
    }
  }
  const rng = new Rng(seed);
  // Small documents parse fast: one or two stanzas of at most 800 bytes.
  while (corpus.length < 200) {
    let doc = HEADER;
    for (let n = rng.chance(0.8) ? 1 : 2; n > 0; n--) {
      let stanza = xmppStanza(rng);
      while (stanza.length > 800) stanza = xmppStanza(rng);
      doc += gap(rng) + stanza;
    }
    corpus.push(utf8(`${doc}${gap(rng)}</stream:stream>`));
  }
  const deep = (n: number) => "<a>".repeat(n) + "</a>".repeat(n);
  for (
    const body of [
      `<message>${deep(62)}</message>`,
      `<message><body><![CDATA[<not> & markup]]>&#x1F600;&#233;&lt;</body></message>`,
      `<p:iq xmlns:p='jabber:client' type='get' id='1'><q xmlns='urn:q' p:a='1'/></p:iq>`,
      `<message xml:lang='fr' ${
        Array.from({ length: 40 }, (_, i) => `a${i}='${i}'`).join(" ")
      }><body>Élodie 小明 😀</body></message>`,
      `<presence>\r\n\t<status>line\r\nbreaks\rand\ttabs</status></presence>`,
    ]
  ) corpus.push(utf8(`${HEADER}${body}</stream:stream>`));
  return corpus;
}

/**
 * Generates the input of one seed.
 *
 * @param seed The input's seed.
 * @param corpus Valid documents to start from.
 * @param steps Valid negotiation chunks, for random frames.
 * @returns The input.
 */
export function parserInput(
  seed: number,
  corpus: readonly Uint8Array[],
  steps: readonly Uint8Array[],
): ParserInput {
  const rng = new Rng(seed);
  const kind = rng.weighted(
    [
      [60, "mutated"],
      [14, "frames"],
      [8, "spliced"],
      [5, "utf8"],
      [5, "nested"],
      [8, "valid"],
    ] as const,
  );
  const doc = rng.pick(corpus);
  let bytes: Uint8Array;
  switch (kind) {
    case "mutated":
      bytes = mutate(rng, doc, corpus);
      break;
    case "frames":
      bytes = concat(
        utf8(HEADER),
        randomFrames(rng, steps),
        utf8(rng.chance(0.7) ? "</stream:stream>" : ""),
      );
      break;
    case "spliced": {
      const other = rng.pick(corpus);
      bytes = concat(
        doc.subarray(0, rng.int(0, doc.length)),
        other.subarray(rng.int(0, other.length)),
      );
      break;
    }
    case "utf8":
      bytes = concat(
        utf8(`${HEADER}<message><body>`),
        randomUtf8(rng, rng.int(1, 24)),
        utf8("</body></message></stream:stream>"),
      );
      break;
    case "nested":
      bytes = edit(rng, doc, corpus, "nest");
      break;
    case "valid":
      bytes = doc;
      break;
  }
  const options: XmlParserOptions = {
    tree: rng.chance(0.3),
    stream: rng.chance(0.9),
  };
  const input: ParserInput = { kind, bytes, options, valid: kind === "valid" };
  if (kind !== "valid" && rng.chance(0.25)) {
    const small = smallLimits(rng);
    const at = rng.chance(0.5) ? "open" : "stanza";
    switch (rng.below(3)) {
      case 0: // small limits throughout
        Object.assign(options, small);
        break;
      case 1: // small while negotiating, then the defaults
        Object.assign(options, small);
        input.switchLimits = { at, limits: { ...DEFAULT_LIMITS } };
        break;
      default: // the defaults, then small ones
        input.switchLimits = { at, limits: small };
    }
  }
  return input;
}

function smallLimits(rng: Rng): ParserLimits {
  return {
    maxStanzaBytes: rng.int(16, 512),
    maxDepth: rng.int(1, 8),
    maxAttributes: rng.int(1, 6),
    maxNameLength: rng.int(1, 24),
  };
}
