/**
 * Our parser as a conformance subject: `parseDocument()` for whole
 * documents, `XmlParser` in event mode for chunked ones, with a sink that
 * builds the tree and checks the event protocol (depths, nesting, one close).
 *
 * @module
 */

import { parseDocument } from "../../src/xml/parse_document.ts";
import { XmlParser } from "../../src/xml/parser.ts";
import { XmlError } from "../../src/xml/errors.ts";
import { Element } from "../../src/xml/element.ts";
import type { XmlSink } from "../../src/xml/sink.ts";
import { appendText, plain } from "./_conformance.ts";
import type { Outcome, Subject } from "./_conformance_run.ts";

function failure(error: unknown): Outcome {
  if (error instanceof XmlError) {
    return {
      kind: "rejected",
      condition: error.condition,
      message: error.message,
    };
  }
  const message = error instanceof Error
    ? `${error.name}: ${error.message}`
    : String(error);
  return { kind: "crashed", message };
}

/** Builds a tree from events and notes breaches of the sink contract. */
class TreeSink implements XmlSink {
  root: Element | undefined;
  stack: Element[] = [];
  closed = false;
  violations: string[] = [];

  open(root: Element): void {
    if (this.root) this.violations.push("open called twice");
    this.root = new Element(root.name, root.ns, { ...root.attrs });
    this.stack = [this.root];
  }

  start(element: Element, depth: number): void {
    const parent = this.stack.at(-1);
    if (!parent || this.closed) {
      this.violations.push(`start <${element.name}> outside the root`);
      return;
    }
    if (depth !== this.stack.length) {
      this.violations.push(
        `start <${element.name}> at depth ${depth}, want ${this.stack.length}`,
      );
    }
    const copy = new Element(element.name, element.ns, { ...element.attrs });
    parent.children.push(copy);
    this.stack.push(copy);
  }

  text(text: string, depth: number): void {
    const parent = this.stack.at(-1);
    if (!parent || this.closed) {
      this.violations.push("text outside the root");
      return;
    }
    if (depth !== this.stack.length) {
      this.violations.push(`text at depth ${depth}, want ${this.stack.length}`);
    }
    appendText(parent, text);
  }

  end(element: Element, depth: number): void {
    const top = this.stack.at(-1);
    if (this.stack.length < 2 || !top) {
      this.violations.push(`end </${element.name}> without start`);
      return;
    }
    if (top.name !== element.name || top.ns !== element.ns) {
      this.violations.push(`end </${element.name}> closes <${top.name}>`);
    }
    if (depth !== this.stack.length - 1) {
      this.violations.push(
        `end </${element.name}> at depth ${depth}, want ${
          this.stack.length - 1
        }`,
      );
    }
    this.stack.pop();
  }

  close(root: Element): void {
    if (this.closed) this.violations.push("close called twice");
    if (this.stack.length !== 1) {
      this.violations.push(`close </${root.name}> with elements open`);
    }
    this.closed = true;
    this.stack = [];
  }
}

/** Limits high enough that no conformance document reaches them. */
const LIMITS = {
  maxStanzaBytes: 1 << 24,
  maxDepth: 1 << 12,
  maxAttributes: 1 << 12,
  maxNameLength: 1 << 16,
};

/** Our parser as a subject. */
export const ourParser: Subject = {
  whole(bytes) {
    try {
      const root = parseDocument(bytes, LIMITS);
      return { kind: "accepted", tree: JSON.stringify(plain(root)) };
    } catch (error) {
      return failure(error);
    }
  },
  chunked(bytes, sizes) {
    const sink = new TreeSink();
    try {
      const parser = new XmlParser(sink, {
        ...LIMITS,
        tree: false,
        stream: false,
      });
      for (let i = 0; i < bytes.length;) {
        const n = sizes();
        parser.write(bytes.slice(i, i + n));
        i += n;
      }
      parser.end();
      if (!sink.root || !sink.closed) sink.violations.push("no close");
    } catch (error) {
      if (sink.violations.length === 0) return failure(error);
    }
    if (sink.violations.length > 0 || !sink.root) {
      return {
        kind: "crashed",
        message: `sink contract: ${sink.violations.join("; ")}`,
      };
    }
    return { kind: "accepted", tree: JSON.stringify(plain(sink.root)) };
  },
};
