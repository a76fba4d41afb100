// Smaller parser limits while a stream negotiates (before the peer is
// authenticated), the full ones from the moment it is open, switched exactly
// between two frames whatever the chunking.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { PRE_AUTH_LIMITS, Session } from "../../src/stream/session.ts";
import { StreamError } from "../../src/stream/errors.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import { fakeTlsPair, pair } from "./_pair.ts";

const enc = new TextEncoder();
const HEADER = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>";
const REPLY = "<stream:stream xmlns='jabber:client' " +
  "xmlns:stream='http://etherx.jabber.org/streams' from='pronto' id='x1' version='1.0'>";

function padded(name: string, ns: string, bytes: number): string {
  return `<${name} xmlns='${ns}' pad='${"p".repeat(bytes)}'/>`;
}

async function policyViolation(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e) => e);
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
  const [a, b] = fakeTlsPair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
  });
  const negotiated = recipient.negotiate();
  await a.write(enc.encode(HEADER));
  await a.write(
    enc.encode(padded("starttls", "urn:ietf:params:xml:ns:xmpp-tls", 20_000)),
  );
  const message = await policyViolation(negotiated);
  assert.match(message, /maxStanzaBytes \(16384 bytes\)/);
  assert.match(b.writtenText(), /<stream:error><policy-violation /);
  assert.equal((await recipient.closed).clean, false);
});

Deno.test("a recipient refuses a 20 KB <auth/> during SASL, after TLS", async () => {
  const [a, b] = fakeTlsPair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    features: [
      sasl({ server: { credentials: () => Promise.resolve(undefined) } }),
    ],
  });
  const negotiated = recipient.negotiate();
  await a.write(enc.encode(HEADER));
  await a.write(
    enc.encode("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
  );
  await a.write(enc.encode(HEADER));
  await a.write(
    enc.encode(
      `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>${
        "A".repeat(20_000)
      }</auth>`,
    ),
  );
  await policyViolation(negotiated);
  assert.match(b.writtenText(), /<proceed /); // TLS was reached first
});

Deno.test("a stream header over the pre-authentication size is refused, inside our own header", async () => {
  const [a, b] = pair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    tls: "off",
  });
  const negotiated = recipient.negotiate();
  await a.write(
    enc.encode(
      HEADER.replace("version=", `pad='${"p".repeat(17_000)}' version=`),
    ),
  );
  await policyViolation(negotiated);
  assert.match(
    b.writtenText(),
    /^<\?xml[^>]*\?><stream:stream [^>]*><stream:error><policy-violation /,
  );
});

Deno.test("depth and attribute pre-authentication limits hold during negotiation", async () => {
  for (
    const element of [
      `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>${"<a>".repeat(20)}${
        "</a>".repeat(20)
      }</starttls>`,
      `<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls' ${
        Array.from({ length: 40 }, (_, i) => `a${i}='v'`).join(" ")
      }/>`,
    ]
  ) {
    const [a, b] = fakeTlsPair();
    const recipient = new Session({
      role: "recipient",
      transport: b,
      from: "pronto",
    });
    const negotiated = recipient.negotiate();
    await a.write(enc.encode(HEADER + element));
    await policyViolation(negotiated);
    await recipient.closed;
  }
});

Deno.test("preAuthLimits can be set, and default to no more than the full limits", async () => {
  // Chosen by the application: 1 KiB before authentication.
  const [a, b] = pair();
  const strict = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    tls: "off",
    preAuthLimits: { maxStanzaBytes: 1024 },
  });
  const negotiated = strict.negotiate();
  await a.write(
    enc.encode(
      HEADER.replace("version=", `pad='${"p".repeat(2000)}' version=`),
    ),
  );
  assert.match(await policyViolation(negotiated), /\(1024 bytes\)/);

  // Full limit of 4 KiB: the pre-authentication limit is 4 KiB too.
  const [c, d] = pair();
  const small = new Session({
    role: "recipient",
    transport: d,
    from: "pronto",
    tls: "off",
    limits: { maxStanzaBytes: 4096 },
  });
  const refused = small.negotiate();
  await c.write(
    enc.encode(
      HEADER.replace("version=", `pad='${"p".repeat(5000)}' version=`),
    ),
  );
  assert.match(await policyViolation(refused), /\(4096 bytes\)/);
});

Deno.test("once open, the full limits apply: a 200 KB stanza in the same chunk as the last features is read", async () => {
  // The recipient may send a stanza right after its features: the initiator
  // reads them in one chunk, and must switch limits exactly between the two.
  const [a, b] = pair();
  const initiator = new Session({
    role: "initiator",
    transport: a,
    to: "pronto",
    tls: "off",
  });
  const negotiated = initiator.negotiate();
  const body = "b".repeat(200_000);
  await b.write(
    enc.encode(
      `${REPLY}<stream:features/><message id='big'><body>${body}</body></message>`,
    ),
  );
  await negotiated;
  const got = await firstValueFrom(initiator.stanzas$);
  assert.equal(got.attrs.id, "big");
  assert.equal(got.getChildText("body")?.length, 200_000);
  b.close();
  await initiator.closed;
});

Deno.test("once open, a stanza over the full limit still ends the stream with policy-violation", async () => {
  const [a, b] = pair();
  const initiator = new Session({
    role: "initiator",
    transport: a,
    to: "pronto",
    tls: "off",
  });
  const negotiated = initiator.negotiate();
  await b.write(
    enc.encode(
      `${REPLY}<stream:features/><message><body>${
        "b".repeat(300_000)
      }</body></message>`,
    ),
  );
  await negotiated;
  const error = await firstValueFrom(initiator.stanzas$).catch((e) => e);
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "policy-violation");
  assert.match(error.message, /262144/);
  await initiator.closed;
});
