/**
 * Typed errors of the XML layer.
 *
 * @module
 */

/**
 * RFC 6120 stream error conditions that the XML layer can raise.
 *
 * - `not-well-formed`: the input is not well-formed XML (or not valid UTF-8).
 * - `restricted-xml`: the input uses a feature that XMPP forbids (RFC 6120
 *   section 11.1): a DTD, a comment, a processing instruction, an entity
 *   reference other than the five predefined ones, XML other than 1.0.
 * - `invalid-namespace`: a namespace declaration that XML Namespaces forbids.
 * - `bad-namespace-prefix`: a prefix that is not bound.
 * - `unsupported-encoding`: an encoding other than UTF-8 was declared.
 * - `policy-violation`: a configured limit was exceeded.
 * - `bad-format`: XML that parses but cannot be processed as a stream (for
 *   example text at stream level).
 */
export type XmlCondition =
  | "not-well-formed"
  | "restricted-xml"
  | "invalid-namespace"
  | "bad-namespace-prefix"
  | "unsupported-encoding"
  | "policy-violation"
  | "bad-format";

/** Where an {@linkcode XmlError} happened in the input. */
export interface XmlPosition {
  /** 1-based line number. */
  line: number;
  /** 1-based column, in UTF-16 code units. */
  column: number;
  /** 0-based offset in bytes from the start of the input. */
  offset: number;
}

/**
 * The one error the XML layer throws or sends as an error notification.
 *
 * @example Reading the condition of a parse error
 * ```ts
 * import { parseDocument, XmlError } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * try {
 *   parseDocument("<a><!-- no comments in XMPP --></a>");
 *   assert.fail("expected an error");
 * } catch (error) {
 *   assert.ok(error instanceof XmlError);
 *   assert.equal(error.condition, "restricted-xml");
 *   assert.equal(error.offset, 3);
 * }
 * ```
 */
export class XmlError extends SyntaxError {
  /** The RFC 6120 stream error condition that this error maps to. */
  readonly condition: XmlCondition;
  /** 1-based line of the offending input. */
  readonly line: number;
  /** 1-based column of the offending input. */
  readonly column: number;
  /** 0-based byte offset of the offending input. */
  readonly offset: number;

  /**
   * Makes an error for a condition at a position.
   *
   * @example Making one
   * ```ts
   * import { XmlError } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const error = new XmlError("not-well-formed", "Unexpected '<'", { line: 1, column: 4, offset: 3 });
   * assert.ok(error instanceof SyntaxError);
   * assert.equal(error.column, 4);
   * ```
   *
   * @param condition The RFC 6120 condition.
   * @param message A sentence-case message without a final period.
   * @param position Where the offending input starts.
   */
  constructor(condition: XmlCondition, message: string, position: XmlPosition) {
    super(
      `${message} (line ${position.line}, column ${position.column}, byte ${position.offset})`,
    );
    this.name = "XmlError";
    this.condition = condition;
    this.line = position.line;
    this.column = position.column;
    this.offset = position.offset;
  }
}
