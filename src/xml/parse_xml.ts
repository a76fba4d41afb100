/**
 * The `parseXml()` operator: bytes to parse events.
 *
 * @module
 */

import {
  concat,
  defer,
  mergeMap,
  type Observable,
  type ObservableInput,
  throwError,
} from "rxjs";
import type { Element } from "./element.ts";
import type { Operator } from "./operator.ts";
import type { XmlDeclaration, XmlEvent } from "./events.ts";
import type { ParserLimits } from "./limits.ts";
import { XmlParser, type XmlParserOptions } from "./parser.ts";
import type { XmlSink } from "./sink.ts";

/** Options of the parsing operators: limits, and stream or document mode. */
export interface ParseOptions extends Partial<ParserLimits> {
  /**
   * Stream mode (default `true`): text directly inside the root must be white
   * space, as in an XMPP stream. `false` reads a plain document.
   */
  stream?: boolean;
}

/**
 * Parses UTF-8 chunks (split anywhere) into {@linkcode XmlEvent}s. Bad input
 * ends the Observable with an `XmlError` error notification; input that
 * completes before the root element is closed does too.
 *
 * @param options Limits and mode.
 * @returns An operator from byte chunks to parse events.
 *
 * @example Listing the events of a short stream
 * ```ts
 * import { parseXml } from "@xmpp-e2e/streams/xml";
 * import { from, lastValueFrom, toArray } from "rxjs";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode(
 *   "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>" +
 *     "<presence/></stream:stream>",
 * );
 * const events = await lastValueFrom(
 *   from([bytes.subarray(0, 7), bytes.subarray(7)]).pipe(parseXml(), toArray()),
 * );
 * assert.deepEqual(events.map((e) => e.type), ["streamOpen", "start", "end", "streamClose"]);
 * ```
 */
export function parseXml(
  options: ParseOptions = {},
): Operator<Uint8Array, XmlEvent> {
  const own = { ...options };
  const operator = parseWith(() => new EventSink(), { ...own, tree: false });
  return (source) => {
    const events = operator(source);
    ORIGINS.set(events, { source, options: own });
    return events;
  };
}

/** What a `parseXml()` Observable parses: its byte source and options. */
export interface XmlOrigin {
  /** The byte chunks `parseXml()` was applied to. */
  source: Observable<Uint8Array>;
  /** The options it was given (a copy). */
  options: ParseOptions;
}

// The event Observables that parseXml() returned, with what they parse, so
// that an operator applied directly to one (frames()) can read the bytes
// itself. Weak: an Observable nobody holds is not kept.
const ORIGINS = new WeakMap<Observable<XmlEvent>, XmlOrigin>();

/**
 * The byte source and options of an Observable that `parseXml()` returned,
 * or `undefined` for any other Observable (one with an operator applied
 * after `parseXml()`, for instance). Private to the operators.
 *
 * @param events An Observable of parse events.
 * @returns Where its events come from, when `parseXml()` made it.
 */
export function xmlOrigin(
  events: Observable<XmlEvent>,
): XmlOrigin | undefined {
  return ORIGINS.get(events);
}

/**
 * Collects what a sink produces during one `write()`. Private to the
 * operators.
 */
export abstract class Collector<T> {
  /** Outputs since the last `take()`. */
  protected out: T[] = [];

  /**
   * Hands over the outputs collected so far.
   *
   * @returns Them, in order.
   */
  take(): T[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}

/**
 * The operator shared by `parseXml()` and `parseFrames()`: a new parser and
 * sink per subscription; each chunk is written and what the sink collected
 * is emitted; the parser is ended when the source completes. Built from RxJS
 * operators, so unsubscribing stops even a synchronous source, and what a
 * write produced before failing is delivered before the error.
 *
 * @param makeSink Makes the sink of one subscription.
 * @param options Parser options.
 * @returns The operator.
 */
export function parseWith<T>(
  makeSink: () => Collector<T> & XmlSink,
  options: XmlParserOptions,
): Operator<Uint8Array, T> {
  return (source) =>
    defer(() => {
      const sink = makeSink();
      const parser = new XmlParser(sink, options);
      const drain = (step: () => void): ObservableInput<T> => {
        try {
          step();
        } catch (error) {
          return concat(sink.take(), throwError(() => error));
        }
        return sink.take();
      };
      return concat(
        source.pipe(mergeMap((chunk) => drain(() => parser.write(chunk)))),
        defer(() => drain(() => parser.end())),
      );
    });
}

/** Turns sink calls into event objects. */
class EventSink extends Collector<XmlEvent> implements XmlSink {
  open(
    element: Element,
    declaration: XmlDeclaration | undefined,
    bytes: number,
  ): void {
    this.out.push({ type: "streamOpen", element, declaration, bytes });
  }

  start(element: Element, depth: number): void {
    this.out.push({ type: "start", element, depth });
  }

  text(text: string, depth: number): void {
    this.out.push({ type: "text", text, depth });
  }

  end(element: Element, depth: number): void {
    this.out.push({ type: "end", element, depth });
  }

  close(element: Element): void {
    this.out.push({ type: "streamClose", element });
  }
}
