// Text helpers of the parser: appending text to children (merged with a text
// child before it), and copies of slices that keep no chunk alive.
// Private module.

import type { Node } from "./element.ts";

/** Appends `text` to `children`, merged into the last child if that is text. */
export function appendText(children: Node[], text: string): void {
  const last = children.length - 1;
  if (last >= 0 && typeof children[last] === "string") children[last] += text;
  else children.push(text);
}

/**
 * A copy of `text` that holds no reference to the string it was sliced
 * from: V8 makes a slice of 13 code units or more a view of its parent, and
 * a cache shared by every parser must not keep a whole decoded chunk alive
 * for one name, nor an element that lives as long as the stream (the root).
 */
export function owned(text: string): string {
  // Flattening the concatenation copies the characters; the slice then
  // views that copy, one code unit longer than the text.
  return text.length < 13 ? text : (" " + text).slice(1);
}
