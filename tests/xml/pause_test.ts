// The parser's resumable pause (as expat's XML_StopParser) and limits that
// change between frames: what the stream layer's frame reader is built on.

import assert from "node:assert/strict";
import fc from "fast-check";
import { XmlParser } from "../../src/xml/parser.ts";
import { XmlError } from "../../src/xml/errors.ts";
import type { Element } from "../../src/xml/element.ts";
import type { XmlSink } from "../../src/xml/sink.ts";
import { runs } from "./_arbitraries.ts";
import { cutAt } from "./_mutations.ts";

const HEADER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams'>";
const enc = new TextEncoder();

/** Frames as text, pausing after each when `pause` says so. */
function framer(pause: boolean) {
  const frames: string[] = [];
  const sink: XmlSink = {
    open(element: Element) {
      frames.push(`open ${element.name}`);
      if (pause) parser.pause();
    },
    start() {},
    text() {},
    end(element: Element) {
      frames.push(`${element.name} ${JSON.stringify(element.attrs)}`);
      if (pause) parser.pause();
    },
    close() {
      frames.push("close");
      if (pause) parser.pause();
    },
  };
  const parser = new XmlParser(sink, { tree: true });
  return { parser, frames };
}

Deno.test("pause() from a sink callback stops write() after that frame; resume() reads the next", () => {
  const { parser, frames } = framer(true);
  parser.write(enc.encode(`${HEADER}<a/><b/><c/></stream:stream>`));
  assert.deepEqual(frames, ["open stream"]);
  assert.equal(parser.paused, true);
  parser.resume();
  assert.deepEqual(frames, ["open stream", "a {}"]);
  parser.resume();
  parser.resume();
  parser.resume();
  assert.deepEqual(frames, ["open stream", "a {}", "b {}", "c {}", "close"]);
  parser.resume();
  assert.equal(parser.paused, false);
  parser.end();
});

Deno.test("write() and end() while paused are refused with a TypeError, and nothing is lost", () => {
  const { parser, frames } = framer(true);
  parser.write(enc.encode(`${HEADER}<a/>`));
  assert.throws(() => parser.write(enc.encode("<b/>")), TypeError);
  assert.throws(() => parser.end(), TypeError);
  parser.resume(); // <a/>
  parser.resume(); // input ran out: no longer paused
  assert.equal(parser.paused, false);
  parser.write(enc.encode("<b/></stream:stream>"));
  parser.resume();
  parser.resume();
  assert.deepEqual(frames, ["open stream", "a {}", "b {}", "close"]);
});

Deno.test("an error after a paused frame is thrown by the resume() that reaches it, then again", () => {
  const { parser, frames } = framer(true);
  parser.write(enc.encode(`${HEADER}<a/><b></c>`));
  parser.resume();
  assert.deepEqual(frames, ["open stream", "a {}"]);
  assert.throws(() => parser.resume(), XmlError);
  assert.throws(() => parser.resume(), XmlError);
  assert.throws(() => parser.write(enc.encode("<d/>")), XmlError);
});

Deno.test("setLimits() between frames applies to the next stanza only", () => {
  const { parser, frames } = framer(true);
  const big = `<big v='${"x".repeat(200)}'/>`;
  parser.write(enc.encode(`${HEADER}<small/>${big}${big}`)); // the header
  parser.setLimits({ maxStanzaBytes: 64 });
  parser.resume(); // <small/>, read under the small limit
  parser.setLimits({ maxStanzaBytes: 1024 });
  parser.resume(); // the first big one fits the new limit
  parser.setLimits({ maxStanzaBytes: 64 });
  assert.throws(
    () => parser.resume(),
    (e: unknown) => e instanceof XmlError && e.condition === "policy-violation",
  );
  assert.equal(frames.length, 3);
});

Deno.test("setLimits() refuses a limit that is not a positive finite number", () => {
  const { parser } = framer(false);
  assert.throws(() => parser.setLimits({ maxDepth: 0 }), RangeError);
  assert.throws(() => parser.setLimits({ maxStanzaBytes: NaN }), RangeError);
});

Deno.test("pausing after every frame, in any chunking, gives the frames and the error of an unpaused parse", () => {
  const pieces = [
    "<message to='a'><body>x &amp; y</body></message>",
    "<presence/>",
    "<iq type='get' id='1'><q xmlns='urn:x'/></iq>",
    "<message><body>\u00e9\u{1F600}</body></message>",
    "<oops",
    "</wrong>",
    "text",
    "</stream:stream>",
    "\u0001", // not an XML character: found before lexing, thrown in order
    "<?pi?>",
    "\uFFFF", // invalid UTF-8 once the byte 0xBF below replaces it
  ];
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...pieces), { maxLength: 8 }),
      fc.array(fc.nat(), { maxLength: 6 }),
      (parts, cuts) => {
        const bytes = enc.encode(HEADER + parts.join(""))
          .map((b, i, all) =>
            // U+FFFF is EF BF BF: make it EF BF BF -> FF BF BF, invalid UTF-8.
            b === 0xef && all[i + 1] === 0xbf && all[i + 2] === 0xbf ? 0xff : b
          );
        const run = (pause: boolean) => {
          const { parser, frames } = framer(pause);
          let error: string | undefined;
          try {
            for (
              const chunk of cutAt(
                bytes,
                cuts.map((c) => c % bytes.length),
              )
            ) {
              parser.write(chunk);
              while (parser.paused) parser.resume();
            }
          } catch (e) {
            assert.ok(e instanceof XmlError);
            error = `${e.condition} ${e.offset}`;
          }
          return { frames, error };
        };
        assert.deepEqual(run(true), run(false));
      },
    ),
    { numRuns: runs(300) },
  );
});

Deno.test("an error found past a pause is thrown only after the frames before it", () => {
  for (const bad of [[0x01], [0xff], [0xc3]]) { // NUL-like, invalid, cut short
    const { parser, frames } = framer(true);
    const bytes = new Uint8Array([
      ...enc.encode(`${HEADER}<a/><b/>`),
      ...bad,
      ...enc.encode("<c/>"),
    ]);
    parser.write(bytes);
    parser.resume();
    parser.resume();
    assert.deepEqual(frames, ["open stream", "a {}", "b {}"]);
    assert.throws(
      () => parser.resume(),
      (e: unknown) =>
        e instanceof XmlError && e.condition === "not-well-formed",
    );
    assert.deepEqual(frames, ["open stream", "a {}", "b {}"]);
  }
});
