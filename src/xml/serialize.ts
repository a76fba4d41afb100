/**
 * Serialization of Elements to XML text, with escaping.
 *
 * @module
 */

import { hasNonXmlChar } from "./_scan.ts";
import { isNcName } from "./names.ts";
import type { Element, Node } from "./element.ts";

const XML_NS = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

const TEXT_SPECIAL = /[&<>\r]/;
const ATTR_SPECIAL = /[&<>"'\t\n\r]/;
// Text longer than this is checked with one pass per kind of character
// (each a simpler scan); shorter text with one pass that finds whether it
// needs a closer look at all: none of what is escaped, nor any code unit
// that may not be an XML character (C0 controls, surrogates, U+FFFE/F).
const SHORT = 256;
// deno-lint-ignore no-control-regex -- finding control characters is the point
const TEXT_LOOK = /[\x00-\x08\x0B\x0C\x0E-\x1F&<>\r\uD800-\uDFFF\uFFFE\uFFFF]/;
// deno-lint-ignore no-control-regex -- finding control characters is the point
const ATTR_LOOK = /[\x00-\x1F&<>"'\uD800-\uDFFF\uFFFE\uFFFF]/;

/**
 * Escapes text content: `&`, `<`, `>` (so that `]]>` never appears) and
 * carriage return (as `&#xD;`, so that it survives line-end normalisation).
 *
 * @param text Any string of XML characters.
 * @returns The escaped text.
 * @throws {TypeError} When the text holds a character XML cannot carry.
 *
 * @example Escaping text
 * ```ts
 * import { escapeText } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeText("a < b && c ]]>"), "a &lt; b &amp;&amp; c ]]&gt;");
 * ```
 */
export function escapeText(text: string): string {
  if (text.length <= SHORT && !TEXT_LOOK.test(text)) return text;
  checkChars(text);
  if (!TEXT_SPECIAL.test(text)) return text;
  return text.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]!);
}

/**
 * Escapes an attribute value for either quote style; tab, line feed and
 * carriage return become character references so that attribute-value
 * normalisation keeps them.
 *
 * @param value Any string of XML characters.
 * @returns The escaped value, without quotes.
 * @throws {TypeError} When the value holds a character XML cannot carry.
 *
 * @example Escaping an attribute value
 * ```ts
 * import { escapeAttribute } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeAttribute(`O'Neil & "Co"`), "O&apos;Neil &amp; &quot;Co&quot;");
 * ```
 */
export function escapeAttribute(value: string): string {
  if (value.length <= SHORT && !ATTR_LOOK.test(value)) return value;
  checkChars(value);
  if (!ATTR_SPECIAL.test(value)) return value;
  return value.replace(/[&<>"'\t\n\r]/g, (c) => ATTR_ESCAPES[c]!);
}

const TEXT_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  "\r": "&#xD;",
};

const ATTR_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
  "\t": "&#x9;",
  "\n": "&#xA;",
  "\r": "&#xD;",
};

function checkChars(text: string): void {
  if (hasNonXmlChar(text) || !text.isWellFormed()) {
    throw new TypeError(
      "Cannot serialize: the text holds a character that XML cannot carry",
    );
  }
}

// Names already found to be NCNames: a stream sends the same few names
// over and over, and a set lookup costs a fraction of the check. Bounded,
// so that an application that makes up names cannot make it grow.
const NAMES = new Set<string>();
const MAX_NAMES = 1024;
const MAX_NAME_LENGTH = 64;

function checkName(name: string): void {
  if (NAMES.has(name)) return;
  if (!isNcName(name)) {
    throw new TypeError(`Cannot serialize: "${name}" is not an XML name`);
  }
  if (NAMES.size < MAX_NAMES && name.length <= MAX_NAME_LENGTH) {
    NAMES.add(name);
  }
}

/**
 * Serializes an element (or text) to XML text. Namespaces are declared where
 * needed: an element whose namespace differs from its parent's gets
 * `xmlns='...'`; namespaced attributes get generated prefixes. Attribute
 * values use single quotes. The output parses back to an equal tree.
 *
 * @param node The element or text.
 * @param parentNs The default namespace in scope where the output will be
 * placed (for a stanza inside a `jabber:client` stream, `"jabber:client"`,
 * so that the stanza needs no `xmlns`). Default `""`.
 * @returns The XML text.
 * @throws {TypeError} When a name is not an XML name or text holds a
 * character XML cannot carry; nothing is returned then.
 *
 * @example Serializing a message
 * ```ts
 * import { Element, serialize } from "@xmpp-e2e/streams/xml";
 * import assert from "node:assert/strict";
 *
 * const message = new Element("message", "jabber:client", { to: "juliet@pronto" }, [
 *   new Element("body", "jabber:client", {}, ["Hi & bye"]),
 * ]);
 * assert.equal(
 *   serialize(message),
 *   "<message xmlns='jabber:client' to='juliet@pronto'><body>Hi &amp; bye</body></message>",
 * );
 * assert.equal(
 *   serialize(message, "jabber:client"),
 *   "<message to='juliet@pronto'><body>Hi &amp; bye</body></message>",
 * );
 * ```
 */
export function serialize(node: Node, parentNs = ""): string {
  if (typeof node === "string") return escapeText(node);
  return write(node, parentNs, undefined, { next: 0 });
}

/**
 * The XML of `element`. `prefixes` maps namespace URIs to the prefixes
 * declared by ancestors (none yet: undefined); a map is copied only where
 * an element declares a new one.
 */
function write(
  element: Element,
  parentNs: string,
  prefixes: Map<string, string> | undefined,
  counter: { next: number },
): string {
  const { name, ns } = element;
  checkName(name);
  let tag = name;
  let head = "";
  let defaultNs = parentNs;
  if (ns === XML_NS) tag = "xml:" + name;
  else if (ns === XMLNS_NS) {
    throw new TypeError(
      "Cannot serialize: elements cannot be in the xmlns namespace",
    );
  } else if (ns !== parentNs) {
    head += ` xmlns='${escapeAttribute(ns)}'`;
    defaultNs = ns;
  }
  let scope = prefixes;
  let attrs = "";
  for (const key in element.attrs) {
    if (!Object.hasOwn(element.attrs, key)) continue;
    const value = escapeAttribute(element.attrs[key]!);
    if (key.charCodeAt(0) === 0x7b /* { */) {
      const close = key.indexOf("}");
      const uri = key.slice(1, close);
      const local = key.slice(close + 1);
      checkName(local);
      if (close < 0 || local.indexOf(":") >= 0) {
        throw new TypeError(
          `Cannot serialize: "${key}" is not a valid attribute key`,
        );
      }
      if (uri === "") attrs += ` ${local}='${value}'`;
      else if (uri === XML_NS) attrs += ` xml:${local}='${value}'`;
      else {
        let prefix = scope?.get(uri);
        if (prefix === undefined) {
          if (uri === XMLNS_NS) {
            throw new TypeError(
              "Cannot serialize: attributes cannot be in the xmlns namespace",
            );
          }
          prefix = `ns${counter.next++}`;
          if (scope === prefixes) scope = new Map(prefixes);
          scope!.set(uri, prefix);
          head += ` xmlns:${prefix}='${escapeAttribute(uri)}'`;
        }
        attrs += ` ${prefix}:${local}='${value}'`;
      }
    } else if (key.startsWith("xml:")) {
      checkName(key.slice(4));
      attrs += ` ${key}='${value}'`;
    } else {
      checkName(key);
      if (key.indexOf(":") >= 0 || key === "xmlns") {
        throw new TypeError(
          `Cannot serialize: "${key}" is not a valid attribute key`,
        );
      }
      attrs += ` ${key}='${value}'`;
    }
  }
  const children = element.children;
  let content = "";
  let empty = true;
  for (let i = 0; i < children.length; i++) {
    const child = children[i]!;
    if (typeof child === "string") {
      if (child === "") continue;
      content += escapeText(child);
    } else content += write(child, defaultNs, scope, counter);
    empty = false;
  }
  return empty
    ? `<${tag}${head}${attrs}/>`
    : `<${tag}${head}${attrs}>${content}</${tag}>`;
}
