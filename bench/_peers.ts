/**
 * The peer parsers, each wrapped as a {@linkcode Runner}. Peers take strings,
 * so each run decodes the byte chunks with one streaming `TextDecoder`, as a
 * user of that parser would; the decoding is part of the measured time.
 *
 * @module
 */

import { Parser as XmppJsParser } from "@xmpp/xml";
import { SaxesParser } from "saxes";
import { Parser as Htmlparser2 } from "htmlparser2";
import LtxSaxParser from "ltx/lib/parsers/ltx.js";

/** One parser under test. */
export interface Runner {
  /** Name in tables and bench output. */
  name: string;
  /** What it produces, for the docs and tables. */
  output: string;
  /**
   * Parses a whole input, chunk by chunk, and ends it.
   *
   * @param chunks The input, split as a socket would.
   * @returns The number of complete depth-1 elements seen.
   */
  run(chunks: readonly Uint8Array[]): number;
}

/** xmpp.js: `@xmpp/xml` Parser, builds an ltx Element per stanza. */
export const xmppJs: Runner = {
  name: "@xmpp/xml (xmpp.js)",
  output: "stanza trees, no namespace resolution",
  run(chunks) {
    const decoder = new TextDecoder();
    const parser = new XmppJsParser();
    let stanzas = 0;
    let failure: unknown;
    parser.on("element", () => stanzas++);
    parser.on("error", (error: unknown) => failure ??= error);
    for (const chunk of chunks) {
      parser.write(decoder.decode(chunk, { stream: true }));
    }
    parser.end(decoder.decode());
    if (failure !== undefined) throw failure;
    return stanzas;
  },
};

/** saxes with namespace processing: SAX events, namespaces resolved. */
export const saxes: Runner = {
  name: "saxes {xmlns: true}",
  output: "SAX events, namespaces resolved",
  run(chunks) {
    const decoder = new TextDecoder();
    const parser = new SaxesParser({ xmlns: true });
    let depth = 0;
    let stanzas = 0;
    let chars = 0;
    parser.on("opentag", () => depth++);
    parser.on("closetag", () => {
      if (--depth === 1) stanzas++;
    });
    parser.on("text", (text) => chars += text.length);
    for (const chunk of chunks) {
      parser.write(decoder.decode(chunk, { stream: true }));
    }
    parser.write(decoder.decode()).close();
    return stanzas;
  },
};

/** htmlparser2 in XML mode: SAX callbacks, no namespaces. */
export const htmlparser2: Runner = {
  name: "htmlparser2 {xmlMode}",
  output: "SAX events, no namespace resolution",
  run(chunks) {
    const decoder = new TextDecoder();
    let depth = 0;
    let stanzas = 0;
    let chars = 0;
    let failure: unknown;
    const parser = new Htmlparser2({
      onopentag: () => depth++,
      onclosetag: () => {
        if (--depth === 1) stanzas++;
      },
      ontext: (text) => chars += text.length,
      onerror: (error) => failure ??= error,
    }, { xmlMode: true });
    for (const chunk of chunks) {
      parser.write(decoder.decode(chunk, { stream: true }));
    }
    parser.end(decoder.decode());
    if (failure !== undefined) throw failure;
    return stanzas;
  },
};

/** ltx's own SAX parser (the one xmpp.js uses underneath). */
export const ltx: Runner = {
  name: "ltx SAX",
  output: "SAX events, no namespace resolution",
  run(chunks) {
    const decoder = new TextDecoder();
    const parser = new LtxSaxParser();
    let depth = 0;
    let stanzas = 0;
    let chars = 0;
    parser.on("startElement", () => depth++);
    parser.on("endElement", () => {
      if (--depth === 1) stanzas++;
    });
    parser.on("text", (text: string) => chars += text.length);
    for (const chunk of chunks) {
      parser.write(decoder.decode(chunk, { stream: true }));
    }
    parser.end(decoder.decode());
    return stanzas;
  },
};

/** All peers, in table order. */
export const PEERS: readonly Runner[] = [xmppJs, saxes, htmlparser2, ltx];
