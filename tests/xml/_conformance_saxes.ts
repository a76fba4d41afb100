/**
 * A stand-in subject built on saxes, to check the harness itself: saxes
 * fed in chunks must agree with saxes fed at once, and its trees must equal
 * the expectations of the `wf` category.
 *
 * @module
 */

import { plain, runSaxes } from "./_conformance.ts";
import type { Outcome, Subject } from "./_conformance_run.ts";

function outcome(text: string | string[]): Outcome {
  const result = runSaxes(text);
  if (result.tree === undefined) {
    return {
      kind: "rejected",
      condition: "not-well-formed",
      message: result.error ?? "no root",
    };
  }
  if (result.comments + result.pis + (result.doctype ? 1 : 0) > 0) {
    return {
      kind: "rejected",
      condition: "restricted-xml",
      message: "comment, PI or DOCTYPE",
    };
  }
  return { kind: "accepted", tree: JSON.stringify(plain(result.tree)) };
}

/** saxes as a subject (chunks are decoded with a streaming decoder). */
export const saxesSubject: Subject = {
  whole(bytes) {
    return outcome(new TextDecoder().decode(bytes));
  },
  chunked(bytes, sizes) {
    const decoder = new TextDecoder();
    const chunks: string[] = [];
    for (let i = 0; i < bytes.length;) {
      const n = sizes();
      chunks.push(decoder.decode(bytes.subarray(i, i + n), { stream: true }));
      i += n;
    }
    chunks.push(decoder.decode());
    return outcome(chunks);
  },
};
