/**
 * Stream headers: writing ours, checking the peer's (RFC 6120 section 4.7).
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import { escapeAttribute } from "../xml/serialize.ts";
import { STREAMS_NS } from "./constants.ts";
import { StreamError } from "./errors.ts";

/** The attributes of a stream header. */
export interface StreamHeader {
  /** The sender's address, if any. */
  from: string | undefined;
  /** The receiver's address, if any. */
  to: string | undefined;
  /** The stream id (set by the recipient). */
  id: string | undefined;
  /** `"1.0"`, or undefined when the peer sent no version. */
  version: string | undefined;
  /** `xml:lang`, if any. */
  lang: string | undefined;
  /** The content namespace (the default namespace declared on the header). */
  ns: string;
}

/**
 * The text of a stream header.
 *
 * @param header What to put in it.
 * @param declaration Whether to start with an XML declaration.
 * @returns `<?xml ...?><stream:stream ...>`.
 */
export function openTag(header: StreamHeader, declaration: boolean): string {
  let tag = declaration ? "<?xml version='1.0'?>" : "";
  tag += `<stream:stream xmlns='${escapeAttribute(header.ns)}'` +
    ` xmlns:stream='${STREAMS_NS}'`;
  for (
    const [name, value] of [
      ["from", header.from],
      ["to", header.to],
      ["id", header.id],
      ["version", header.version],
      ["xml:lang", header.lang],
    ] as const
  ) {
    if (value !== undefined) tag += ` ${name}='${escapeAttribute(value)}'`;
  }
  return tag + ">";
}

/** The stream close tag. */
export const CLOSE_TAG = "</stream:stream>";

/**
 * Reads and checks the peer's stream header.
 *
 * @param element The root element the parser reported.
 * @param expectedNs The content namespace this end speaks.
 * @returns The header.
 * @throws {StreamError} `invalid-namespace` for a wrong stream or content
 * namespace, `unsupported-version` for a major version above 1.
 */
export function readHeader(element: Element, expectedNs: string): StreamHeader {
  if (element.name !== "stream" || element.ns !== STREAMS_NS) {
    throw new StreamError("invalid-namespace", {
      sent: true,
      text:
        "the stream element must be stream in http://etherx.jabber.org/streams",
    });
  }
  const ns = element.declarations?.[""] ?? "";
  if (ns !== expectedNs) {
    throw new StreamError("invalid-namespace", {
      sent: true,
      text: `content namespace must be ${expectedNs}`,
    });
  }
  const version = element.attrs.version;
  if (version !== undefined) {
    const match = /^(\d+)\.(\d+)$/.exec(version);
    if (!match) {
      throw new StreamError("unsupported-version", {
        sent: true,
        text: `malformed version ${version}`,
      });
    }
    if (Number(match[1]) > 1) {
      throw new StreamError("unsupported-version", {
        sent: true,
        text: `version ${version} is not supported`,
      });
    }
  }
  return {
    from: element.attrs.from,
    to: element.attrs.to,
    id: element.attrs.id,
    version: version === undefined ? undefined : "1.0",
    lang: element.attrs["xml:lang"],
    ns,
  };
}

/**
 * A fresh, unpredictable stream id (RFC 6120 section 4.7.3): 128 random
 * bits, base64url.
 *
 * @returns The id.
 */
export function streamId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(
    /\//g,
    "_",
  ).replace(/=+$/, "");
}
