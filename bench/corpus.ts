/**
 * Deterministic bench corpora, generated in code from a seeded PRNG (no
 * files), and a helper that splits bytes the way a socket delivers them.
 *
 * | corpus | what |
 * | --- | --- |
 * | {@linkcode xmppStream} | a client stream: header, then a mix of message / presence / iq |
 * | {@linkcode largeStanzas} | a stream of few large stanzas (big bodies, IBB base64 data) |
 * | {@linkcode deepDocument} | a generic document, depth 20 to 40, mixed content, prefixes |
 *
 * @module
 */

import { attr, gap, Random, sentence } from "./_random.ts";
import { STREAM_CLOSE, streamHeader, xmppStanza } from "./_xmpp_stanzas.ts";

/** A generated input and what a parser must find in it. */
export interface Corpus {
  /** Short name, used in bench groups and tables. */
  name: string;
  /** The UTF-8 input. */
  bytes: Uint8Array;
  /** Number of depth-1 elements (stanzas) in it. */
  stanzas: number;
  /** Whether the root is closed at the end. */
  closed: boolean;
}

/** Options of the corpus generators. */
export interface CorpusOptions {
  /** PRNG seed. Default 1. */
  seed?: number;
  /** Append the root end tag (`</stream:stream>`). Default false. */
  close?: boolean;
}

const encoder = new TextEncoder();

/** Collects encoded parts and joins them into one buffer. */
class Builder {
  parts: Uint8Array[] = [];
  size = 0;
  add(text: string): number {
    const bytes = encoder.encode(text);
    this.parts.push(bytes);
    this.size += bytes.length;
    return bytes.length;
  }
  join(): Uint8Array {
    const out = new Uint8Array(this.size);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

function finish(
  name: string,
  builder: Builder,
  stanzas: number,
  closeTag: string,
  close: boolean,
): Corpus {
  if (close) builder.add(closeTag);
  return { name, bytes: builder.join(), stanzas, closed: close };
}

/**
 * An XMPP client stream: XML declaration, `<stream:stream>` header, then
 * stanzas (chat and groupchat messages, presences with caps, roster and
 * disco results, pings, carbons) separated by whitespace, until the size is
 * reached.
 *
 * @param targetBytes Approximate size; the last stanza may overshoot it.
 * @param options Seed and whether to close the stream.
 * @returns The corpus.
 */
export function xmppStream(
  targetBytes: number,
  options: CorpusOptions = {},
): Corpus {
  const random = new Random(options.seed ?? 1);
  const builder = new Builder();
  builder.add(streamHeader());
  let stanzas = 0;
  while (builder.size < targetBytes) {
    builder.add(gap(random) + xmppStanza(random));
    stanzas++;
  }
  builder.add(gap(random));
  return finish("xmpp", builder, stanzas, STREAM_CLOSE, options.close ?? false);
}

/**
 * Yields an endless XMPP stream (header first, then stanzas) as chunks of
 * about `chunkSize` bytes, without ever holding more than one chunk.
 *
 * @param chunkSize Smallest size of each chunk (a stanza is never split).
 * @param seed PRNG seed.
 * @returns The chunk generator, and a counter of stanzas yielded so far.
 */
export function xmppChunks(
  chunkSize = 16 * 1024,
  seed = 1,
): { chunks: Generator<Uint8Array>; stanzas: () => number } {
  const random = new Random(seed);
  let stanzas = 0;
  function* chunks(): Generator<Uint8Array> {
    let parts: string[] = [streamHeader()];
    let length = parts[0]!.length;
    while (true) {
      const stanza = gap(random) + xmppStanza(random);
      parts.push(stanza);
      length += stanza.length;
      stanzas++;
      if (length >= chunkSize) {
        yield encoder.encode(parts.join(""));
        parts = [];
        length = 0;
      }
    }
  }
  return { chunks: chunks(), stanzas: () => stanzas };
}

/**
 * A stream of few large stanzas, 64 to 160 KiB each (under the 256 KiB
 * default limit): messages with long multilingual bodies, and IBB `<data/>`
 * iqs carrying base64.
 *
 * @param targetBytes Approximate size.
 * @param options Seed and whether to close the stream.
 * @returns The corpus.
 */
export function largeStanzas(
  targetBytes: number,
  options: CorpusOptions = {},
): Corpus {
  const random = new Random(options.seed ?? 2);
  const builder = new Builder();
  builder.add(streamHeader());
  let stanzas = 0;
  while (builder.size < targetBytes) {
    const size = random.int(64 * 1024, 160 * 1024);
    const from = attr(random, "from", "juliet@capulet.lit/balcony");
    const id = attr(random, "id", random.id(12));
    if (random.chance(0.5)) {
      const body: string[] = [];
      let length = 0;
      while (length < size) {
        const line = sentence(random, 4, 12) + "\n";
        body.push(line);
        length += encoder.encode(line).length;
      }
      builder.add(
        `${
          gap(random)
        }<message type='chat'${from}${id} to='romeo@montague.lit'>` +
          `<body>${
            body.join("")
          }</body><active xmlns='http://jabber.org/protocol/chatstates'/>` +
          `</message>`,
      );
    } else {
      builder.add(
        `${
          gap(random)
        }<iq type='set'${from}${id} to="romeo@montague.lit/orchard">` +
          `<data xmlns='http://jabber.org/protocol/ibb' seq='${stanzas}' sid='i781hf64'>` +
          `${random.base64(size)}</data></iq>`,
      );
    }
    stanzas++;
  }
  builder.add(gap(random));
  return finish(
    "large",
    builder,
    stanzas,
    STREAM_CLOSE,
    options.close ?? false,
  );
}

const ROOT_OPEN = `<?xml version="1.0" encoding="UTF-8"?>\n` +
  `<doc xmlns='urn:example:doc' xmlns:m='urn:example:meta' xmlns:x="urn:example:ext" ` +
  `xml:lang='en'>`;
const TAGS = [
  "div",
  "p",
  "span",
  "list",
  "item",
  "x:note",
  "m:meta",
  "x:quote",
];

function deepNode(random: Random, depth: number, maxDepth: number): string {
  const tag = random.pick(TAGS);
  let open = `<${tag}`;
  let close = `</${tag}>`;
  if (random.chance(0.6)) open += attr(random, "m:id", random.id(8));
  if (random.chance(0.3)) {
    open += attr(random, "x:role", random.pick(["a", "b&amp;c", "&lt;d&gt;"]));
  }
  if (random.chance(0.2)) open += attr(random, "class", "c" + depth);
  if (random.chance(0.1)) {
    open = `<y:ext xmlns:y='urn:example:y${depth}'${
      attr(random, "y:level", String(depth))
    }`;
    close = "</y:ext>";
  } else if (random.chance(0.05)) {
    open = `<svg xmlns="http://www.w3.org/2000/svg" width='10'`;
    close = "</svg>";
  }
  let body = sentence(random, 0, 2);
  const leaves = random.int(0, 2);
  for (let i = 0; i < leaves; i++) {
    body += random.chance(0.5)
      ? `<x:b>${sentence(random, 1, 1)}</x:b>`
      : `<m:ref${attr(random, "m:to", random.id(6))}/>`;
    body += sentence(random, 0, 1);
  }
  if (depth < maxDepth) {
    body += deepNode(random, depth + 1, maxDepth) + sentence(random, 0, 1);
  }
  return body === "" ? `${open}/>` : `${open}>${body}${close}`;
}

/**
 * A generic document: under a root with prefixed namespace declarations,
 * sections nesting 20 to 40 levels deep with mixed content, prefixed
 * elements and attributes, and namespace redeclarations.
 *
 * @param targetBytes Approximate size.
 * @param options Seed and whether to close the root (`</doc>`).
 * @returns The corpus.
 */
export function deepDocument(
  targetBytes: number,
  options: CorpusOptions = {},
): Corpus {
  const random = new Random(options.seed ?? 3);
  const builder = new Builder();
  builder.add(ROOT_OPEN);
  let stanzas = 0;
  while (builder.size < targetBytes) {
    const depth = random.int(20, 40);
    builder.add(
      `${gap(random)}<section${attr(random, "m:id", random.id(10))}>` +
        `${deepNode(random, 1, depth)}</section>`,
    );
    stanzas++;
  }
  builder.add("\n");
  return finish("deep", builder, stanzas, "</doc>", options.close ?? false);
}

/**
 * Splits bytes into chunks as a socket would deliver them (views, no copy).
 * Chunk boundaries fall anywhere, including inside UTF-8 sequences.
 *
 * @param bytes The input.
 * @param size Chunk size. Default 16 KiB.
 * @returns The chunks, in order.
 */
export function toChunks(bytes: Uint8Array, size = 16 * 1024): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    chunks.push(bytes.subarray(at, at + size));
  }
  return chunks;
}
