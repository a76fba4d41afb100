/**
 * Derived conformance cases. The suite has few documents without a DTD,
 * comment or processing instruction, so most of its cases stop our parser
 * at the first DOCTYPE, comment or PI and test nothing after it. Cutting
 * those out gives new documents that exercise the rest of the parser; for
 * them, the suite's verdict no longer applies and saxes decides: a document
 * saxes accepts must give saxes' tree, one it rejects must be rejected.
 *
 * @module
 */

import {
  type Classified,
  type Expectation,
  runSaxes,
  type SuiteCase,
} from "./_conformance.ts";

/** A document derived from a suite case. */
export interface DerivedCase {
  /** The case it comes from. */
  from: SuiteCase;
  /** The bytes of the derived document. */
  bytes: Uint8Array;
  /** What it must do, by saxes. */
  expect: Expectation;
  /** Why, in a few words. */
  reason: string;
}

/**
 * Where a DOCTYPE ends (after its `>`), skipping quoted literals, and
 * comments and PIs in the internal subset.
 *
 * @param text The document.
 * @param at Where `<!DOCTYPE` starts.
 * @returns The offset after the DOCTYPE, or -1.
 */
function doctypeEnd(text: string, at: number): number {
  let i = at + "<!DOCTYPE".length;
  let subset = false;
  while (i < text.length) {
    const char = text[i];
    if (char === '"' || char === "'") {
      const end = text.indexOf(char, i + 1);
      if (end < 0) return -1;
      i = end + 1;
    } else if (subset && text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) return -1;
      i = end + 3;
    } else if (subset && text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) return -1;
      i = end + 2;
    } else if (char === "[" || char === "]") {
      subset = char === "[";
      i++;
    } else if (char === ">" && !subset) {
      return i + 1;
    } else {
      i++;
    }
  }
  return -1;
}

/**
 * Cuts the DOCTYPE (when at `doctypeAt`), comments and PIs (the XML
 * declaration aside) out of a document; CDATA sections are kept whole.
 *
 * @param text The document.
 * @param doctypeAt Where its DOCTYPE starts, or -1.
 * @returns The document without them.
 */
export function cutRestricted(text: string, doctypeAt: number): string {
  let out = "";
  let i = 0;
  if (/^<\?xml[ \t\r\n]/.test(text)) {
    const end = text.indexOf("?>");
    if (end >= 0) {
      out = text.slice(0, end + 2);
      i = end + 2;
    }
  }
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    if (lt < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, lt);
    let end = -1;
    if (text.startsWith("<!--", lt)) {
      const close = text.indexOf("-->", lt + 4);
      end = close < 0 ? -1 : close + 3;
    } else if (text.startsWith("<?", lt)) {
      const close = text.indexOf("?>", lt + 2);
      end = close < 0 ? -1 : close + 2;
    } else if (lt === doctypeAt) {
      end = doctypeEnd(text, lt);
    } else if (text.startsWith("<![CDATA[", lt)) {
      const close = text.indexOf("]]>", lt + 9);
      const keep = close < 0 ? text.length : close + 3;
      out += text.slice(lt, keep);
      i = keep;
      continue;
    } else {
      out += "<";
      i = lt + 1;
      continue;
    }
    if (end < 0) {
      out += text.slice(lt);
      break;
    }
    i = end;
  }
  return out;
}

/** Categories whose documents are derived from. */
const SOURCES: ReadonlySet<string> = new Set([
  "dtd",
  "external-entities",
  "error-type",
  "comment-pi",
  "not-wf",
  "edition-1-4",
]);

/**
 * Derives a document without DOCTYPE, comments and PIs from a case.
 *
 * @param c A classified case.
 * @returns The derived case, or why there is none.
 */
export function derive(c: Classified): DerivedCase | string {
  const { test } = c;
  const { doc } = test;
  if (!SOURCES.has(c.category)) return `category ${c.category}`;
  if (!doc.validUtf8) return "not UTF-8";
  if (doc.declaredVersion !== undefined && doc.declaredVersion !== "1.0") {
    return "not version 1.0";
  }
  const text = cutRestricted(doc.text, doc.doctypeAt);
  if (text === doc.text) return "nothing to cut";
  const bytes = new TextEncoder().encode(
    (doc.bom === "utf-8" ? "\ufeff" : "") + text,
  );
  const saxes = runSaxes(text);
  if (saxes.paddedNamespace) {
    return {
      from: test,
      bytes,
      expect: { kind: "either", tree: undefined },
      reason: "saxes trims namespace names",
    };
  }
  if (saxes.tree === undefined) {
    return {
      from: test,
      bytes,
      expect: { kind: "reject", conditions: undefined },
      reason: "saxes rejects",
    };
  }
  if (saxes.comments + saxes.pis > 0 || saxes.doctype !== undefined) {
    return {
      from: test,
      bytes,
      expect: { kind: "reject", conditions: ["restricted-xml"] },
      reason: "saxes accepts, restricted markup left",
    };
  }
  return {
    from: test,
    bytes,
    expect: { kind: "accept", tree: saxes.tree },
    reason: "saxes accepts",
  };
}
