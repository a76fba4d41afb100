// Appending text to children, merging it with a text child before it.
// Private module.

import type { Node } from "./element.ts";

/** Appends `text` to `children`, merged into the last child if that is text. */
export function appendText(children: Node[], text: string): void {
  const last = children.length - 1;
  if (last >= 0 && typeof children[last] === "string") children[last] += text;
  else children.push(text);
}
