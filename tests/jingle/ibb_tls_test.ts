// STARTTLS inside an In-Band Bytestream: a complete encrypted stream in
// both roles, the outer streams (what the servers would relay) carrying
// only ciphertext, a wrong certificate refused, and a vanished peer ending
// the inner stream with the bytestream's error in its causes.

import { causes } from "./_causes.ts";
import assert from "node:assert/strict";
import { filter, firstValueFrom } from "rxjs";
import { E2EStream, initiate } from "../../src/e2e.ts";
import { Session } from "../../src/stream/session.ts";
import { message } from "../../src/stanza/stanza.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import { CertificateError } from "../../src/transport/cert_policy.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { IbbError, type IbbTransport, withTls } from "../../src/jingle/mod.ts";
import { decodeBase64 } from "../../src/sasl/_base64.ts";
import { exchangeAndClose, openIbb, type Outer, outer } from "./_ibb_pair.ts";

const COUNT = 1000;
const SECRET = "Wherefore art thou";
const cert = await generateCertificate({ names: ["juliet@pronto"] });
const other = await generateCertificate({ names: ["juliet@pronto"] });

/** The bytes of every data packet Juliet's outer stream received, decoded. */
function payloads(streams: Outer): { text: () => string; stop: () => void } {
  const seen: Uint8Array[] = [];
  const sub = streams.juliet.trace$.pipe(
    filter((entry) => entry.direction === "in"),
  ).subscribe((entry) => {
    for (const m of entry.text.matchAll(/<data [^>]*>([^<]*)<\/data>/g)) {
      seen.push(decodeBase64(m[1]!)!);
    }
  });
  return {
    text: () => seen.map((b) => new TextDecoder().decode(b)).join(""),
    stop: () => sub.unsubscribe(),
  };
}

function secured(
  client: IbbTransport,
  server: IbbTransport,
  pin = cert.fingerprint256,
): [Transport, Transport] {
  return [
    withTls(client, {
      role: "client",
      serverName: "juliet@pronto",
      tls: { pinnedFingerprint256: pin },
    }),
    withTls(server, {
      role: "server",
      tls: { key: cert.keyPem, cert: cert.certPem },
    }),
  ];
}

async function inner(initiatorEnd: Transport, recipientEnd: Transport) {
  const recipient = new Session({
    role: "recipient",
    transport: recipientEnd,
    from: "juliet@pronto",
  });
  const [initiator] = await Promise.all([
    initiate({
      transport: initiatorEnd,
      from: "romeo@forza",
      to: "juliet@pronto",
    }),
    recipient.negotiate(),
  ]);
  return { initiator, recipient: new E2EStream(recipient) };
}

for (const opener of ["initiator", "recipient"] as const) {
  Deno.test(`an encrypted inner stream whose ${opener} opened the bytestream carries 1,000 stanzas each way, and the outer streams only ciphertext`, async () => {
    const streams = await outer();
    const relayed = payloads(streams);
    const { mine, hers } = await openIbb(streams);
    // Romeo opened the bytestream; he is the TLS client or server.
    const [client, server] = opener === "initiator"
      ? secured(mine, hers)
      : secured(hers, mine);
    const { initiator, recipient } = await inner(client, server);
    assert.equal(initiator.info.encrypted, true);
    assert.equal(initiator.info.tls?.peerFingerprint256, cert.fingerprint256);

    const expected = Array.from({ length: COUNT }, (_, i) => `${SECRET} ${i}`);
    await exchangeAndClose(initiator, recipient, expected);
    await Promise.all([mine.closed, hers.closed]);
    relayed.stop();
    const text = relayed.text();
    assert.ok(text.includes("<stream:stream"), "the inner header is relayed");
    assert.ok(text.length > COUNT * SECRET.length);
    assert.ok(!text.includes(SECRET), "no plaintext message is relayed");
    await streams.close();
  });
}

Deno.test("the plaintext of an inner stream without TLS is what the outer streams carry", async () => {
  const streams = await outer();
  const relayed = payloads(streams);
  const { mine, hers } = await openIbb(streams);
  const recipient = new Session({
    role: "recipient",
    transport: hers,
    from: "juliet@pronto",
    tls: "off",
  });
  const [initiator] = await Promise.all([
    initiate({
      transport: mine,
      from: "romeo@forza",
      to: "juliet@pronto",
      tls: "off",
    }),
    recipient.negotiate(),
  ]);
  const heard = firstValueFrom(new E2EStream(recipient).stanzas$);
  await initiator.send(message({ body: SECRET }));
  await heard;
  await Promise.all([initiator.close(), recipient.closed]);
  await Promise.all([mine.closed, hers.closed]);
  relayed.stop();
  assert.ok(relayed.text().includes(SECRET));
  await streams.close();
});

Deno.test("a certificate other than the pinned one is refused inside the bytestream, and both ends end", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams);
  const [client, server] = secured(mine, hers, other.fingerprint256);
  const recipient = new Session({
    role: "recipient",
    transport: server,
    from: "juliet@pronto",
  });
  const [initiated, negotiated] = await Promise.allSettled([
    initiate({ transport: client, from: "romeo@forza", to: "juliet@pronto" }),
    recipient.negotiate(),
  ]);
  assert.equal(initiated.status, "rejected");
  let cause: unknown = initiated.status === "rejected"
    ? initiated.reason
    : undefined;
  while (cause instanceof Error && !(cause instanceof CertificateError)) {
    cause = cause.cause;
  }
  assert.ok(cause instanceof CertificateError, String(initiated));
  assert.equal(cause.reason, "pin-mismatch");
  assert.equal(negotiated.status, "rejected");
  await recipient.closed;
  await Promise.all([mine.closed, hers.closed]);
  await streams.close();
});

Deno.test("an encrypted inner stream whose outer stream vanishes ends unclean with the bytestream's error among its causes", async () => {
  const streams = await outer();
  const { mine, hers } = await openIbb(streams);
  const { initiator, recipient } = await inner(...secured(mine, hers));
  streams.julietWire.close();
  for (const ended of await Promise.all([initiator.closed, recipient.closed])) {
    assert.equal(ended.clean, false);
    const cause = causes(ended.error).find((e) => e instanceof IbbError);
    assert.ok(
      cause instanceof IbbError && cause.reason === "stream-ended",
      String(ended.error),
    );
  }
  await Promise.all([mine.closed, hers.closed]);
  await Promise.all([streams.romeo.closed, streams.juliet.closed]);
});
