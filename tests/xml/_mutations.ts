/**
 * Ways to break and split inputs: random chunk splits (biased to the spots
 * where tokens straddle chunks), random mutations of valid documents, and
 * random markup soup.
 *
 * @module
 */

import fc from "fast-check";
import { type DocumentOptions, utf8, xmlDocument } from "./_arbitraries.ts";

// ---------------------------------------------------------------------------
// Chunking

/**
 * Byte positions worth splitting at: inside multi-byte characters, around
 * markup characters (so inside names, attribute values, entities, `]]>`)
 * and anywhere in the first 64 bytes (the declaration and the header).
 *
 * @param bytes The input.
 * @returns Positions in 1..length-1.
 */
export function interestingSplits(bytes: Uint8Array): number[] {
  const marks = new Set(Array.from("<>&;]=:'\"?!/#x", (c) => c.charCodeAt(0)));
  const found: number[] = [];
  for (let i = 1; i < bytes.length; i++) {
    const here = bytes[i]!;
    const before = bytes[i - 1]!;
    if (
      i < 64 || (here & 0xc0) === 0x80 || marks.has(here) || marks.has(before)
    ) {
      found.push(i);
    }
  }
  return found;
}

/** Seeds of a chunk split: each picks an interesting or a uniform position. */
export const splitSeeds: fc.Arbitrary<[boolean, number][]> = fc.array(
  fc.tuple(fc.boolean(), fc.nat()),
  { maxLength: 24 },
);

/**
 * Splits bytes at the positions the seeds pick. Equal positions give empty
 * chunks, which a parser must accept too.
 *
 * @param bytes The input.
 * @param seeds From {@linkcode splitSeeds}.
 * @returns The chunks, in order; they concatenate to `bytes`.
 */
export function split(
  bytes: Uint8Array,
  seeds: readonly [boolean, number][],
): Uint8Array[] {
  const interesting = interestingSplits(bytes);
  const cuts = seeds.map(([useInteresting, n]) =>
    useInteresting && interesting.length > 0
      ? interesting[n % interesting.length]!
      : n % (bytes.length + 1)
  );
  return cutAt(bytes, cuts);
}

/**
 * Cuts bytes at the given positions (in any order; equal positions give
 * empty chunks).
 *
 * @param bytes The input.
 * @param cuts Positions in 0..length.
 * @returns Views of `bytes` that concatenate to it.
 */
export function cutAt(
  bytes: Uint8Array,
  cuts: readonly number[],
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    chunks.push(bytes.subarray(from, cut));
    from = cut;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

// ---------------------------------------------------------------------------
// Mutations

/** Byte strings that break documents in interesting ways. */
// deno-fmt-ignore
const INSERTS: readonly Uint8Array[] = [
  "<", "&", "]]>", "<!--", "-->", "<?", "<?pi x?>", "<!DOCTYPE a>",
  "<!ENTITY e 'x'>", "<![CDATA[", "\0", "&#0;", "&#xD800;", "&#x110000;",
  "&#99999999999999999999;", "&e;", "&amp", "'", '"', ">", "/", "</", "/>",
  "</a>", " xmlns:p=''", " xmlns:xml='urn:x'", " p:a='1'", " a='1' a='2'",
  "=", ":", "\uFFFE", "\u0001", "<?xml version='1.0'?>",
  "<?xml version='1.1'?>", "<?xml version='1.0' encoding='ISO-8859-1'?>",
].map(utf8).concat([
  // Invalid UTF-8: stray bytes, overlong, truncated, surrogate, > U+10FFFF;
  // and a BOM out of place.
  [0xff], [0xfe], [0x80], [0xc0, 0x80], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80],
  [0xf0, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xef, 0xbb, 0xbf],
].map((bytes) => new Uint8Array(bytes)));

/** One edit of a byte string; positions are reduced modulo its length. */
export type Mutation =
  | { kind: "flip"; at: number; bit: number }
  | { kind: "set"; at: number; byte: number }
  | { kind: "insert"; at: number; what: number }
  | { kind: "delete"; at: number; length: number }
  | { kind: "truncate"; at: number }
  | { kind: "duplicate"; at: number; length: number; to: number };

/** A random mutation. */
export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.nat(7),
  }),
  fc.record({
    kind: fc.constant("set" as const),
    at: fc.nat(),
    byte: fc.nat(255),
  }),
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      what: fc.nat(INSERTS.length - 1),
    }),
  },
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("duplicate" as const),
    at: fc.nat(),
    length: fc.integer({ min: 1, max: 64 }),
    to: fc.nat(),
  }),
);

/** The bytes of `parts`, one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * Applies one mutation.
 *
 * @param bytes The input (not modified).
 * @param m The mutation.
 * @returns The mutated copy.
 */
export function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const at = m.at % (bytes.length + 1);
  switch (m.kind) {
    case "flip": {
      if (bytes.length === 0) return bytes;
      const copy = bytes.slice();
      const i = at % bytes.length;
      copy[i] = copy[i]! ^ (1 << m.bit);
      return copy;
    }
    case "set": {
      if (bytes.length === 0) return bytes;
      const copy = bytes.slice();
      copy[at % bytes.length] = m.byte;
      return copy;
    }
    case "insert":
      return concat(
        bytes.subarray(0, at),
        INSERTS[m.what]!,
        bytes.subarray(at),
      );
    case "delete":
      return concat(bytes.subarray(0, at), bytes.subarray(at + m.length));
    case "truncate":
      return bytes.slice(0, at);
    case "duplicate": {
      const slice = bytes.subarray(at, at + m.length);
      const to = m.to % (bytes.length + 1);
      return concat(bytes.subarray(0, to), slice, bytes.subarray(to));
    }
  }
}

/**
 * A random document with one to three random mutations: mostly invalid,
 * sometimes still well-formed.
 *
 * @param options What kind of document to start from.
 * @returns The mutated bytes.
 */
export function mutatedDocument(
  options: DocumentOptions = {},
): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(
      xmlDocument({ depth: 2, ...options }),
      fc.array(mutation, { minLength: 1, maxLength: 3 }),
    )
    .map(([doc, mutations]) => mutations.reduce(mutate, utf8(doc)));
}

// ---------------------------------------------------------------------------
// Markup soup

/** Tokens that make up short, mostly broken, sometimes well-formed markup. */
// deno-fmt-ignore
const SOUP = [
  "<", ">", "/", "a", "b", "p:", " ", "\n", "=", "'", '"', "&", ";", "#", "x",
  "1", "amp", "lt", "]", "[", "!", "?", "-", ":", "xmlns", "xml", "CDATA", "é",
  "\u{1F600}", "<a>", "</a>", "<b/>", " x='1'", " xmlns:p='urn:p'",
  " xmlns='urn:d'", "<![CDATA[", "]]>",
] as const;

/** Short random markup: a concatenation of markup tokens, mostly invalid. */
export const markupSoup: fc.Arbitrary<string> = fc
  .array(fc.constantFrom(...SOUP), { maxLength: 24 })
  .map((tokens) => tokens.join(""));
