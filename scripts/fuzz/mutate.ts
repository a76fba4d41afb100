/**
 * Ways to break XMPP bytes, shared by the parser and the session fuzzers:
 * byte edits of valid input (bit flips, inserts, deletes, duplicates,
 * splices from other documents, truncation, deep nesting, injected markup
 * that restricted XML forbids), random UTF-8 with invalid sequences, random
 * frames (elements, headers, stream errors, replayed negotiation steps) and
 * random chunk splits.
 *
 * @module
 */

import { cutAt } from "../../tests/xml/_mutations.ts";
import type { Rng } from "./rng.ts";

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The bytes of `parts`, one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const STREAMS_NS = "http://etherx.jabber.org/streams";
const STREAM_ERROR_NS = "urn:ietf:params:xml:ns:xmpp-streams";

/** A valid stream header (the initiator's), for frames and documents. */
export const HEADER =
  `<stream:stream xmlns='jabber:client' xmlns:stream='${STREAMS_NS}' ` +
  `to='pronto' version='1.0'>`;

/** Markup that XMPP forbids or that breaks a document where it lands. */
// deno-fmt-ignore
const INJECTIONS: readonly Uint8Array[] = [
  "<!--x-->", "<!--", "-->", "<?pi x?>", "<?xml version='1.0'?>",
  "<?xml version='1.1'?>", "<?xml version='1.0' encoding='ISO-8859-1'?>",
  "<!DOCTYPE stream [<!ENTITY e 'x'>]>", "<!DOCTYPE a>", "<!ENTITY e 'x'>",
  "&e;", "&xxe;", "&amp;", "&lt", "&#0;", "&#x9;", "&#xD800;", "&#x110000;",
  "&#99999999999999;", "&#x1F600;", "<![CDATA[x<y]]>", "<![CDATA[", "]]>",
  " xmlns:p='urn:p'", " xmlns=''", " xmlns:xml='urn:x'", " xmlns:xmlns='urn:x'",
  " xmlns:p=''", " p:a='1'", " a='1' a='2'", " xml:lang='en'",
  " xmlns:stream='urn:other'", " version='2.0'", " version='1.0'",
  `<stream:error><not-well-formed xmlns='${STREAM_ERROR_NS}'/></stream:error>`,
  "</stream:stream>", HEADER, "\uFEFF", "\uFFFE", "\uFFFF", "\u0001", "\0",
  "\r\n", "\r", "\t", "<", ">", "&", "'", '"', "/>", "</", "=", ":", "<a>",
  "</a>", "<a/>", "é", "\u{1F600}", "\u2028",
].map(utf8);

/** Single bytes worth writing over another. */
// deno-fmt-ignore
const BYTES = [
  0x00, 0x09, 0x0a, 0x0d, 0x20, 0x22, 0x26, 0x27, 0x2f, 0x3a, 0x3b, 0x3c,
  0x3d, 0x3e, 0x3f, 0x5d, 0x7f, 0x80, 0xbf, 0xc0, 0xc3, 0xe2, 0xed, 0xef,
  0xf0, 0xf4, 0xf8, 0xfe, 0xff,
];

/** Overlong forms of '<' and U+007F. */
// deno-fmt-ignore
const OVERLONG = [
  [0xc0, 0xbc], [0xc1, 0xbf], [0xe0, 0x80, 0xbc], [0xf0, 0x80, 0x80, 0xbc],
];
/** Surrogates (U+D800, U+DFFF) and U+110000. */
// deno-fmt-ignore
const OUT_OF_RANGE = [
  [0xed, 0xa0, 0x80], [0xed, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80],
];
/** Truncated sequences, and bytes that never occur in UTF-8. */
const BROKEN = [[0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xfe], [0xff]];

/**
 * Random UTF-8: mostly valid characters of every length (some outside XML's
 * Char production), and invalid sequences: stray continuation bytes,
 * overlong forms, surrogates, code points above U+10FFFF, truncated
 * sequences, bytes that never occur.
 *
 * @param rng The source.
 * @param count How many characters or sequences.
 * @returns The bytes.
 */
export function randomUtf8(rng: Rng, count: number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    switch (rng.below(12)) {
      case 0:
      case 1:
      case 2:
        out.push(rng.int(0x20, 0x7e));
        break;
      case 3:
        out.push(rng.int(0x00, 0x1f));
        break;
      case 4:
        out.push(...utf8(String.fromCodePoint(rng.int(0x80, 0x7ff))));
        break;
      case 5:
        out.push(...utf8(String.fromCodePoint(rng.int(0x800, 0xd7ff))));
        break;
      case 6:
        out.push(
          ...utf8(String.fromCodePoint(rng.pick([0xfffe, 0xffff, 0xfeff]))),
        );
        break;
      case 7:
        out.push(...utf8(String.fromCodePoint(rng.int(0x10000, 0x10ffff))));
        break;
      case 8: // stray continuation, or a lead byte without its tail
        out.push(rng.pick([rng.int(0x80, 0xbf), rng.int(0xc2, 0xf4)]));
        break;
      case 9:
        out.push(...rng.pick(OVERLONG));
        break;
      case 10:
        out.push(...rng.pick(OUT_OF_RANGE));
        break;
      default:
        out.push(...rng.pick(BROKEN));
    }
  }
  return new Uint8Array(out);
}

/** The edits {@linkcode mutate} draws from. */
export const EDITS = [
  "flip",
  "set",
  "insert",
  "utf8",
  "delete",
  "duplicate",
  "splice",
  "truncate",
  "nest",
  "repeat",
] as const;

/** One kind of edit. */
export type Edit = typeof EDITS[number];

/**
 * Applies one random edit.
 *
 * @param rng The source.
 * @param bytes The input (not modified).
 * @param donors Other documents to splice fragments from.
 * @param edit The edit, or a random one.
 * @returns The edited copy.
 */
export function edit(
  rng: Rng,
  bytes: Uint8Array,
  donors: readonly Uint8Array[],
  edit: Edit = rng.pick(EDITS),
): Uint8Array {
  const n = bytes.length;
  const at = rng.int(0, n);
  switch (edit) {
    case "flip": {
      if (n === 0) return bytes;
      const copy = bytes.slice();
      const i = at % n;
      copy[i] = copy[i]! ^ (1 << rng.below(8));
      return copy;
    }
    case "set": {
      if (n === 0) return bytes;
      const copy = bytes.slice();
      copy[at % n] = rng.chance(0.5) ? rng.pick(BYTES) : rng.below(256);
      return copy;
    }
    case "insert":
      return splice(bytes, at, 0, rng.pick(INJECTIONS));
    case "utf8":
      return splice(bytes, at, rng.size(4), randomUtf8(rng, rng.int(1, 4)));
    case "delete":
      return splice(bytes, at, rng.int(1, 16), new Uint8Array(0));
    case "duplicate": {
      const slice = bytes.subarray(at, at + rng.int(1, 64));
      return splice(bytes, rng.int(0, n), 0, slice);
    }
    case "splice": {
      const donor = donors.length > 0 ? rng.pick(donors) : bytes;
      const from = rng.int(0, donor.length);
      const fragment = donor.subarray(from, from + rng.int(1, 96));
      return splice(bytes, at, rng.size(64), fragment);
    }
    case "truncate":
      return bytes.slice(0, at);
    case "nest": {
      const depth = rng.pick([
        rng.int(1, 8),
        rng.int(60, 70),
        rng.int(100, 300),
      ]);
      const open = rng.chance(0.5) ? "<a>" : "<p:x xmlns:p='urn:p'>";
      const close = open === "<a>" ? "</a>" : "</p:x>";
      const tail = rng.chance(0.5) ? close.repeat(depth) : "";
      return splice(bytes, at, 0, utf8(open.repeat(depth) + tail));
    }
    case "repeat": {
      const slice = bytes.subarray(at, at + rng.int(1, 24));
      const times = rng.pick([2, 3, rng.int(10, 300)]);
      const out = new Uint8Array(slice.length * times);
      for (let i = 0; i < times; i++) out.set(slice, i * slice.length);
      return splice(bytes, at, 0, out);
    }
  }
}

/**
 * One to three random edits.
 *
 * @param rng The source.
 * @param bytes The input (not modified).
 * @param donors Documents to splice fragments from.
 * @returns The mutated copy.
 */
export function mutate(
  rng: Rng,
  bytes: Uint8Array,
  donors: readonly Uint8Array[],
): Uint8Array {
  let out = bytes;
  const count = rng.weighted([[6, 1], [3, 2], [1, 3]] as const);
  for (let i = 0; i < count; i++) out = edit(rng, out, donors);
  return out;
}

function splice(
  bytes: Uint8Array,
  at: number,
  remove: number,
  insert: Uint8Array,
): Uint8Array {
  return concat(
    bytes.subarray(0, at),
    insert,
    bytes.subarray(Math.min(bytes.length, at + remove)),
  );
}

// ---------------------------------------------------------------------------
// Random frames

// deno-fmt-ignore
const NAMES = [
  "message", "presence", "iq", "body", "query", "starttls", "proceed",
  "failure", "required", "mechanisms", "mechanism", "auth", "challenge",
  "response", "success", "abort", "bind", "jid", "a", "x", "error", "text",
];
const NAMESPACES = [
  undefined, // inherit
  "jabber:client",
  "jabber:server",
  "urn:ietf:params:xml:ns:xmpp-tls",
  "urn:ietf:params:xml:ns:xmpp-sasl",
  "urn:ietf:params:xml:ns:xmpp-bind",
  STREAM_ERROR_NS,
  "urn:x",
  "",
];
// deno-fmt-ignore
const STREAM_CONDITIONS = [
  "bad-format", "conflict", "connection-timeout", "host-unknown",
  "invalid-namespace", "not-authorized", "not-well-formed", "policy-violation",
  "reset", "restricted-xml", "see-other-host", "system-shutdown",
  "undefined-condition", "unsupported-version", "no-such-condition",
];
// deno-fmt-ignore
const SASL_CONDITIONS = [
  "aborted", "incorrect-encoding", "invalid-mechanism", "malformed-request",
  "not-authorized", "temporary-auth-failure", "bogus",
];
// deno-fmt-ignore
const TEXTS = [
  "", "Hi", "=", "biws", "cj1hYmM=", "dj1hYmM=", "!!!notbase64", "a &amp; b",
  "&lt;x&gt;", "&#x1F600;", "é", " \n\t ", "SCRAM-SHA-256", "PLAIN",
];

function randomElement(rng: Rng, depth: number): string {
  const name = rng.pick(NAMES);
  const ns = rng.pick(NAMESPACES);
  let attrs = ns === undefined ? "" : ` xmlns='${ns}'`;
  for (let i = rng.below(3); i > 0; i--) {
    attrs += ` ${
      rng.pick(["to", "from", "type", "id", "mechanism", "xml:lang"])
    }='${rng.pick(TEXTS)}'`;
  }
  if (depth >= 3 || rng.chance(0.3)) return `<${name}${attrs}/>`;
  let content = "";
  for (let i = rng.below(3); i >= 0; i--) {
    content += rng.chance(0.5)
      ? rng.pick(TEXTS)
      : randomElement(rng, depth + 1);
  }
  return `<${name}${attrs}>${content}</${name}>`;
}

function streamError(rng: Rng): string {
  const text = rng.chance(0.5)
    ? `<text xmlns='${STREAM_ERROR_NS}'>${rng.pick(TEXTS)}</text>`
    : "";
  return `<stream:error><${rng.pick(STREAM_CONDITIONS)} xmlns='${
    rng.chance(0.9) ? STREAM_ERROR_NS : "urn:x"
  }'/>${text}</stream:error>`;
}

function saslOutcome(rng: Rng): string {
  const ns = "urn:ietf:params:xml:ns:xmpp-sasl";
  return rng.chance(0.5)
    ? `<failure xmlns='${ns}'><${rng.pick(SASL_CONDITIONS)}/></failure>`
    : `<${rng.pick(["success", "challenge"])} xmlns='${ns}'>${
      rng.pick(TEXTS)
    }</${rng.pick(["success", "challenge"])}>`;
}

function header(rng: Rng): string {
  const version = rng.pick(["1.0", "1.0", "0.9", "2.0", "1.x", undefined]);
  const ns = rng.pick(["jabber:client", "jabber:client", "jabber:server", ""]);
  const streams = rng.chance(0.9) ? STREAMS_NS : "urn:not-streams";
  return `${rng.chance(0.5) ? "<?xml version='1.0'?>" : ""}` +
    `<stream:stream xmlns='${ns}' xmlns:stream='${streams}' from='pronto'` +
    `${rng.chance(0.5) ? ` id='${rng.id(8)}'` : ""}` +
    `${version === undefined ? "" : ` version='${version}'`}>`;
}

/**
 * One to four random frames: elements of the XMPP namespaces (well-formed,
 * not always meaningful), stream headers, stream errors, SASL outcomes, the
 * close tag, white space, random UTF-8, or a whole valid chunk of another
 * negotiation step (out of order).
 *
 * @param rng The source.
 * @param steps Valid chunks to replay out of order.
 * @returns The bytes.
 */
export function randomFrames(
  rng: Rng,
  steps: readonly Uint8Array[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let i = rng.int(1, 4); i > 0; i--) {
    const kind = rng.weighted(
      [
        [4, "element"],
        [3, "step"],
        [1, "header"],
        [1, "error"],
        [1, "sasl"],
        [1, "close"],
        [1, "space"],
        [1, "utf8"],
      ] as const,
    );
    switch (kind) {
      case "element":
        parts.push(utf8(randomElement(rng, 0)));
        break;
      case "step":
        if (steps.length > 0) parts.push(rng.pick(steps));
        break;
      case "header":
        parts.push(utf8(header(rng)));
        break;
      case "error":
        parts.push(utf8(streamError(rng)));
        break;
      case "sasl":
        parts.push(utf8(saslOutcome(rng)));
        break;
      case "close":
        parts.push(utf8("</stream:stream>"));
        break;
      case "space":
        parts.push(utf8(rng.pick([" ", "\n", "\r\n\t ", "  "])));
        break;
      case "utf8":
        parts.push(randomUtf8(rng, rng.int(1, 16)));
        break;
    }
  }
  return concat(...parts);
}

// ---------------------------------------------------------------------------
// Chunking

const MARKS = new Set(Array.from("<>&;]=:'\"?!/#x-", (c) => c.charCodeAt(0)));

/**
 * Splits bytes into chunks at random positions, half of them at spots where
 * tokens straddle chunks: inside multi-byte characters, next to markup
 * characters (inside names, entities, `]]>`, the declaration). Sometimes
 * byte by byte, sometimes with empty chunks.
 *
 * @param rng The source.
 * @param bytes The input.
 * @returns Views of `bytes` that concatenate to it.
 */
export function split(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const n = bytes.length;
  if (n > 1 && n <= 400 && rng.chance(0.05)) {
    return Array.from({ length: n }, (_, i) => bytes.subarray(i, i + 1));
  }
  const cuts: number[] = [];
  for (let i = rng.int(1, Math.min(16, n + 1)); i > 0; i--) {
    let cut = rng.int(0, n);
    if (rng.chance(0.5)) {
      // Move to the next interesting spot.
      while (cut < n && !interesting(bytes, cut)) cut++;
    }
    cuts.push(cut);
  }
  return cutAt(bytes, cuts);
}

function interesting(bytes: Uint8Array, i: number): boolean {
  const here = bytes[i]!;
  return (here & 0xc0) === 0x80 || MARKS.has(here) ||
    (i > 0 && MARKS.has(bytes[i - 1]!));
}
