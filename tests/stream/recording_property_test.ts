/**
 * parseRecording() against parseFrames() on random streams and random
 * broken ones, split anywhere: where no header can start a new stream, both
 * give the same frames and the same error at the same position, except that
 * a recording may stop between two frames.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { from, type Observable } from "rxjs";
import { parseRecording } from "../../src/stream/recording.ts";
import { parseFrames } from "../../src/xml/frames.ts";
import { XmlError } from "../../src/xml/errors.ts";
import type { StreamFrame } from "../../src/xml/events.ts";
import type { Element } from "../../src/xml/element.ts";
import { runs, utf8, xmlDocument } from "../xml/_arbitraries.ts";
import { mutatedDocument, split, splitSeeds } from "../xml/_mutations.ts";

interface Outcome {
  frames: string[];
  error: XmlError | undefined;
}

/** An element as plain data (serialize() refuses some names mutations make). */
function plain(element: Element): unknown {
  return [
    element.name,
    element.ns,
    element.attrs,
    element.children.map((c) => typeof c === "string" ? c : plain(c)),
  ];
}

function run(frames$: Observable<StreamFrame>): Outcome {
  const out: Outcome = { frames: [], error: undefined };
  frames$.subscribe({
    next: (frame) =>
      out.frames.push(
        frame.type === "close"
          ? "close"
          : `${frame.type} ${JSON.stringify(plain(frame.element))}`,
      ),
    error: (error) => {
      // Anything but an XmlError fails the property, with what it was.
      assert.ok(error instanceof XmlError, String(error?.stack ?? error));
      out.error = error;
    },
  });
  return out;
}

/** No place where a header could begin a new stream. */
function noRestart(bytes: Uint8Array): boolean {
  const text = new TextDecoder("latin1").decode(bytes);
  return !text.includes("stream") && text.lastIndexOf("<?xml") <= 0;
}

const position = (e: XmlError) => [e.condition, e.line, e.column, e.offset];

Deno.test("parseRecording() gives parseFrames()'s frames for any chunking of a valid stream", () => {
  fc.assert(
    fc.property(xmlDocument({ stream: true }), splitSeeds, (doc, seeds) => {
      const bytes = utf8(doc);
      fc.pre(noRestart(bytes));
      const expected = run(from([bytes]).pipe(parseFrames()));
      const actual = run(from(split(bytes, seeds)).pipe(parseRecording()));
      assert.equal(actual.error, undefined);
      assert.deepEqual(actual.frames, expected.frames);
    }),
    { numRuns: runs(200) },
  );
});

Deno.test("parseRecording() fails where parseFrames() does on a broken stream, or ends between two frames", () => {
  fc.assert(
    fc.property(
      mutatedDocument({ stream: true }),
      splitSeeds,
      (bytes, seeds) => {
        fc.pre(noRestart(bytes));
        const expected = run(from([bytes]).pipe(parseFrames()));
        const actual = run(from(split(bytes, seeds)).pipe(parseRecording()));
        assert.deepEqual(actual.frames, expected.frames);
        if (actual.error !== undefined) {
          assert.ok(expected.error !== undefined);
          assert.deepEqual(position(actual.error), position(expected.error));
        } else if (expected.error !== undefined) {
          // Only the missing close: the input ended between two frames.
          assert.equal(expected.error.condition, "not-well-formed");
          assert.match(expected.error.message, /the input ends/);
          assert.ok(!actual.frames.includes("close"));
        }
      },
    ),
    { numRuns: runs(300) },
  );
});

Deno.test("parseRecording() reads two random streams, the second after a restart, as parseFrames() reads each", () => {
  fc.assert(
    fc.property(
      xmlDocument({ stream: true, closed: false, depth: 2 }),
      xmlDocument({ stream: true, depth: 2 }),
      splitSeeds,
      (first, second, seeds) => {
        const body = second.replace(/^\uFEFF/, "");
        const restart = body.startsWith("<?xml")
          ? body
          : "<?xml version='1.0'?>" + body;
        const a = utf8(first);
        const b = utf8(restart);
        fc.pre(noRestart(a) && noRestart(utf8(body.slice(5))));
        const expected = [
          ...run(from([a]).pipe(parseFrames())).frames,
          ...run(from([b]).pipe(parseFrames())).frames,
        ];
        const whole = new Uint8Array(a.length + b.length);
        whole.set(a);
        whole.set(b, a.length);
        const actual = run(from(split(whole, seeds)).pipe(parseRecording()));
        assert.equal(actual.error, undefined);
        assert.deepEqual(actual.frames, expected);
      },
    ),
    { numRuns: runs(200) },
  );
});
