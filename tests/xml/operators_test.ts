/**
 * Marble tests of the parsing operators (`parseXml`, `frames`,
 * `parseFrames`): what they emit and when, their error notifications, and
 * their subscription and teardown windows; plus a property that
 * `parseFrames()` and `parseXml()` + `frames()` give the same frames.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  filter,
  from,
  identity,
  map,
  type Observable,
  pipe,
  take,
  tap,
} from "rxjs";
import { TestScheduler } from "rxjs/testing";
import { Element } from "../../src/xml/element.ts";
import { XmlError } from "../../src/xml/errors.ts";
import type { StreamFrame, XmlEvent } from "../../src/xml/events.ts";
import { frames, parseFrames } from "../../src/xml/frames.ts";
import { parseXml, xmlOrigin } from "../../src/xml/parse_xml.ts";
import { runs, utf8, xmlDocument } from "./_arbitraries.ts";
import { split, splitSeeds } from "./_mutations.ts";

const STREAM_NS = "http://etherx.jabber.org/streams";
const HEADER = "<stream:stream xmlns='jabber:client' " +
  `xmlns:stream='${STREAM_NS}' version='1.0'>`;
const CLOSE = "</stream:stream>";

// ---------------------------------------------------------------------------
// Showing events and frames as short strings, so marbles stay readable

function tag(el: Element): string {
  const attrs = Object.entries(el.attrs)
    .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)
    .map(([k, v]) => ` ${k}='${v}'`)
    .join("");
  return `<{${el.ns}}${el.name}${attrs}>`;
}

function tree(el: Element): string {
  const children = el.children
    .map((c) => typeof c === "string" ? JSON.stringify(c) : tree(c))
    .join("");
  return `${tag(el)}${children}</${el.name}>`;
}

function show(item: XmlEvent | StreamFrame): string {
  switch (item.type) {
    case "streamOpen":
      return `open ${tag(item.element)} ${item.bytes}` +
        (item.declaration ? ` v${item.declaration.version}` : "");
    case "start":
      return `start ${item.depth} ${tag(item.element)}`;
    case "text":
      return `text ${item.depth} ${JSON.stringify(item.text)}`;
    case "end":
      return `end ${item.depth} ${item.element.name}`;
    case "streamClose":
      return `close ${item.element.name}`;
    case "header":
      return `header ${tag(item.element)}` +
        (item.declaration ? ` v${item.declaration.version}` : "");
    case "element":
      return `element ${tree(item.element)}`;
    case "close":
      return "close";
  }
}

/** `XmlError condition@offset` (offset left out when unknown). */
function showError(error: unknown): unknown {
  if (!(error instanceof XmlError)) return error;
  const at = error.offset >= 0 ? `@${error.offset}` : "";
  return `XmlError ${error.condition}${at}`;
}

function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value !== "object" || value === null) return value;
  if ("notification" in value && "frame" in value) {
    const n = value.notification as {
      kind: string;
      value?: unknown;
      error?: unknown;
    };
    const notification = n.kind === "N"
      ? {
        kind: "N",
        value: typeof n.value === "string"
          ? n.value
          : show(n.value as XmlEvent),
      }
      : n.kind === "E"
      ? { kind: "E", error: showError(n.error) }
      : { kind: n.kind };
    return { frame: value.frame, notification };
  }
  return value;
}

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    assert.deepEqual(normalize(actual), normalize(expected));
  });
}

/** Marble values: strings become their UTF-8 bytes. */
function bytes(values: Record<string, string>): Record<string, Uint8Array> {
  return Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, utf8(v)]),
  );
}

const OPEN = `open <{${STREAM_NS}}stream version='1.0'> ${utf8(HEADER).length}`;
const HEADER_FRAME = `header <{${STREAM_NS}}stream version='1.0'>`;

// ---------------------------------------------------------------------------
// parseXml()

Deno.test("parseXml() emits the events of each chunk as it arrives", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold(
      "-a-------b-------c-|",
      bytes({ a: HEADER, b: "<message><body>Hi</body></message>", c: CLOSE }),
    );
    expectObservable(source.pipe(parseXml())).toBe("-o-------(mBtbM)-z-|", {
      o: OPEN,
      m: "start 1 <{jabber:client}message>",
      B: "start 2 <{jabber:client}body>",
      t: 'text 3 "Hi"',
      b: "end 2 body",
      M: "end 1 message",
      z: "close stream",
    });
    expectSubscriptions(source.subscriptions).toBe("^------------------!");
  });
});

Deno.test("parseXml() waits for the rest of a token split across chunks", () => {
  const body = utf8("<message><body>é</body></message>");
  const cut = body.indexOf(0xc3) + 1; // inside the two bytes of "é"
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-a-b-----c-----|", {
      a: utf8(HEADER.slice(0, 10)),
      b: new Uint8Array([...utf8(HEADER.slice(10)), ...body.subarray(0, cut)]),
      c: body.subarray(cut),
    });
    expectObservable(source.pipe(parseXml())).toBe(
      "---(omB)-(tbM)-#",
      {
        o: OPEN,
        m: "start 1 <{jabber:client}message>",
        B: "start 2 <{jabber:client}body>",
        t: 'text 3 "é"',
        b: "end 2 body",
        M: "end 1 message",
      },
      `XmlError not-well-formed@${utf8(HEADER).length + body.length}`,
    );
  });
});

Deno.test("parseXml() errors with restricted-xml on a comment and unsubscribes from its source", () => {
  scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
    const source = hot(
      "-a--b--c--|",
      bytes({ a: HEADER, b: "<!-- hi -->", c: "<presence/>" }),
    );
    expectObservable(source.pipe(parseXml())).toBe(
      "-o--#",
      { o: OPEN },
      `XmlError restricted-xml@${utf8(HEADER).length}`,
    );
    expectSubscriptions(source.subscriptions).toBe("^---!");
  });
});

Deno.test("parseXml() errors with bad-format on text directly inside a stream", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-a-b-|", bytes({ a: HEADER, b: " hi <presence/>" }));
    expectObservable(source.pipe(parseXml())).toBe(
      "-o-#",
      { o: OPEN },
      `XmlError bad-format@${utf8(HEADER).length + 1}`,
    );
  });
});

Deno.test("parseXml() passes text directly inside the root on when stream is false", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-a-b-c-|", bytes({ a: "<r>", b: " hi ", c: "</r>" }));
    expectObservable(source.pipe(parseXml({ stream: false }))).toBe(
      "-o-t-z-|",
      { o: "open <{}r> 3", t: 'text 1 " hi "', z: "close r" },
    );
  });
});

Deno.test("parseXml() passes an error of its source on", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold("-a-#", bytes({ a: HEADER }), "boom");
    expectObservable(source.pipe(parseXml())).toBe("-o-#", { o: OPEN }, "boom");
    expectSubscriptions(source.subscriptions).toBe("^--!");
  });
});

Deno.test("parseXml() stops and unsubscribes from its source when unsubscribed mid-stream", () => {
  scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
    const source = hot(
      "-a--b--c--d--|",
      bytes({ a: HEADER, b: "<presence/>", c: "<presence/>", d: CLOSE }),
    );
    expectObservable(source.pipe(parseXml()), "^-----!").toBe("-o--(pP)", {
      o: OPEN,
      p: "start 1 <{jabber:client}presence>",
      P: "end 1 presence",
    });
    expectSubscriptions(source.subscriptions).toBe("^-----!");
  });
});

Deno.test("parseXml() gives each subscriber a parser of its own", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold(
      "-a-b-----|",
      bytes({ a: HEADER, b: "<presence/>" + CLOSE }),
    );
    const events = source.pipe(parseXml());
    const values = {
      o: OPEN,
      p: "start 1 <{jabber:client}presence>",
      P: "end 1 presence",
      z: "close stream",
    };
    expectObservable(events).toBe("-o-(pPz)-|", values);
    expectObservable(events, "--^").toBe("---o-(pPz)-|", values);
    expectSubscriptions(source.subscriptions).toBe([
      "^--------!",
      "--^--------!",
    ]);
  });
});

// ---------------------------------------------------------------------------
// frames()

function events(): Record<string, XmlEvent> {
  const stream = new Element("stream", STREAM_NS, { version: "1.0" });
  const message = new Element("message", "jabber:client", { to: "a@b" });
  const body = new Element("body", "jabber:client");
  return {
    o: {
      type: "streamOpen",
      element: stream,
      declaration: undefined,
      bytes: 9,
    },
    s: { type: "start", element: message, depth: 1 },
    b: { type: "start", element: body, depth: 2 },
    t: { type: "text", text: "H", depth: 3 },
    i: { type: "text", text: "i", depth: 3 },
    e: { type: "end", element: body, depth: 2 },
    m: { type: "end", element: message, depth: 1 },
    w: { type: "text", text: " \r\n\t", depth: 1 },
    x: { type: "text", text: " x ", depth: 1 },
    z: { type: "streamClose", element: stream },
  };
}

const MESSAGE_FRAME = "element <{jabber:client}message to='a@b'>" +
  '<{jabber:client}body>"Hi"</body></message>';

Deno.test("frames() turns events into header, element and close frames", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold("-o-(sbtiem)-w-z-|", events());
    expectObservable(source.pipe(frames())).toBe("-h-m----------c-|", {
      h: HEADER_FRAME,
      m: MESSAGE_FRAME,
      c: "close",
    });
    expectSubscriptions(source.subscriptions).toBe("^---------------!");
  });
});

Deno.test("frames() builds an element from events spread over time", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-o-s-b-t-i-e-m-w-|", events());
    expectObservable(source.pipe(frames())).toBe("-h-----------m---|", {
      h: HEADER_FRAME,
      m: MESSAGE_FRAME,
    });
  });
});

Deno.test("frames() errors with bad-format on text directly inside the stream", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold("-o-w-x-s-|", events());
    expectObservable(source.pipe(frames())).toBe(
      "-h---#",
      { h: HEADER_FRAME },
      "XmlError bad-format",
    );
    expectSubscriptions(source.subscriptions).toBe("^----!");
  });
});

Deno.test("frames() unsubscribes from its source when unsubscribed mid-element", () => {
  scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
    const source = hot("-o-s-b-t-i-e-m-|", events());
    expectObservable(source.pipe(frames()), "^------!").toBe("-h", {
      h: HEADER_FRAME,
    });
    expectSubscriptions(source.subscriptions).toBe("^------!");
  });
});

Deno.test("frames() leaves the elements of the events without children", () => {
  const given = events();
  const out: StreamFrame[] = [];
  from("osbtiemz".split("").map((k) => given[k]!))
    .pipe(frames())
    .subscribe((frame) => out.push(frame));
  assert.equal(out.length, 3);
  for (const event of Object.values(given)) {
    if ("element" in event && event.type !== "streamOpen") {
      assert.deepEqual(event.element.children, []);
    }
  }
});

// ---------------------------------------------------------------------------
// parseFrames()

Deno.test("parseFrames() frames a stream split inside stanzas", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold(
      "-a-b-c---d-|",
      bytes({
        a: "<?xml version='1.0'?>" + HEADER + "<message><bo",
        b: "dy>Hi</body></mess",
        c: "age>\n<presence/>",
        d: CLOSE,
      }),
    );
    expectObservable(source.pipe(parseFrames())).toBe("-h---(mp)c-|", {
      h: HEADER_FRAME + " v1.0",
      m: 'element <{jabber:client}message><{jabber:client}body>"Hi"</body>' +
        "</message>",
      p: "element <{jabber:client}presence></presence>",
      c: "close",
    });
    expectSubscriptions(source.subscriptions).toBe("^----------!");
  });
});

Deno.test("parseFrames() errors with policy-violation as soon as a stanza outgrows maxStanzaBytes", () => {
  const max = 200;
  const start = utf8(HEADER).length;
  assert.ok(start < max);
  scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
    const source = hot(
      "-a-b-c-d-|",
      bytes({
        a: HEADER,
        b: "<message><body>" + "x".repeat(150),
        c: "x".repeat(150),
        d: "</body></message>",
      }),
    );
    expectObservable(source.pipe(parseFrames({ maxStanzaBytes: max }))).toBe(
      "-h---#",
      { h: HEADER_FRAME },
      `XmlError policy-violation@${start + max}`,
    );
    expectSubscriptions(source.subscriptions).toBe("^----!");
  });
});

Deno.test("parseFrames() errors with bad-format on text directly inside the stream", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold("-a-b-|", bytes({ a: HEADER, b: "<presence/>hi" }));
    expectObservable(source.pipe(parseFrames())).toBe(
      "-h-(p#)",
      { h: HEADER_FRAME, p: "element <{jabber:client}presence></presence>" },
      `XmlError bad-format@${utf8(HEADER + "<presence/>").length}`,
    );
  });
});

Deno.test("parseFrames() stops and unsubscribes from its source when unsubscribed mid-stream", () => {
  scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
    const source = hot(
      "-a-b-c-|",
      bytes({ a: HEADER, b: "<message>", c: "</message>" + CLOSE }),
    );
    expectObservable(source.pipe(parseFrames()), "^---!").toBe("-h", {
      h: HEADER_FRAME,
    });
    expectSubscriptions(source.subscriptions).toBe("^---!");
  });
});

Deno.test("parseXml(), frames() and parseFrames() stop pulling a synchronous source once unsubscribed", () => {
  const chunks = [HEADER, "<presence/>", "<presence/>", "<presence/>", CLOSE]
    .map(utf8);
  // Both have what take() wants after the second chunk.
  const pipelines: ((source: Observable<Uint8Array>) => Observable<unknown>)[] =
    [
      (source) => source.pipe(parseXml(), take(3)),
      (source) => source.pipe(parseFrames(), take(2)),
      (source) => source.pipe(parseXml(), frames(), take(2)),
    ];
  for (const pipeline of pipelines) {
    let pulled = 0;
    let completed = false;
    pipeline(from(chunks).pipe(tap(() => pulled++))).subscribe({
      complete: () => completed = true,
    });
    assert.ok(completed);
    assert.equal(pulled, 2);
  }
});

/** Collects what an Observable emits synchronously, and how it ended. */
function collect<T>(observable: Observable<T>): {
  values: T[];
  error: unknown;
  ended: boolean;
} {
  const result = {
    values: [] as T[],
    error: undefined as unknown,
    ended: false,
  };
  observable.subscribe({
    next: (value) => result.values.push(value),
    error: (error) => {
      result.error = error;
      result.ended = true;
    },
    complete: () => result.ended = true,
  });
  return result;
}

// ---------------------------------------------------------------------------
// parseXml() piped into frames(): fused when adjacent, unfused otherwise

/** An operator between parseXml() and frames() that changes nothing. */
const passThrough = map((event: XmlEvent) => event);

Deno.test("parseXml() marks what it returns with its source, and nothing else is marked", () => {
  const source = from([utf8(HEADER)]);
  const events = source.pipe(parseXml({ maxDepth: 3 }));
  assert.equal(xmlOrigin(events)?.source, source);
  assert.equal(xmlOrigin(events)?.options.maxDepth, 3);
  assert.equal(xmlOrigin(events.pipe(passThrough)), undefined);
  assert.equal(xmlOrigin(events.pipe(identity)), xmlOrigin(events));
});

Deno.test("parseXml() piped into frames() frames a stream split inside stanzas", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold(
      "-a-b-c---d-|",
      bytes({
        a: "<?xml version='1.0'?>" + HEADER + "<message><bo",
        b: "dy>Hi</body></mess",
        c: "age>\n<presence/>",
        d: CLOSE,
      }),
    );
    expectObservable(source.pipe(parseXml(), frames())).toBe("-h---(mp)c-|", {
      h: HEADER_FRAME + " v1.0",
      m: 'element <{jabber:client}message><{jabber:client}body>"Hi"</body>' +
        "</message>",
      p: "element <{jabber:client}presence></presence>",
      c: "close",
    });
    expectSubscriptions(source.subscriptions).toBe("^----------!");
  });
});

Deno.test("parseXml() piped into frames() gives the same frames with an operator in between", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold(
      "-a-b-c---d-|",
      bytes({
        a: HEADER + "<message><bo",
        b: "dy>Hi</body></mess",
        c: "age>\n<presence/>",
        d: CLOSE,
      }),
    );
    expectObservable(source.pipe(parseXml(), passThrough, frames())).toBe(
      "-h---(mp)c-|",
      {
        h: HEADER_FRAME,
        m: 'element <{jabber:client}message><{jabber:client}body>"Hi"' +
          "</body></message>",
        p: "element <{jabber:client}presence></presence>",
        c: "close",
      },
    );
    expectSubscriptions(source.subscriptions).toBe("^----------!");
  });
});

Deno.test("parseXml() piped into frames() honours the limits given to parseXml()", () => {
  const max = 200;
  const start = utf8(HEADER).length;
  for (const between of [identity, passThrough]) {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot(
        "-a-b-c-d-|",
        bytes({
          a: HEADER,
          b: "<message><body>" + "x".repeat(150),
          c: "x".repeat(150),
          d: "</body></message>",
        }),
      );
      expectObservable(
        source.pipe(parseXml({ maxStanzaBytes: max }), between, frames()),
      ).toBe(
        "-h---#",
        { h: HEADER_FRAME },
        `XmlError policy-violation@${start + max}`,
      );
      expectSubscriptions(source.subscriptions).toBe("^----!");
    });
  }
});

Deno.test("parseXml() piped into frames() errors with bad-format on text directly inside the stream", () => {
  for (const between of [identity, passThrough]) {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold("-a-b-|", bytes({ a: HEADER, b: "<presence/>hi" }));
      expectObservable(source.pipe(parseXml(), between, frames())).toBe(
        "-h-(p#)",
        { h: HEADER_FRAME, p: "element <{jabber:client}presence></presence>" },
        `XmlError bad-format@${utf8(HEADER + "<presence/>").length}`,
      );
      expectSubscriptions(source.subscriptions).toBe("^--!");
    });
  }
});

Deno.test("parseXml() piped into frames() errors where frames() does when stream is false", () => {
  for (const between of [identity, passThrough]) {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold(
        "-a-----b-|",
        bytes({ a: "<doc><p/>", b: "hi<p/></doc>" }),
      );
      expectObservable(
        source.pipe(parseXml({ stream: false }), between, frames()),
      ).toBe(
        "-(hp)--#",
        { h: "header <{}doc>", p: "element <{}p></p>" },
        "XmlError bad-format",
      );
      expectSubscriptions(source.subscriptions).toBe("^------!");
    });
  }
});

Deno.test("parseXml() piped into frames() reads the events of an operator in between", () => {
  scheduler().run(({ cold, expectObservable }) => {
    const source = cold(
      "-a-----b-----|",
      bytes({ a: "<doc><p/>", b: "hi<p/></doc>" }),
    );
    // Fused, the text would end the stream with bad-format; the operator in
    // between drops it, and frames() reads what that operator gives.
    const noRootText = filter((e: XmlEvent) =>
      e.type !== "text" || e.depth > 1
    );
    expectObservable(
      source.pipe(parseXml({ stream: false }), noRootText, frames()),
    ).toBe("-(hp)--(pc)--|", {
      h: "header <{}doc>",
      p: "element <{}p></p>",
      c: "close",
    });
  });
});

Deno.test("parseXml() piped into frames() stops and unsubscribes from its source when unsubscribed mid-stream", () => {
  for (const between of [identity, passThrough]) {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot(
        "-a-b-c-|",
        bytes({ a: HEADER, b: "<message>", c: "</message>" + CLOSE }),
      );
      expectObservable(source.pipe(parseXml(), between, frames()), "^---!")
        .toBe("-h", { h: HEADER_FRAME });
      expectSubscriptions(source.subscriptions).toBe("^---!");
    });
  }
});

Deno.test("parseXml() piped into frames() passes an error of its source on", () => {
  for (const between of [identity, passThrough]) {
    scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold("-a-#", bytes({ a: HEADER }), new Error("reset"));
      expectObservable(source.pipe(parseXml(), between, frames())).toBe(
        "-h-#",
        { h: HEADER_FRAME },
        new Error("reset"),
      );
      expectSubscriptions(source.subscriptions).toBe("^--!");
    });
  }
});

Deno.test("parseXml() piped into frames() gives each subscriber a parser of its own", () => {
  scheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold("-a-b-|", bytes({ a: HEADER, b: "<presence/>" }));
    const framed = source.pipe(parseXml(), frames());
    expectObservable(framed).toBe("-h-p-#", {
      h: HEADER_FRAME,
      p: "element <{jabber:client}presence></presence>",
    }, "XmlError not-well-formed@" + utf8(HEADER + "<presence/>").length);
    expectObservable(framed, "--^").toBe("---h-p-#", {
      h: HEADER_FRAME,
      p: "element <{jabber:client}presence></presence>",
    }, "XmlError not-well-formed@" + utf8(HEADER + "<presence/>").length);
    expectSubscriptions(source.subscriptions).toBe(["^----!", "--^----!"]);
  });
});

Deno.test("parseXml() piped into frames() gives the frames and errors of the unfused operators on random streams", () => {
  const unfused = pipe(passThrough, frames());
  fc.assert(
    fc.property(
      fc.oneof(
        xmlDocument({ stream: true }),
        xmlDocument({ stream: true, closed: false }),
        xmlDocument({ depth: 2 }),
      ),
      fc.boolean(),
      splitSeeds,
      (doc, stream, seeds) => {
        const chunks = split(utf8(doc), seeds);
        const options = { stream, maxStanzaBytes: 300 };
        const fused = collect(from(chunks).pipe(parseXml(options), frames()));
        const slow = collect(from(chunks).pipe(parseXml(options), unfused));
        assert.ok(fused.ended && slow.ended);
        assert.deepEqual(fused.values, slow.values);
        assert.deepEqual(describe(fused.error), describe(slow.error));
      },
    ),
    { numRuns: runs(300) },
  );
});

/** An error's class, condition, message and position, for comparison. */
function describe(error: unknown): unknown {
  if (!(error instanceof XmlError)) return error;
  const { condition, message, line, column, offset } = error;
  return { condition, message, line, column, offset };
}

Deno.test("parseFrames() gives the frames of parseXml() and frames() on random streams", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        xmlDocument({ stream: true }),
        xmlDocument({ stream: true, closed: false }),
        xmlDocument({ depth: 2 }),
      ),
      splitSeeds,
      (doc, seeds) => {
        const chunks = split(utf8(doc), seeds);
        const fast = collect(from(chunks).pipe(parseFrames()));
        const slow = collect(
          from(chunks).pipe(parseXml(), passThrough, frames()),
        );
        assert.ok(fast.ended && slow.ended);
        assert.deepEqual(fast.values, slow.values);
        if (fast.error === undefined) {
          assert.equal(slow.error, undefined);
        } else {
          assert.ok(fast.error instanceof XmlError);
          assert.ok(slow.error instanceof XmlError);
          assert.equal(fast.error.condition, slow.error.condition);
        }
      },
    ),
    { numRuns: runs(200) },
  );
});
