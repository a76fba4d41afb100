import assert from "node:assert/strict";
import { initiate, listen } from "../../src/e2e.ts";
import {
  sasl,
  type SaslClientOptions,
  type SaslServerOptions,
} from "../../src/negotiation/sasl.ts";
import {
  deriveScramCredentials,
  type ScramCredentials,
  type ScramHash,
} from "../../src/sasl/scram.ts";
import { SaslError } from "../../src/sasl/errors.ts";
import { NegotiationError, StreamError } from "../../src/stream/errors.ts";
import { Session } from "../../src/stream/session.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import { fakeTlsPair as fakeTls, pair } from "../stream/_pair.ts";

const certificate = await generateCertificate({ names: ["pronto"] });

/** A user store with keys derived once per hash; no password kept. */
async function store(users: Record<string, string>) {
  const keys = new Map<string, ScramCredentials>();
  for (const [name, password] of Object.entries(users)) {
    for (const hash of ["SHA-1", "SHA-256"] as ScramHash[]) {
      keys.set(
        `${hash}:${name}`,
        await deriveScramCredentials(password, hash, { iterations: 4096 }),
      );
    }
  }
  return (username: string, hash: ScramHash) =>
    Promise.resolve(keys.get(`${hash}:${username}`));
}

const credentials = await store({ romeo: "r0m30!" });

/**
 * An initiator with SASL `client` and a recipient with SASL `server`, over a
 * pair that pretends to start TLS, or in plaintext with `tls: "off"`.
 */
function saslSessions(
  client: SaslClientOptions,
  server: SaslServerOptions,
  tls: "fake" | "off" = "fake",
) {
  const [a, b] = tls === "fake" ? fakeTls() : pair();
  const policy = tls === "off" ? { tls: "off" as const } : {};
  const initiator = new Session({
    role: "initiator",
    transport: a,
    to: "pronto",
    ...policy,
    features: [sasl({ client })],
  });
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    ...policy,
    features: [sasl({ server })],
  });
  return { initiator, recipient };
}

Deno.test("SASL SCRAM-SHA-256 authenticates after STARTTLS, restarts, and sets both identities", async () => {
  const trace: string[] = [];
  const { initiator, recipient } = saslSessions(
    { username: "romeo", password: "r0m30!" },
    { credentials },
  );
  initiator.trace$.subscribe((e) => trace.push(e.text));
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  assert.equal(initiator.identity, "romeo");
  assert.equal(recipient.identity, "romeo");
  const all = trace.join("");
  assert.match(
    all,
    /<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>/,
  );
  assert.doesNotMatch(all, /<mechanism>PLAIN<\/mechanism>[\s\S]*<proceed/); // no PLAIN before TLS
  assert.equal([...all.matchAll(/<stream:stream /g)].length, 6); // 3 streams, both ways
  await Promise.all([initiator.close(), recipient.closed]);
});

Deno.test("SASL with a wrong password fails with not-authorized, typed", async () => {
  const { initiator, recipient } = saslSessions(
    { username: "romeo", password: "wrong" },
    { credentials },
  );
  const [i, r] = await Promise.all([
    initiator.negotiate().catch((e) => e),
    recipient.negotiate().catch((e) => e),
  ]);
  assert.ok(i instanceof NegotiationError);
  assert.equal(i.feature, "sasl");
  assert.ok(i.cause instanceof SaslError);
  assert.equal(i.cause.condition, "not-authorized");
  assert.ok(r instanceof Error);
  assert.equal(initiator.identity, undefined);
  assert.equal(recipient.identity, undefined);
});

Deno.test("SASL PLAIN works only over TLS, against stored SCRAM keys", async () => {
  const plainOnly = {
    client: { username: "romeo", password: "r0m30!", mechanisms: ["PLAIN"] },
    server: { credentials, mechanisms: ["PLAIN"] },
  } as const;
  const { initiator, recipient } = saslSessions(
    plainOnly.client,
    plainOnly.server,
  );
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  assert.equal(recipient.identity, "romeo");
  await Promise.all([initiator.close(), recipient.closed]);

  // Without TLS (turned off by name), PLAIN is never offered.
  const plaintext = saslSessions(plainOnly.client, plainOnly.server, "off");
  const plainInitiator = plaintext.initiator;
  const plainRecipient = plaintext.recipient;
  const [error] = await Promise.all([
    plainInitiator.negotiate().catch((e) => e),
    plainRecipient.negotiate().catch((e) => e),
  ]);
  assert.ok(error instanceof NegotiationError);
  assert.match(error.message, /No SASL mechanism in common/);
});

Deno.test("SCRAM-SHA-256-PLUS binds to the TLS channel between our two endpoints", async () => {
  const listener = await listen({
    from: "pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    features: [
      sasl({ server: { credentials, certificate: certificate.certPem } }),
    ],
  });
  const trace: string[] = [];
  const accepted = listener.accept();
  const romeo = await initiate({
    from: "romeo@forza",
    to: "pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    pinnedFingerprint256: certificate.fingerprint256, // node:tls: exposes the certificate
    features: [sasl({ client: { username: "romeo", password: "r0m30!" } })],
    trace: (e) => trace.push(e.text),
  });
  const juliet = (await accepted)!;
  assert.match(trace.join(""), /mechanism='SCRAM-SHA-256-PLUS'/);
  assert.equal(juliet.info.identity, "romeo");
  assert.equal(romeo.info.identity, "romeo");
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();
});

Deno.test("SASL EXTERNAL takes the identity from the initiator's client certificate", async () => {
  const romeoCert = await generateCertificate({ names: ["forza"] });
  const listener = await listen({
    from: "pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    requestClientCertificate: true,
    features: [
      sasl({
        server: {
          credentials,
          external: (tls) =>
            tls.peerFingerprint256 === romeoCert.fingerprint256
              ? "romeo@forza"
              : undefined,
        },
      }),
    ],
  });
  const trace: string[] = [];
  const accepted = listener.accept();
  const romeo = await initiate({
    to: "pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    pinnedFingerprint256: certificate.fingerprint256,
    clientCertificate: { cert: romeoCert.certPem, key: romeoCert.keyPem },
    features: [
      sasl({ client: { username: "romeo@forza", mechanisms: ["EXTERNAL"] } }),
    ],
    trace: (e) => trace.push(e.text),
  });
  const juliet = (await accepted)!;
  assert.match(trace.join(""), /mechanism='EXTERNAL'/);
  assert.equal(juliet.info.identity, "romeo@forza");
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();
});

Deno.test("SASL ANONYMOUS is used only when both ends opt in", async () => {
  const guest = { username: "guest", mechanisms: ["ANONYMOUS"] } as const;
  const { initiator, recipient } = saslSessions(guest, {
    credentials,
    anonymous: true,
  });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  assert.match(recipient.identity ?? "", /^anonymous-/);
  await Promise.all([initiator.close(), recipient.closed]);

  const { initiator: refused, recipient: strict } = saslSessions(guest, {
    credentials,
  });
  const [error] = await Promise.all([
    refused.negotiate().catch((e) => e),
    strict.negotiate().catch((e) => e),
  ]);
  assert.ok(error instanceof NegotiationError);
  assert.match(error.message, /No SASL mechanism in common/);
});

Deno.test("SASL closes the stream after 3 failed attempts with policy-violation", async () => {
  const [a, b] = fakeTls();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    features: [sasl({ server: { credentials, mechanisms: ["PLAIN"] } })],
  });
  const negotiated = recipient.negotiate().catch((e) => e);
  const enc = new TextEncoder();
  const header =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>";
  await a.write(
    enc.encode(header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
  );
  await a.write(enc.encode(header));
  const bad = btoa("\0romeo\0nope");
  for (let i = 0; i < 3; i++) {
    await a.write(
      enc.encode(
        `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>${bad}</auth>`,
      ),
    );
  }
  const error = await negotiated;
  assert.ok(error instanceof StreamError);
  assert.equal(error.condition, "policy-violation");
  const sent = b.writtenText();
  assert.equal([...sent.matchAll(/<not-authorized\/>/g)].length, 3);
  a.close();
});

Deno.test("SASL answers an unknown mechanism, bad base64 and an abort with their conditions", async () => {
  const [a, b] = fakeTls();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    features: [sasl({ server: { credentials, maxAttempts: 5 } })],
  });
  const negotiated = recipient.negotiate().catch((e) => e);
  const enc = new TextEncoder();
  const header =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>";
  await a.write(
    enc.encode(header + "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
  );
  await a.write(enc.encode(header));
  const SASL = "urn:ietf:params:xml:ns:xmpp-sasl";
  await a.write(
    enc.encode(`<auth xmlns='${SASL}' mechanism='DIGEST-MD5'>=</auth>`),
  );
  await a.write(
    enc.encode(`<auth xmlns='${SASL}' mechanism='PLAIN'>***</auth>`),
  );
  await a.write(
    enc.encode(
      `<auth xmlns='${SASL}' mechanism='SCRAM-SHA-256'>${
        btoa("n,,n=romeo,r=abcdefgh")
      }</auth>`,
    ),
  );
  await a.write(enc.encode(`<abort xmlns='${SASL}'/>`));
  // Wait until the three failures went out, then hang up.
  for (let i = 0; i < 100; i++) {
    const sent = b.writtenText();
    if ((sent.match(/<failure /g) ?? []).length >= 3) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const sent = b.writtenText();
  assert.match(
    sent,
    /<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><invalid-mechanism\/>/,
  );
  assert.match(
    sent,
    /<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><incorrect-encoding\/>/,
  );
  assert.match(
    sent,
    /<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><aborted\/>/,
  );
  a.close();
  await negotiated;
});

Deno.test("SCRAM-SHA-512 is preferred by the initiator, but offered by the recipient only when listed", async () => {
  const keys512 = await deriveScramCredentials("r0m30!", "SHA-512");
  const withSha512 = (username: string, hash: ScramHash) =>
    hash === "SHA-512"
      ? Promise.resolve(username === "romeo" ? keys512 : undefined)
      : credentials(username, hash);
  const romeo = { username: "romeo", password: "r0m30!" };

  const plain = saslSessions(romeo, { credentials: withSha512 });
  await Promise.all([plain.initiator.negotiate(), plain.recipient.negotiate()]);
  assert.equal(plain.recipient.sasl?.mechanism, "SCRAM-SHA-256");
  await Promise.all([plain.initiator.close(), plain.recipient.closed]);

  const listed = saslSessions(romeo, {
    credentials: withSha512,
    mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-512"],
  });
  await Promise.all([
    listed.initiator.negotiate(),
    listed.recipient.negotiate(),
  ]);
  const expected = { mechanism: "SCRAM-SHA-512", channelBinding: undefined };
  assert.deepEqual(listed.initiator.sasl, expected);
  assert.deepEqual(listed.recipient.sasl, expected);
  await Promise.all([listed.initiator.close(), listed.recipient.closed]);
});
