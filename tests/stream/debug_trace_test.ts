import assert from "node:assert/strict";
import {
  consoleTrace,
  REDACTED,
  TraceRedactor,
} from "../../src/stream/debug_trace.ts";
import type { TraceEntry } from "../../src/stream/session.ts";

const PLAIN = btoa("\u0000romeo\u0000r0m30!");
const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";
const EXCHANGE =
  `<auth xmlns='${SASL_NS}' mechanism='SCRAM-SHA-256'>biwsbj1yb21lbyxyPXh5eg==</auth>` +
  `<challenge xmlns='${SASL_NS}'>cj14eXphYmMscz1zYWx0LGk9NDA5Ng==</challenge>` +
  `<response xmlns='${SASL_NS}'>Yz1iaXdzLHI9eHl6YWJjLHA9cHJvb2Y=</response>` +
  `<success xmlns='${SASL_NS}'>dj1zaWduYXR1cmU=</success>` +
  `<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${PLAIN}</auth><success xmlns='${SASL_NS}'/>`;
const REDACTED_EXCHANGE = EXCHANGE
  .replace(/>[A-Za-z0-9+\/=]+</g, `>${REDACTED}<`);

Deno.test("TraceRedactor replaces the content of auth, challenge, response and success", () => {
  const shown = new TraceRedactor().redact(EXCHANGE);
  assert.equal(shown, REDACTED_EXCHANGE);
  assert.ok(!shown.includes(PLAIN));
  assert.equal(shown.split(REDACTED).length - 1, 5);
});

Deno.test("TraceRedactor shows the same, and never a payload byte, wherever the entries are cut", () => {
  const payloads = [...EXCHANGE.matchAll(/>([A-Za-z0-9+\/=]{4,})</g)].map((
    m,
  ) => m[1]!);
  for (let cut = 0; cut <= EXCHANGE.length; cut++) {
    for (const second of [cut, Math.min(EXCHANGE.length, cut + 7)]) {
      const redactor = new TraceRedactor();
      const parts = [
        redactor.redact(EXCHANGE.slice(0, cut)),
        redactor.redact(EXCHANGE.slice(cut, second)),
        redactor.redact(EXCHANGE.slice(second)),
      ];
      assert.equal(
        parts.join(""),
        REDACTED_EXCHANGE,
        `cut at ${cut}, ${second}`,
      );
      for (const part of parts) {
        for (const payload of payloads) {
          // No three characters of a payload in a row are shown.
          for (let i = 0; i + 3 <= payload.length; i++) {
            const piece = payload.slice(i, i + 3);
            if (REDACTED_EXCHANGE.includes(piece)) continue; // also markup
            assert.ok(!part.includes(piece), `${piece} shown at cut ${cut}`);
          }
        }
      }
    }
  }
});

Deno.test("TraceRedactor leaves other elements alone, prefixed SASL elements included in redaction", () => {
  const redactor = new TraceRedactor();
  const text =
    "<message><body>auth</body><authenticate>keep</authenticate></message>" +
    `<sasl:auth xmlns:sasl='${SASL_NS}'>c2VjcmV0</sasl:auth><success/><presence/>`;
  assert.equal(
    redactor.redact(text),
    "<message><body>auth</body><authenticate>keep</authenticate></message>" +
      `<sasl:auth xmlns:sasl='${SASL_NS}'>${REDACTED}</sasl:auth><success/><presence/>`,
  );
});

Deno.test("consoleTrace() prints direction, TLS and the peer, redacted per stream", () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    const juliet = { id: "s1", peerAddress: "juliet@pronto" };
    const nurse = { id: "s2", peerAddress: "nurse@pronto" };
    const auth = `<auth xmlns='${SASL_NS}' mechanism='PLAIN'>${PLAIN}</auth>`;
    const out = (text: string, tls = true): TraceEntry => ({
      direction: "out",
      text,
      tls,
    });
    consoleTrace(out("<starttls/>", false), juliet);
    consoleTrace(out(auth.slice(0, 70)), juliet);
    // Another stream in between keeps its own state.
    consoleTrace({ direction: "in", text: "<presence/>", tls: false }, nurse);
    consoleTrace(out(auth.slice(70)), juliet);
  } finally {
    console.error = original;
  }
  assert.deepEqual(lines, [
    "[xmpp-e2e juliet@pronto] -> out: <starttls/>",
    `[xmpp-e2e juliet@pronto] -> out tls: <auth xmlns='${SASL_NS}' mechanism='PLAIN'>${REDACTED}`,
    "[xmpp-e2e nurse@pronto] <- in : <presence/>",
    "[xmpp-e2e juliet@pronto] -> out tls: </auth>",
  ]);
});

/** Runs the debug child with an environment and permission flags. */
async function child(env: Record<string, string>, flags: string[]) {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...flags,
      new URL("./_debug_child.ts", import.meta.url).pathname,
    ],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}

Deno.test("XMPP_E2E_DEBUG=1 prints every stream both ways, marked under TLS, with the password redacted", async () => {
  const { code, stdout, stderr } = await child({ XMPP_E2E_DEBUG: "1" }, [
    "--allow-env=XMPP_E2E_DEBUG",
  ]);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "done");
  for (
    const seen of [
      "[xmpp-e2e #1 initiator] -> out: <?xml",
      "[xmpp-e2e #2 recipient] <- in : <?xml",
      "[xmpp-e2e #1 initiator] <- in : <proceed",
      "[xmpp-e2e #1 initiator] -> out tls: <auth",
      `mechanism='PLAIN'>${REDACTED}</auth>`,
      "[xmpp-e2e #2 recipient] <- in  tls: <message><body>Wherefore art thou?</body></message>",
      "[xmpp-e2e #1 initiator] <- in  tls: </stream:stream>",
    ]
  ) {
    assert.ok(stderr.includes(seen), `missing ${seen} in:\n${stderr}`);
  }
  assert.ok(!stderr.includes(PLAIN), "the PLAIN payload was printed");
  assert.ok(!stderr.includes("r0m30!"), "the password was printed");
});

Deno.test("without the env permission XMPP_E2E_DEBUG is not read: no prompt, no error, no output", async () => {
  const { code, stdout, stderr } = await child({ XMPP_E2E_DEBUG: "1" }, []);
  assert.equal(code, 0, stderr);
  assert.equal(stdout.trim(), "done");
  assert.equal(stderr, "");
});

Deno.test("XMPP_E2E_DEBUG=0 or unset prints nothing", async () => {
  for (const env of [{ XMPP_E2E_DEBUG: "0" }, {}]) {
    const { code, stderr } = await child(env, ["--allow-env"]);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, "");
  }
});
