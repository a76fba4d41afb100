/**
 * `xml()`: an element builder in the style of xmpp.js, with namespace
 * inheritance resolved when an element is placed in its parent.
 *
 * @module
 */

import { isNcName } from "../xml/names.ts";
import { Element, type Node } from "../xml/element.ts";

/** An attribute value given to {@linkcode xml}: `undefined` and `null` drop it. */
export type XmlAttrValue = string | number | boolean | undefined | null;

/**
 * A child given to {@linkcode xml}: `null`, `undefined` and `false` are
 * dropped, numbers become text, arrays are flattened (to any depth).
 */
export type XmlChild =
  | Element
  | string
  | number
  | null
  | undefined
  | false
  | readonly XmlChild[];

// Elements built by xml() without an `xmlns` attribute: they have ns "" until
// they are placed in a parent that has a namespace, and then take it.
const unbound = new WeakSet<Element>();

export { isNcName };

/**
 * Builds an {@linkcode Element}, like xmpp.js's `xml()`.
 *
 * Namespaces follow one rule, applied while building:
 *
 * - an `xmlns` attribute sets the element's namespace (`xmlns: ""` puts it
 *   in no namespace on purpose) and is not kept as an attribute;
 * - an element built by `xml()` without `xmlns` is *unbound*: its namespace
 *   is `""` until it is passed as a child to `xml()` (or to a stanza
 *   builder) whose element has a namespace; then it, and every unbound
 *   element below it, takes that namespace. So
 *   `xml("message", { xmlns: "jabber:client" }, xml("body", null, "hi"))`
 *   puts `<body/>` in `jabber:client`, and serializes without a second
 *   `xmlns`. Binding happens once: an element later moved to another parent
 *   keeps the namespace it took first.
 * - elements made with `new Element()` or parsed from the wire are never
 *   rebound.
 *
 * Attributes: `undefined` and `null` values are dropped, numbers and
 * booleans are stringified. Keys follow {@linkcode Element}'s attribute
 * keys: a local name, `xml:` + local name, or `{uri}local`. Prefixed
 * declarations (`xmlns:p`) are refused: use `{uri}local` keys instead.
 *
 * Children: `null`, `undefined` and `false` are dropped, numbers become
 * text, arrays are flattened, empty strings dropped and adjacent strings
 * merged.
 *
 * @param name The element's local name (an XML name without a colon).
 * @param attrs Attributes, or `null` / omitted for none.
 * @param children Child elements and text.
 * @returns The new element.
 * @throws {TypeError} When a name or attribute key is not a valid XML name,
 *   or a child is of another kind than listed.
 *
 * @example Building a stanza with inherited namespaces
 * ```ts
 * import { xml } from "@xmpp-e2e/streams/stanza";
 * import { serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const iq = xml(
 *   "iq",
 *   { xmlns: "jabber:client", type: "get", id: 7, to: undefined },
 *   xml("query", { xmlns: "jabber:iq:version" }),
 * );
 * assert.equal(
 *   serialize(iq),
 *   "<iq xmlns='jabber:client' type='get' id='7'><query xmlns='jabber:iq:version'/></iq>",
 * );
 *
 * const message = xml("message", { xmlns: "jabber:client" }, xml("body", null, "Hi ", 2));
 * assert.equal(message.getChild("body")?.ns, "jabber:client");
 * assert.equal(message.getChildText("body"), "Hi 2");
 * ```
 */
export function xml(
  name: string,
  attrs?: Record<string, XmlAttrValue> | null,
  ...children: XmlChild[]
): Element {
  if (!isNcName(name)) {
    throw new TypeError(`Cannot build element: "${name}" is not an XML name`);
  }
  const built: Record<string, string> = {};
  let ns: string | undefined;
  if (attrs) {
    for (const key of Object.keys(attrs)) {
      const value = attrs[key];
      if (value === undefined || value === null) continue;
      if (key === "xmlns") {
        ns = String(value);
        continue;
      }
      checkAttributeKey(key);
      built[key] = String(value);
    }
  }
  const nodes: Node[] = [];
  appendChildren(nodes, children);
  const element = new Element(name, ns ?? "", built, nodes);
  if (ns === undefined) unbound.add(element);
  else {
    for (const child of nodes) {
      if (typeof child !== "string") bind(child, ns);
    }
  }
  return element;
}

/** Gives an unbound element (and its unbound descendants) a namespace. */
function bind(element: Element, ns: string): void {
  if (!unbound.has(element)) return;
  unbound.delete(element);
  element.ns = ns;
  for (const child of element.children) {
    if (typeof child !== "string") bind(child, ns);
  }
}

function appendChildren(nodes: Node[], children: readonly XmlChild[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) {
      appendChildren(nodes, child);
    } else if (child instanceof Element) {
      nodes.push(child);
    } else if (typeof child === "string" || typeof child === "number") {
      const text = String(child);
      if (text === "") continue;
      const last = nodes.length - 1;
      if (last >= 0 && typeof nodes[last] === "string") nodes[last] += text;
      else nodes.push(text);
    } else {
      throw new TypeError(
        `Cannot build element: a child of type ${typeof child} is not an element or text`,
      );
    }
  }
}

function checkAttributeKey(key: string): void {
  let local = key;
  if (key.startsWith("{")) {
    const close = key.indexOf("}");
    if (close < 0) local = "";
    else local = key.slice(close + 1);
  } else if (key.startsWith("xml:")) {
    local = key.slice(4);
  }
  if (!isNcName(local)) {
    throw new TypeError(
      `Cannot build element: "${key}" is not a valid attribute key`,
    );
  }
}
