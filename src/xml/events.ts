/**
 * The wire model: parse events and stream frames.
 *
 * @module
 */

import type { Element } from "./element.ts";

/** The XML declaration at the start of the input, when there is one. */
export interface XmlDeclaration {
  /** Always `"1.0"`: XMPP allows no other version. */
  version: string;
  /** The declared encoding (always some spelling of UTF-8), if declared. */
  encoding: string | undefined;
  /** The standalone flag, if declared. */
  standalone: boolean | undefined;
}

/**
 * One parse event. The root element (the stream header in XMPP) opens with
 * `streamOpen` and ends with `streamClose`; everything inside it arrives as
 * `start` / `text` / `end`. `depth` counts ancestors: the root is at 0, a
 * stanza at 1, text directly inside the root at 1.
 *
 * Elements in `start` and `end` events have no children: events do not
 * build trees. `start` and `end` of the same element carry the same object.
 */
export type XmlEvent =
  | {
    type: "streamOpen";
    element: Element;
    declaration: XmlDeclaration | undefined;
    /** Bytes from the start of the input to the end of the root start tag. */
    bytes: number;
  }
  | { type: "start"; element: Element; depth: number }
  | { type: "text"; text: string; depth: number }
  | { type: "end"; element: Element; depth: number }
  | { type: "streamClose"; element: Element };

/**
 * One frame of an XML stream: the header (the root start tag), one complete
 * depth-1 element (a stanza or a negotiation element), or the close (the
 * root end tag). Whitespace between frames is dropped.
 */
export type StreamFrame =
  | {
    type: "header";
    element: Element;
    declaration: XmlDeclaration | undefined;
  }
  | { type: "element"; element: Element }
  | { type: "close" };
