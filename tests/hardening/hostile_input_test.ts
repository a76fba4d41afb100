// Hostile bytes into a live, negotiated stream (and into the header): each
// case must end the stream with exactly one stream error of the right RFC
// 6120 condition, sent to the peer with our close tag, without the peer
// being able to make us buffer what it sends.

import assert from "node:assert/strict";
import {
  StreamError,
  type StreamErrorCondition,
} from "../../src/stream/errors.ts";
import {
  assertStreamError,
  canMeasureHeap,
  chunks,
  feed,
  HEADER,
  type Live,
  openRecipient,
  recipient,
  repeated,
  settledHeap,
} from "./_live.ts";

const MB = 1024 * 1024;
const HUNDRED_MB = 100 * MB;
const HEAP_BUDGET = 50 * MB;
const MESSAGE = "<message xmlns='jabber:client' to='pronto'>";

const BILLION_LAUGHS = `<!DOCTYPE lolz [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>`;

/** The recipient never delivered a stanza from hostile input. */
async function assertNothingDelivered(live: Live): Promise<void> {
  const got: unknown[] = [];
  const done = new Promise<void>((resolve) =>
    live.session.stanzas$.subscribe({
      next: (stanza) => got.push(stanza),
      error: () => resolve(),
      complete: () => resolve(),
    })
  );
  await done;
  assert.deepEqual(got, []);
}

/**
 * `negotiate()` rejected with the condition that `closed` reports. It
 * rejects with the parser's `XmlError` for bad XML and with a `StreamError`
 * for a bad header (see the report: the docs promise `StreamError` only);
 * both carry the condition.
 */
async function assertNegotiationFailed(
  live: Live,
  condition: StreamErrorCondition,
): Promise<void> {
  const error = await live.negotiated.then(() => undefined, (e) => e);
  assert.ok(
    error instanceof StreamError && error.sent,
    `negotiate() should reject with the stream error it sent, got ${error}`,
  );
  assert.equal(error.condition, condition);
}

// ------------------------------------------------------ restricted XML

Deno.test("hostile: billion laughs after the header is restricted-xml", async () => {
  const live = await openRecipient();
  await feed(
    live,
    chunks(BILLION_LAUGHS, `${MESSAGE}<body>&lol9;</body></message>`),
  );
  await assertStreamError(live, "restricted-xml");
  await assertNothingDelivered(live);
});

Deno.test("hostile: a DOCTYPE before the header is restricted-xml and negotiate() rejects", async () => {
  const live = recipient();
  await feed(live, chunks(BILLION_LAUGHS, HEADER));
  await assertNegotiationFailed(live, "restricted-xml");
  await assertStreamError(live, "restricted-xml");
});

Deno.test("hostile: an external entity reference in a stanza is restricted-xml", async () => {
  const live = await openRecipient();
  await feed(live, chunks(`${MESSAGE}<body>&xxe;</body></message>`));
  await assertStreamError(live, "restricted-xml");
  await assertNothingDelivered(live);
});

// ------------------------------------------------------------ limits

/**
 * Feeds an open recipient `input` and asserts that it ends the stream with
 * policy-violation before 1 MB went in, within the heap budget.
 */
async function refusedEarly(input: Iterable<Uint8Array>): Promise<void> {
  const before = settledHeap();
  const live = await openRecipient();
  const fed = await feed(live, input);
  await assertStreamError(live, "policy-violation");
  assert.ok(fed.sent < MB, `${fed.sent} bytes went in before the error`);
  if (canMeasureHeap) {
    assert.ok(
      fed.peakHeap - before < HEAP_BUDGET,
      `peak +${fed.peakHeap - before}`,
    );
    assert.ok(settledHeap() - before < HEAP_BUDGET);
  }
}

Deno.test("hostile: 1,000,000 nested elements are a policy-violation, heap bounded", async () => {
  await refusedEarly(repeated(MESSAGE, "<a>", 3_000_000));
});

Deno.test("hostile: a 100 MB attribute value is a policy-violation long before 100 MB", async () => {
  await refusedEarly(
    repeated("<message xmlns='jabber:client' id='", "A", HUNDRED_MB, "'/>"),
  );
});

Deno.test("hostile: a 100 MB stanza body is a policy-violation long before 100 MB", async () => {
  await refusedEarly(
    repeated(
      `${MESSAGE}<body>`,
      "lorem ipsum ",
      HUNDRED_MB,
      "</body></message>",
    ),
  );
});

// ------------------------------------------------------- bad characters

Deno.test("hostile: invalid UTF-8 (C3 28) is not-well-formed", async () => {
  const live = await openRecipient();
  await feed(
    live,
    chunks(
      `${MESSAGE}<body>`,
      new Uint8Array([0xc3, 0x28]),
      "</body></message>",
    ),
  );
  await assertStreamError(live, "not-well-formed");
  await assertNothingDelivered(live);
});

Deno.test("hostile: a NUL byte is not-well-formed", async () => {
  const live = await openRecipient();
  await feed(
    live,
    chunks(`${MESSAGE}<body>a`, new Uint8Array([0]), "b</body></message>"),
  );
  await assertStreamError(live, "not-well-formed");
  await assertNothingDelivered(live);
});

// ------------------------------------------------- namespaces and shape

Deno.test("hostile: an unbound prefix in a stanza is bad-namespace-prefix", async () => {
  const live = await openRecipient();
  await feed(live, chunks(`${MESSAGE}<evil:body>x</evil:body></message>`));
  await assertStreamError(live, "bad-namespace-prefix");
  await assertNothingDelivered(live);
});

Deno.test("hostile: text at stream level is bad-format", async () => {
  const live = await openRecipient();
  await feed(live, chunks("hello"));
  await assertStreamError(live, "bad-format");
});

Deno.test("hostile: a stanza in a foreign namespace is unsupported-stanza-type", async () => {
  const live = await openRecipient();
  await feed(live, chunks("<message xmlns='urn:evil'/>"));
  await assertStreamError(live, "unsupported-stanza-type");
  await assertNothingDelivered(live);
});

Deno.test("hostile: a header in the wrong stream namespace is invalid-namespace", async () => {
  const live = recipient();
  await feed(
    live,
    chunks(HEADER.replace("http://etherx.jabber.org/streams", "urn:evil")),
  );
  await assertNegotiationFailed(live, "invalid-namespace");
  await assertStreamError(live, "invalid-namespace");
});

Deno.test("hostile: a header with version 2.0 is unsupported-version", async () => {
  const live = recipient();
  await feed(live, chunks(HEADER.replace("version='1.0'", "version='2.0'")));
  await assertNegotiationFailed(live, "unsupported-version");
  await assertStreamError(live, "unsupported-version");
});

// RFC 6120 section 4.9.1.1: an error triggered by the initial header must
// still be sent inside our own opening <stream:stream> tag.
Deno.test({
  name: "hostile: a stream error answering a bad header follows our own header",
  fn: async () => {
    for (
      const input of [
        BILLION_LAUGHS + HEADER,
        HEADER.replace("http://etherx.jabber.org/streams", "urn:evil"),
        HEADER.replace("version='1.0'", "version='2.0'"),
      ]
    ) {
      const live = recipient();
      await feed(live, chunks(input));
      const { wire } = await assertStreamError(
        live,
        await live.session.closed.then((r) =>
          (r.error as StreamError).condition
        ),
      );
      assert.match(wire, /^(<\?xml[^>]*\?>)?<stream:stream [^>]*>/);
      assert.ok(
        (await live.negotiated.then(() => 0, (e) => e)) instanceof StreamError,
      );
    }
  },
});
