/**
 * A reference row, not a parser: the least work any tree-building parser of
 * the same input must do in JavaScript on this machine. It decodes the chunks,
 * finds every tag with native `indexOf` calls, slices the tag name, and makes
 * one small object per start tag; it reads no attribute, text or entity and
 * checks nothing. Its speed bounds what a full parser can reach here, which
 * puts the throughput target in perspective.
 *
 * @module
 */

import type { Runner } from "./_peers.ts";

/** Tag scan with one object per start tag. */
export const floor: Runner = {
  name: "floor: tag scan only (not a parser)",
  output:
    "reference: finds tags with indexOf, one object per start tag; no attributes, text or checks",
  run(chunks) {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    let tail = "";
    let depth = 0;
    let stanzas = 0;
    let objects = 0;
    for (const chunk of chunks) {
      const text = tail + decoder.decode(chunk, { stream: true });
      let lt = text.indexOf("<");
      let done = 0;
      while (lt >= 0) {
        const gt = text.indexOf(">", lt);
        if (gt < 0) break;
        done = gt + 1;
        const second = text.charCodeAt(lt + 1);
        if (second === 0x2f /* / */) {
          depth--;
          if (depth === 1) stanzas++;
        } else if (second !== 0x3f /* ? */) {
          const space = text.indexOf(" ", lt);
          const nameEnd = space >= 0 && space < gt ? space : gt;
          const element = {
            name: text.slice(lt + 1, nameEnd),
            attrs: {} as Record<string, string>,
            children: [] as unknown[],
          };
          if (element.name.length > 0) objects++;
          if (text.charCodeAt(gt - 1) === 0x2f) {
            if (depth === 1) stanzas++;
          } else depth++;
        }
        lt = text.indexOf("<", gt);
      }
      tail = text.slice(done);
    }
    return objects > 0 ? stanzas : -1;
  },
};
