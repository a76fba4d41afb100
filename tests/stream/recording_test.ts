import assert from "node:assert/strict";
import { from, lastValueFrom, map, toArray } from "rxjs";
import { TestScheduler } from "rxjs/testing";
import {
  parseRecording,
  parseTrace,
  type RecordingOptions,
  type TracedFrame,
} from "../../src/stream/recording.ts";
import type { TraceEntry } from "../../src/stream/session.ts";
import { XmlError } from "../../src/xml/errors.ts";
import type { StreamFrame } from "../../src/xml/events.ts";
import { parseFrames } from "../../src/xml/frames.ts";
import { initiate, listen } from "../../src/e2e.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import { deriveScramCredentials } from "../../src/sasl/scram.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import { message } from "../../src/stanza/stanza.ts";

const utf8 = (text: string) => new TextEncoder().encode(text);
const HEADER =
  "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
const DECL = "<?xml version='1.0'?>";

/** A frame as a short string: its type, or the element's name. */
function show(frame: StreamFrame): string {
  return frame.type === "element" ? frame.element.name : frame.type;
}

async function read(
  chunks: string[] | Uint8Array[],
  options?: RecordingOptions,
): Promise<string[]> {
  const bytes = chunks.map((c) => typeof c === "string" ? utf8(c) : c);
  const frames = await lastValueFrom(
    from(bytes).pipe(parseRecording(options), toArray()),
  );
  return frames.map(show);
}

/** One direction of a session: STARTTLS, then SASL, each with a restart. */
const SESSION = DECL + HEADER +
  "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" +
  DECL + HEADER +
  "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>AHJvbWVvAHIwbTMwIQ==</auth>" +
  "\n" + DECL + "\n" + HEADER +
  "<message><body>Wherefore art thou?</body></message>\n" +
  "</stream:stream>";
const SESSION_FRAMES = [
  "header",
  "starttls",
  "header",
  "auth",
  "header",
  "message",
  "close",
];

Deno.test("parseRecording() follows stream restarts after STARTTLS and SASL", async () => {
  assert.deepEqual(await read([SESSION]), SESSION_FRAMES);
});

Deno.test("parseFrames() cannot read the same recording: a restart is no stanza", async () => {
  await assert.rejects(
    lastValueFrom(from([utf8(SESSION)]).pipe(parseFrames(), toArray())),
    XmlError,
  );
});

Deno.test("parseRecording() gives the same frames wherever the chunks are split", async () => {
  const bytes = utf8(SESSION);
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.deepEqual(
      await read([bytes.subarray(0, cut), bytes.subarray(cut)]),
      SESSION_FRAMES,
      `cut at ${cut}`,
    );
  }
  const oneByOne = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
  assert.deepEqual(await read(oneByOne), SESSION_FRAMES);
});

Deno.test("a header inside a stanza's CDATA or as a child is content, not a restart", async () => {
  const text = HEADER +
    "<message><body><![CDATA[" + DECL + HEADER + "]]></body></message>" +
    "<iq type='get' id='1'><stream xmlns='urn:example'/></iq>" +
    "</stream:stream>";
  const frames = await lastValueFrom(
    from([utf8(text)]).pipe(parseRecording(), toArray()),
  );
  assert.deepEqual(frames.map(show), ["header", "message", "iq", "close"]);
  const body = frames[1]?.type === "element"
    ? frames[1].element.getChildText("body")
    : undefined;
  assert.equal(body, DECL + HEADER);
});

Deno.test("a restart after a lone CR between frames is found, however the chunks are cut", async () => {
  const text = HEADER + "<presence/>\r" + DECL + HEADER + "<message/>";
  const bytes = utf8(text);
  for (let cut = 0; cut <= bytes.length; cut++) {
    assert.deepEqual(
      await read([bytes.subarray(0, cut), bytes.subarray(cut)]),
      ["header", "presence", "header", "message"],
      `cut at ${cut}`,
    );
  }
});

Deno.test("parseRecording() reads streams one after another, each closed", async () => {
  const one = HEADER + "<presence/></stream:stream>";
  assert.deepEqual(await read([one + "\n" + one]), [
    "header",
    "presence",
    "close",
    "header",
    "presence",
    "close",
  ]);
});

Deno.test("a recording may stop between frames; one cut inside a stanza is an XmlError", async () => {
  assert.deepEqual(await read([HEADER + "<presence/>\n"]), [
    "header",
    "presence",
  ]);
  await assert.rejects(
    read([HEADER + "<message><body>cut"]),
    (e) => e instanceof XmlError && e.condition === "not-well-formed",
  );
  await assert.rejects(read([""]), XmlError);
});

Deno.test("errors after a restart are placed in the whole input", async () => {
  const before = HEADER +
    "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>\n" +
    HEADER + "\n";
  const error = await read([before + "<message></presence>"]).then(
    () => undefined,
    (e) => e,
  );
  assert.ok(error instanceof XmlError, String(error));
  // At the "</" of the end tag, as parseFrames() would place it.
  assert.equal(error.offset, utf8(before).length + "<message>".length);
  assert.equal(error.line, 3);
  assert.equal(error.column, "<message>".length + 1);
  assert.match(error.message, /\(line 3, column 10, byte \d+\)$/);
});

Deno.test("headerless mode reads a log of bare stanzas in jabber:client, or the namespace given", async () => {
  const log = "<message><body>one</body></message>\n<presence/>\r\n" +
    "<iq type='result' id='7' xmlns='jabber:server'/>\n";
  const frames = await lastValueFrom(
    from([utf8(log)]).pipe(parseRecording({ headerless: true }), toArray()),
  );
  assert.deepEqual(frames.map(show), ["message", "presence", "iq"]);
  assert.deepEqual(
    frames.map((f) => f.type === "element" && f.element.ns),
    ["jabber:client", "jabber:client", "jabber:server"],
  );
  const server = await lastValueFrom(
    from([utf8("<presence/>")]).pipe(
      parseRecording({ headerless: true, ns: "jabber:server" }),
      toArray(),
    ),
  );
  assert.equal(
    server[0]?.type === "element" && server[0].element.ns,
    "jabber:server",
  );
});

Deno.test("headerless mode places errors in the log itself", async () => {
  const error = await read(["<presence/>\n<message a='1' a='2'/>"], {
    headerless: true,
  }).then(() => undefined, (e) => e);
  assert.ok(error instanceof XmlError, String(error));
  assert.equal(error.line, 2);
  assert.ok(error.offset >= "<presence/>\n".length, String(error.offset));
  assert.ok(error.offset < "<presence/>\n<message a='1' a='2'/>".length);
  const first = await read(["<message></presence>"], { headerless: true })
    .then(() => undefined, (e) => e);
  assert.ok(first instanceof XmlError);
  assert.deepEqual([first.line, first.column, first.offset], [1, 10, 9]);
});

Deno.test("headerless mode still follows a header that comes later", async () => {
  assert.deepEqual(
    await read(["<presence/>" + HEADER + "<message/>"], { headerless: true }),
    ["presence", "header", "message"],
  );
});

Deno.test("parseRecording() emits each chunk's frames as they come and stops reading when unsubscribed", () => {
  const scheduler = new TestScheduler((actual, expected) =>
    assert.deepEqual(actual, expected)
  );
  scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold("-a-----b---c-|", {
      a: utf8(HEADER + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      b: utf8(HEADER),
      c: utf8("<presence/>"),
    });
    const shown = source.pipe(parseRecording(), map(show));
    expectObservable(shown, "^-------!").toBe("-(hs)--h-", {
      h: "header",
      s: "starttls",
    });
    expectSubscriptions(source.subscriptions).toBe("^-------!");
  });
});

Deno.test("parseTrace() reads a session's own trace over TLS with SASL, both directions, restarts followed", async () => {
  const certificate = await generateCertificate({ names: ["pronto"] });
  const keys = await deriveScramCredentials("r0m30!", "SHA-256", {
    iterations: 4096,
  });
  const trace: TraceEntry[] = [];
  const listener = await listen({
    from: "pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    features: [
      sasl({
        server: {
          credentials: (user, hash) =>
            Promise.resolve(
              user === "romeo" && hash === "SHA-256" ? keys : undefined,
            ),
        },
      }),
    ],
  });
  const accepted = listener.accept();
  const romeo = await initiate({
    to: "pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCerts: [certificate.certPem],
    features: [sasl({ client: { username: "romeo", password: "r0m30!" } })],
    trace: (entry) => trace.push({ ...entry }),
  });
  const juliet = (await accepted)!;
  await romeo.send(message({ body: "Wherefore art thou?" }));
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();

  const frames: TracedFrame[] = await lastValueFrom(
    from(trace).pipe(parseTrace(), toArray()),
  );
  const side = (direction: "in" | "out") =>
    frames.filter((f) => f.direction === direction).map((f) =>
      `${f.tls ? "tls " : ""}${show(f.frame)}`
    );
  assert.deepEqual(side("out"), [
    "header",
    "starttls",
    "tls header",
    "tls auth",
    ...side("out").slice(4, -3), // the SASL round trips of the mechanism
    "tls header",
    "tls message",
    "tls close",
  ]);
  const inbound = side("in");
  assert.equal(inbound.filter((f) => f.endsWith("header")).length, 3);
  assert.deepEqual(inbound.slice(0, 3), ["header", "features", "proceed"]);
  assert.ok(inbound.includes("tls success"));
  assert.equal(inbound.at(-1), "tls close");
});
