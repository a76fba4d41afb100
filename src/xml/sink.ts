/**
 * The plain callback interface between the tokenizer and what consumes it.
 *
 * @module
 */

import type { Element } from "./element.ts";
import type { XmlDeclaration } from "./events.ts";

/**
 * Receives what `XmlParser` reads. The hot loop calls these
 * methods directly; no RxJS, no event objects.
 *
 * In event mode (`tree: false`) every element inside the root reaches
 * `start` and `end`, and all text reaches `text`. In tree mode (`tree: true`)
 * the parser builds each depth-1 element with its whole subtree and calls
 * `end` once per depth-1 element, when it is complete; `start` is not called,
 * and `text` only for text directly inside the root (depth 1).
 */
export interface XmlSink {
  /**
   * The root start tag (the stream header).
   *
   * @param root The root element, without children.
   * @param declaration The XML declaration, if any.
   * @param bytes Bytes from the start of the input to the end of the root start tag.
   */
  open(
    root: Element,
    declaration: XmlDeclaration | undefined,
    bytes: number,
  ): void;
  /**
   * An element start inside the root (event mode only).
   *
   * @param element The element, without children.
   * @param depth Its number of ancestors (a stanza is at 1).
   */
  start(element: Element, depth: number): void;
  /**
   * Text, entities resolved and line ends normalised. Adjacent calls may
   * split one run of text anywhere.
   *
   * @param text The text.
   * @param depth Ancestors of the text (directly inside the root is 1).
   */
  text(text: string, depth: number): void;
  /**
   * An element end inside the root.
   *
   * @param element The element (in tree mode, complete with its subtree).
   * @param depth Its number of ancestors.
   */
  end(element: Element, depth: number): void;
  /**
   * The root end tag (the stream close).
   *
   * @param root The root element.
   */
  close(root: Element): void;
}
