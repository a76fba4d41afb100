// Smaller parser limits while a stream negotiates (before the peer is
// authenticated), the full ones from the moment it is open, switched exactly
// between two frames whatever the chunking.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import {
  PRE_AUTH_LIMITS,
  Session,
  type SessionOptions,
} from "../../src/stream/session.ts";
import { StreamError } from "../../src/stream/errors.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import { HEADER, utf8 } from "../hardening/_live.ts";
import { fakeTlsPair } from "./_pair.ts";

const REPLY = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' from='pronto' id='x1' version='1.0'>";
const STARTTLS = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";

/** HEADER with an attribute of `bytes` bytes more. */
function paddedHeader(bytes: number): string {
  return HEADER.replace("version=", `pad='${"p".repeat(bytes)}' version=`);
}

/**
 * One end over a pair that can pretend to start TLS; the peer writes each
 * text in turn. Returns the end, the peer's end, what ours wrote, and how
 * `negotiate()` ended.
 */
async function end(
  options: Pick<SessionOptions, "role"> & Partial<SessionOptions>,
  ...writes: string[]
) {
  const [a, b] = fakeTlsPair();
  const session = new Session({ transport: b, from: "pronto", ...options });
  const negotiated = session.negotiate().then(() => undefined, (e) => e);
  for (const text of writes) await a.write(utf8(text));
  return {
    session,
    peer: a,
    written: () => b.writtenText(),
    error: await negotiated,
  };
}

/** Asserts a policy-violation and returns its message. */
function policyViolation(error: unknown): string {
  assert.ok(error instanceof StreamError, `${error}`);
  assert.equal(error.condition, "policy-violation");
  return error.message;
}

Deno.test("PRE_AUTH_LIMITS are smaller than the full limits and hold a SASL exchange", () => {
  assert.deepEqual({ ...PRE_AUTH_LIMITS }, {
    maxStanzaBytes: 16_384,
    maxDepth: 16,
    maxAttributes: 32,
    maxNameLength: 256,
  });
});

Deno.test("a recipient refuses a 20 KB element before STARTTLS with policy-violation", async () => {
  const { session, written, error } = await end(
    { role: "recipient" },
    HEADER,
    STARTTLS.replace("/>", ` pad='${"p".repeat(20_000)}'/>`),
  );
  assert.match(policyViolation(error), /maxStanzaBytes \(16384 bytes\)/);
  assert.match(written(), /<stream:error><policy-violation /);
  assert.equal((await session.closed).clean, false);
});

Deno.test("a recipient refuses a 20 KB <auth/> during SASL, after TLS", async () => {
  const { written, error } = await end(
    {
      role: "recipient",
      features: [
        sasl({ server: { credentials: () => Promise.resolve(undefined) } }),
      ],
    },
    HEADER,
    STARTTLS,
    HEADER,
    `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>${
      "A".repeat(20_000)
    }</auth>`,
  );
  policyViolation(error);
  assert.match(written(), /<proceed /); // TLS was reached first
});

Deno.test("a stream header over the pre-authentication size is refused, inside our own header", async () => {
  const { written, error } = await end(
    { role: "recipient", tls: "off" },
    paddedHeader(17_000),
  );
  policyViolation(error);
  assert.match(
    written(),
    /^<\?xml[^>]*\?><stream:stream [^>]*><stream:error><policy-violation /,
  );
});

Deno.test("depth and attribute pre-authentication limits hold during negotiation", async () => {
  for (
    const element of [
      STARTTLS.replace(
        "/>",
        `>${"<a>".repeat(20)}${"</a>".repeat(20)}</starttls>`,
      ),
      STARTTLS.replace(
        "/>",
        ` ${Array.from({ length: 40 }, (_, i) => `a${i}='v'`).join(" ")}/>`,
      ),
    ]
  ) {
    const { session, error } = await end(
      { role: "recipient" },
      HEADER + element,
    );
    policyViolation(error);
    await session.closed;
  }
});

Deno.test("preAuthLimits can be set, and default to no more than the full limits", async () => {
  // Chosen by the application: 1 KiB before authentication.
  const strict = await end(
    { role: "recipient", tls: "off", preAuthLimits: { maxStanzaBytes: 1024 } },
    paddedHeader(2000),
  );
  assert.match(policyViolation(strict.error), /\(1024 bytes\)/);

  // Full limit of 4 KiB: the pre-authentication limit is 4 KiB too.
  const small = await end(
    { role: "recipient", tls: "off", limits: { maxStanzaBytes: 4096 } },
    paddedHeader(5000),
  );
  assert.match(policyViolation(small.error), /\(4096 bytes\)/);
});

Deno.test("once open, the full limits apply: a 200 KB stanza in the same chunk as the last features is read", async () => {
  // The recipient may send a stanza right after its features: the initiator
  // reads them in one chunk, and must switch limits exactly between the two.
  const body = "b".repeat(200_000);
  const { session, peer, error } = await end(
    { role: "initiator", to: "pronto", tls: "off" },
    `${REPLY}<stream:features/><message id='big'><body>${body}</body></message>`,
  );
  assert.equal(error, undefined);
  const got = await firstValueFrom(session.stanzas$);
  assert.equal(got.attrs.id, "big");
  assert.equal(got.getChildText("body")?.length, 200_000);
  peer.close();
  await session.closed;
});

Deno.test("once open, a stanza over the full limit still ends the stream with policy-violation", async () => {
  const { session, error } = await end(
    { role: "initiator", to: "pronto", tls: "off" },
    `${REPLY}<stream:features/><message><body>${
      "b".repeat(300_000)
    }</body></message>`,
  );
  assert.equal(error, undefined);
  const failed = await firstValueFrom(session.stanzas$).catch((e) => e);
  assert.match(policyViolation(failed), /262144/);
  await session.closed;
});
