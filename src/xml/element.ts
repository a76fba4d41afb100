/**
 * The Element model: a namespace-resolved XML element.
 *
 * @module
 */

/** A child node: an element or a run of text. */
export type Node = Element | string;

/**
 * Attributes of an element, namespace-resolved and prefix-free:
 *
 * - an attribute without a prefix is keyed by its local name (`to`, `id`);
 * - an attribute in the XML namespace is keyed `xml:` + local name
 *   (`xml:lang`), since that prefix can never be bound to anything else;
 * - any other namespaced attribute is keyed in Clark notation,
 *   `{namespace-uri}local`.
 *
 * Namespace declarations (`xmlns`, `xmlns:p`) are not attributes.
 */
export type Attributes = Record<string, string>;

/**
 * One XML element with its namespace resolved.
 *
 * @example Reading a parsed stanza
 * ```ts
 * import { parseDocument } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const message = parseDocument(
 *   "<message xmlns='jabber:client' to='juliet@pronto'><body>Hi</body></message>",
 * );
 * assert.equal(message.name, "message");
 * assert.equal(message.ns, "jabber:client");
 * assert.equal(message.attrs.to, "juliet@pronto");
 * assert.equal(message.getChildText("body"), "Hi");
 * ```
 */
export class Element {
  /** Local name, without prefix. */
  name: string;
  /** Namespace URI, or `""` for no namespace. */
  ns: string;
  /** Attributes, see {@linkcode Attributes}. */
  attrs: Attributes;
  /** Child elements and text, in document order. */
  children: Node[];
  /**
   * Namespace declarations made on this element, prefix to URI (`""` is the
   * default namespace). The parser records them on the root element only
   * (where the stream layer reads the content namespace); elsewhere it is
   * `undefined`.
   */
  declarations: Record<string, string> | undefined;

  /**
   * Makes an element.
   *
   * @example Building an element by hand
   * ```ts
   * import { Element, serialize } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const body = new Element("body", "jabber:client", {}, ["hi"]);
   * const message = new Element("message", "jabber:client", { to: "juliet@pronto" }, [body]);
   * assert.equal(serialize(message, "jabber:client"), "<message to='juliet@pronto'><body>hi</body></message>");
   * ```
   *
   * @param name Local name.
   * @param ns Namespace URI (`""` for none).
   * @param attrs Attributes, see {@linkcode Attributes}.
   * @param children Child elements and text.
   */
  constructor(
    name: string,
    ns: string = "",
    attrs: Attributes = {},
    children: Node[] = [],
  ) {
    this.name = name;
    this.ns = ns;
    this.attrs = attrs;
    this.children = children;
    this.declarations = undefined;
  }

  /**
   * Tells whether this element has a name, and a namespace if given.
   *
   * @param name Local name.
   * @param ns Namespace URI; any namespace when omitted.
   * @returns Whether both match.
   *
   * @example Matching a stanza
   * ```ts
   * import { Element } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const iq = new Element("iq", "jabber:client");
   * assert.ok(iq.is("iq", "jabber:client"));
   * assert.ok(!iq.is("message"));
   * ```
   */
  is(name: string, ns?: string): boolean {
    return this.name === name && (ns === undefined || this.ns === ns);
  }

  /**
   * The first child element with this name (and namespace if given).
   *
   * @param name Local name.
   * @param ns Namespace URI; any namespace when omitted.
   * @returns The child, or `undefined`.
   *
   * @example Finding a child by name and namespace
   * ```ts
   * import { parseDocument } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const iq = parseDocument("<iq><query xmlns='jabber:iq:roster'/></iq>");
   * assert.equal(iq.getChild("query", "jabber:iq:roster")?.ns, "jabber:iq:roster");
   * assert.equal(iq.getChild("query", "urn:other"), undefined);
   * ```
   */
  getChild(name: string, ns?: string): Element | undefined {
    for (const child of this.children) {
      if (typeof child !== "string" && child.is(name, ns)) return child;
    }
    return undefined;
  }

  /**
   * All child elements with this name (and namespace if given).
   *
   * @param name Local name.
   * @param ns Namespace URI; any namespace when omitted.
   * @returns The matching children, in document order.
   *
   * @example Listing children
   * ```ts
   * import { parseDocument } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const query = parseDocument("<query><item jid='a'/><item jid='b'/></query>");
   * assert.deepEqual(query.getChildren("item").map((i) => i.attrs.jid), ["a", "b"]);
   * ```
   */
  getChildren(name: string, ns?: string): Element[] {
    const found: Element[] = [];
    for (const child of this.children) {
      if (typeof child !== "string" && child.is(name, ns)) found.push(child);
    }
    return found;
  }

  /**
   * The child elements, without text.
   *
   * @returns The child elements, in document order.
   *
   * @example Skipping text
   * ```ts
   * import { parseDocument } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const root = parseDocument("<r> <a/> <b/> </r>");
   * assert.deepEqual(root.elements().map((e) => e.name), ["a", "b"]);
   * ```
   */
  elements(): Element[] {
    const found: Element[] = [];
    for (const child of this.children) {
      if (typeof child !== "string") found.push(child);
    }
    return found;
  }

  /**
   * The text directly inside this element (child elements are skipped).
   *
   * @returns The concatenated text children.
   *
   * @example Reading text
   * ```ts
   * import { parseDocument } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * assert.equal(parseDocument("<body>a &amp; b</body>").text(), "a & b");
   * ```
   */
  text(): string {
    let text = "";
    for (const child of this.children) {
      if (typeof child === "string") text += child;
    }
    return text;
  }

  /**
   * The text of the first child with this name (and namespace if given).
   *
   * @param name Local name.
   * @param ns Namespace URI; any namespace when omitted.
   * @returns The child's text, or `undefined` when there is no such child.
   *
   * @example Reading a message body
   * ```ts
   * import { parseDocument } from "@xmpp-e2e/streams/xml";
   * import assert from "node:assert/strict";
   *
   * const message = parseDocument("<message><body>Hi</body></message>");
   * assert.equal(message.getChildText("body"), "Hi");
   * assert.equal(message.getChildText("subject"), undefined);
   * ```
   */
  getChildText(name: string, ns?: string): string | undefined {
    return this.getChild(name, ns)?.text();
  }
}
