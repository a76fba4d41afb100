/**
 * The parser oracle: parses an input whole and in random chunks, each run
 * perhaps pausing after every frame (as the stream reader does), records
 * the sink calls, and checks the invariants:
 *
 * - the only exception is `XmlError`, with a known condition and a position
 *   inside the input;
 * - whole and chunked runs agree: the same events (or elements, in tree
 *   mode) and the same error (condition and position);
 * - the sink calls follow the protocol of `XmlSink` (open first, balanced
 *   start/end with the right depths, close last), and `end()` accepts only
 *   a closed root;
 * - after an error the parser keeps refusing input with the same error;
 * - a valid corpus document is accepted.
 *
 * @module
 */

import { XmlParser } from "../../src/xml/parser.ts";
import { type XmlCondition, XmlError } from "../../src/xml/errors.ts";
import type { Element } from "../../src/xml/element.ts";
import type { XmlDeclaration } from "../../src/xml/events.ts";
import type { XmlSink } from "../../src/xml/sink.ts";
import { split } from "./mutate.ts";
import type { ParserInput } from "./parser_input.ts";
import { Rng } from "./rng.ts";

const CONDITIONS: ReadonlySet<XmlCondition> = new Set<XmlCondition>([
  "not-well-formed",
  "restricted-xml",
  "invalid-namespace",
  "bad-namespace-prefix",
  "unsupported-encoding",
  "policy-violation",
  "bad-format",
]);

/** What one parse produced. */
export interface Outcome {
  /** The sink calls, as text. */
  events: string;
  /** What was thrown, if anything. */
  error: unknown;
}

/**
 * Parses `chunks` with a fresh parser, then ends the input.
 *
 * @param chunks The input, split.
 * @param input The options, and the limits to switch to.
 * @param pause Pause the parser after every frame (header, depth-1
 * element, close) and resume it, as the stream reader does.
 * @returns The events and the error; a broken sink protocol is an error too.
 */
export function parse(
  chunks: readonly Uint8Array[],
  input: Pick<ParserInput, "options" | "switchLimits">,
  pause: boolean,
): Outcome {
  const sink = new RecordingSink(input.options.tree ?? false);
  const parser = new XmlParser(sink, input.options);
  sink.control = { parser, pause, switchLimits: input.switchLimits };
  let error: unknown;
  try {
    for (const chunk of chunks) {
      parser.write(chunk);
      while (parser.paused) parser.resume();
    }
    parser.end();
    if (!sink.closed) {
      error = new ProtocolError("end() accepted a stream that was not closed");
    }
  } catch (e) {
    error = e;
    if (e instanceof XmlError) {
      // A failed parser keeps refusing input, with the same error.
      try {
        parser.write(chunks[0] ?? new Uint8Array(0));
        error = new ProtocolError("write() accepted input after an error");
      } catch (again) {
        if (again !== e) {
          error = new ProtocolError("write() after an error threw another");
        }
      }
    }
  }
  return {
    events: sink.record(error !== undefined),
    error: sink.violation ?? error,
  };
}

/** A broken sink protocol or parser contract (not an input error). */
class ProtocolError extends Error {
  override name = "ProtocolError";
}

/** Records sink calls as text and checks their order and depths. */
class RecordingSink implements XmlSink {
  readonly events: string[] = [];
  readonly #tree: boolean;
  readonly #open: Element[] = [];
  #root: Element | undefined;
  #text: { depth: number; text: string } | undefined;
  closed = false;
  violation: ProtocolError | undefined;
  /** The parser to pause, and the limits to switch to. */
  control: {
    parser: XmlParser;
    pause: boolean;
    switchLimits: ParserInput["switchLimits"];
  } | undefined;

  constructor(tree: boolean) {
    this.#tree = tree;
  }

  /** After a frame: pause if asked to, switch limits once if it is time. */
  #frame(kind: "open" | "stanza"): void {
    const control = this.control;
    if (control === undefined) return;
    if (control.switchLimits?.at === kind) {
      control.parser.setLimits(control.switchLimits.limits);
      control.switchLimits = undefined;
    }
    if (control.pause) control.parser.pause();
  }

  #check(ok: boolean, what: string): void {
    if (!ok) this.violation ??= new ProtocolError(`Sink protocol: ${what}`);
  }

  open(root: Element, declaration: XmlDeclaration | undefined, bytes: number) {
    this.#check(this.#root === undefined, "open() twice");
    this.#root = root;
    this.#flush();
    this.events.push(
      `open ${describe(root)} ${JSON.stringify(root.declarations ?? {})} ${
        JSON.stringify(declaration ?? null)
      } ${bytes}`,
    );
    this.#frame("open");
  }

  start(element: Element, depth: number) {
    this.#check(!this.#tree, "start() in tree mode");
    this.#check(
      this.#root !== undefined && !this.closed,
      "start() outside root",
    );
    this.#check(depth === this.#open.length + 1, "start() at a wrong depth");
    this.#open.push(element);
    this.#flush();
    this.events.push(`start ${depth} ${describe(element)}`);
  }

  text(text: string, depth: number) {
    this.#check(
      this.#root !== undefined && !this.closed,
      "text() outside root",
    );
    this.#check(depth === this.#open.length + 1, "text() at a wrong depth");
    // Adjacent text calls may split one run anywhere: join them.
    if (this.#text === undefined) this.#text = { depth, text };
    else this.#text.text += text;
  }

  /**
   * The sink calls, as text. A text run cut short by an error may have been
   * reported in part or not at all, depending on the chunks: it is left out.
   *
   * @param failed Whether the parse ended with an error.
   * @returns One line per call.
   */
  record(failed: boolean): string {
    if (!failed) this.#flush();
    this.#text = undefined;
    return this.events.join("\n");
  }

  #flush(): void {
    if (this.#text === undefined) return;
    this.events.push(
      `text ${this.#text.depth} ${JSON.stringify(this.#text.text)}`,
    );
    this.#text = undefined;
  }

  end(element: Element, depth: number) {
    this.#flush();
    if (this.#tree) {
      this.#check(depth === 1, "end() in tree mode below depth 1");
      this.events.push(`element ${tree(element)}`);
      this.#frame("stanza");
      return;
    }
    this.#check(this.#open.at(-1) === element, "end() of an element not open");
    this.#check(depth === this.#open.length, "end() at a wrong depth");
    this.#open.pop();
    this.events.push(`end ${depth}`);
    if (depth === 1) this.#frame("stanza");
  }

  close(root: Element) {
    this.#check(root === this.#root, "close() of another root");
    this.#check(this.#open.length === 0, "close() with elements open");
    this.#check(!this.closed, "close() twice");
    this.closed = true;
    this.#flush();
    this.events.push("close");
    if (this.control?.pause) this.control.parser.pause();
  }
}

function describe(element: Element): string {
  const keys = Object.keys(element.attrs).sort();
  return `${element.name}|${element.ns}|${
    keys.map((k) => `${k}=${JSON.stringify(element.attrs[k])}`).join(",")
  }`;
}

function tree(element: Element): string {
  let out = `<${describe(element)}>`;
  let text = "";
  for (const child of element.children) {
    if (typeof child === "string") text += child;
    else {
      if (text !== "") out += JSON.stringify(text);
      text = "";
      out += tree(child);
    }
  }
  if (text !== "") out += JSON.stringify(text);
  return `${out}</>`;
}

/** A broken invariant: which, and what happened. */
export interface Problem {
  /** Which invariant. */
  kind: string;
  /** What happened. */
  detail: string;
}

/**
 * Checks one input: whole, then in random chunks (the chunking, and whether
 * each run pauses, drawn from the input's own seed).
 *
 * @param seed The input's seed.
 * @param input The input.
 * @returns The whole parse's error condition (`"accepted"` for none) and
 * the broken invariant, if any.
 */
export function check(
  seed: number,
  input: ParserInput,
): { outcome: string; problem: Problem | undefined } {
  const { chunks, pauses } = chunking(seed, input);
  const whole = parse([input.bytes], input, pauses[0]);
  const chunked = parse(chunks, input, pauses[1]);
  const outcome = whole.error instanceof XmlError
    ? whole.error.condition
    : "accepted";
  const runs = `whole${pauses[0] ? " pausing" : ""}, ${chunks.length} chunks${
    pauses[1] ? " pausing" : ""
  }`;
  const problem = typed(whole.error, input.bytes.length) ??
    typed(chunked.error, input.bytes.length) ??
    (input.valid && whole.error !== undefined
      ? { kind: "valid document rejected", detail: String(whole.error) }
      : undefined) ??
    disagreement(whole, chunked, runs);
  return { outcome, problem };
}

/**
 * How one input is chunked, and whether each run pauses per frame.
 *
 * @param seed The input's seed.
 * @param input The input.
 * @returns The chunks, and the pause choice of the whole and chunked runs.
 */
export function chunking(
  seed: number,
  input: ParserInput,
): { chunks: Uint8Array[]; pauses: [boolean, boolean] } {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const pauses: [boolean, boolean] = [rng.chance(0.3), rng.chance(0.5)];
  return { chunks: split(rng, input.bytes), pauses };
}

function typed(error: unknown, length: number): Problem | undefined {
  if (error === undefined) return undefined;
  if (error instanceof ProtocolError) {
    return { kind: "parser contract", detail: error.message };
  }
  if (!(error instanceof XmlError)) {
    return {
      kind: "untyped parser exception",
      detail: error instanceof Error
        ? error.stack ?? String(error)
        : String(error),
    };
  }
  if (
    !CONDITIONS.has(error.condition) || !(error.offset >= 0) ||
    error.offset > length || !(error.line >= 1) || !(error.column >= 1)
  ) {
    return {
      kind: "malformed XmlError",
      detail:
        `${error.condition} at ${error.offset} (${error.line}:${error.column}) of ${length} bytes`,
    };
  }
  return undefined;
}

function disagreement(
  whole: Outcome,
  chunked: Outcome,
  runs: string,
): Problem | undefined {
  const a = errorKey(whole.error);
  const b = errorKey(chunked.error);
  if (a !== b) {
    return {
      kind: "whole and chunked errors differ",
      detail: `${runs}: ${a} vs ${b}`,
    };
  }
  if (whole.events !== chunked.events) {
    const wl = whole.events.split("\n");
    const cl = chunked.events.split("\n");
    let i = 0;
    while (i < wl.length && wl[i] === cl[i]) i++;
    return {
      kind: "whole and chunked events differ",
      detail: `${runs}, event ${i}: ${(wl[i] ?? "(none)").slice(0, 160)} vs ${
        (cl[i] ?? "(none)").slice(0, 160)
      }`,
    };
  }
  return undefined;
}

/**
 * An error as the runs are compared: condition and position.
 *
 * @param error What a run threw, if anything.
 * @returns A short description.
 */
export function errorKey(error: unknown): string {
  if (error === undefined) return "none";
  if (error instanceof XmlError) {
    return `${error.condition} at byte ${error.offset} (${error.line}:${error.column})`;
  }
  return String(error);
}
