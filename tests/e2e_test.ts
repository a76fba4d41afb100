import assert from "node:assert/strict";
import { firstValueFrom, lastValueFrom, take, toArray } from "rxjs";
import { initiate, listen } from "../src/e2e.ts";
import { NegotiationError, TimeoutError } from "../src/stream/errors.ts";
import { iq, iqResult, message } from "../src/stanza/stanza.ts";
import { StanzaError } from "../src/stanza/error.ts";
import { xml } from "../src/stanza/xml.ts";
import { generateCertificate } from "../src/transport/certificate.ts";
import { INSECURE_SKIP_VERIFY } from "../src/transport/node_tcp.ts";
import { KnownPeers, PeerChangedError } from "../src/transport/known_peers.ts";

const certificate = await generateCertificate({ names: ["pronto"] });
const other = await generateCertificate({ names: ["elsewhere"] });

async function connected(options: { iqTimeoutMs?: number } = {}) {
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    ...options,
  });
  const accepted = listener.accept();
  const romeo = await initiate({
    from: "romeo@forza",
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCerts: [certificate.certPem],
    ...options,
  });
  const juliet = (await accepted)!;
  return { listener, romeo, juliet };
}

Deno.test("initiate() and listen() open a STARTTLS stream, exchange stanzas and close in order", async () => {
  const { listener, romeo, juliet } = await connected();
  assert.equal(romeo.state, "open");
  assert.ok(romeo.info.tls, "TLS in place on the initiator");
  assert.equal(juliet.info.tls?.protocol, "TLSv1.3");
  assert.equal(romeo.info.peer?.from, "juliet@pronto");
  assert.equal(juliet.info.peer?.from, "romeo@forza");
  assert.equal(romeo.info.id, juliet.info.id);
  const got = firstValueFrom(juliet.stanzas$);
  await romeo.send(message({ to: "juliet@pronto", body: "Hi" }));
  assert.equal((await got).getChildText("body"), "Hi");
  const [r, j] = await Promise.all([romeo.close(), juliet.closed]);
  assert.deepEqual([r, j], [{ clean: true }, { clean: true }]);
  await listener.close();
});

Deno.test("request() gets the handler's result; an unhandled iq gets service-unavailable", async () => {
  const { listener, romeo, juliet } = await connected();
  juliet.onIq((request) =>
    request.getChild("ping", "urn:xmpp:ping") ? iqResult(request) : undefined
  );
  const pong = await romeo.request(
    iq(
      { type: "get", to: "juliet@pronto" },
      xml("ping", { xmlns: "urn:xmpp:ping" }),
    ),
  );
  assert.equal(pong.attrs.type, "result");
  await assert.rejects(
    () =>
      romeo.request(
        iq(
          { type: "get", to: "juliet@pronto" },
          xml("query", { xmlns: "urn:unknown" }),
        ),
      ),
    (e: unknown) =>
      e instanceof StanzaError && e.condition === "service-unavailable",
  );
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();
});

Deno.test("request() times out with a TimeoutError when nothing answers", async () => {
  const { listener, romeo, juliet } = await connected({ iqTimeoutMs: 100 });
  // Juliet's handler never answers in time.
  juliet.onIq(() => new Promise(() => {}));
  await assert.rejects(
    () =>
      romeo.request(
        iq(
          { type: "get", to: "juliet@pronto" },
          xml("ping", { xmlns: "urn:xmpp:ping" }),
        ),
      ),
    TimeoutError,
  );
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();
});

Deno.test("A TLS stream loses nothing: 10,000 stanzas each way, then an immediate close", async () => {
  const { listener, romeo, juliet } = await connected();
  const N = 10_000;
  const atJuliet = lastValueFrom(juliet.stanzas$.pipe(toArray()));
  const atRomeo = lastValueFrom(romeo.stanzas$.pipe(toArray()));
  for (let n = 0; n < N; n++) {
    romeo.send(message({ to: "juliet@pronto", id: `r${n}`, body: `${n}` }));
    juliet.send(message({ to: "romeo@forza", id: `j${n}`, body: `${n}` }));
  }
  const closed = romeo.close();
  const [toJuliet, toRomeo, result] = await Promise.all([
    atJuliet,
    atRomeo,
    closed,
  ]);
  assert.deepEqual(result, { clean: true });
  assert.deepEqual(await juliet.closed, { clean: true });
  assert.equal(toJuliet.length, N);
  assert.equal(toRomeo.length, N);
  toJuliet.forEach((s, n) => assert.equal(s.attrs.id, `r${n}`));
  toRomeo.forEach((s, n) => assert.equal(s.attrs.id, `j${n}`));
  await listener.close();
});

Deno.test("initiate() stops when the peer offers no STARTTLS, unless TLS is turned off by name", async () => {
  const listener = await listen({ from: "juliet@pronto", tls: "off" });
  const first = listener.accept();
  await assert.rejects(
    () =>
      initiate({
        to: "juliet@pronto",
        hostname: "127.0.0.1",
        port: listener.addr.port,
        caCerts: [certificate.certPem],
      }),
    NegotiationError,
  );
  // The recipient saw a plaintext stream that its initiator then closed.
  const abandoned = (await first)!;
  abandoned.stanzas$.subscribe({ error() {} });
  await abandoned.closed;
  const accepted = listener.accept();
  const plain = initiate({
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    tls: "off",
  });
  const [romeo, juliet] = await Promise.all([plain, accepted]);
  assert.equal(romeo.info.tls, undefined);
  await Promise.all([romeo.close(), juliet!.closed]);
  await listener.close();
});

Deno.test("initiate() refuses a certificate for another name, and accepts exactly a pinned one", async () => {
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: other.certPem, key: other.keyPem },
  });
  // Accept (and negotiate) in the background, as a server would.
  const streams = (async () => {
    const accepted = [];
    for await (const stream of listener) accepted.push(stream);
    return accepted;
  })();
  const base = {
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
  };
  await assert.rejects(() => initiate({ ...base, caCerts: [other.certPem] }));
  await assert.rejects(() =>
    initiate({ ...base, pinnedFingerprint256: certificate.fingerprint256 })
  );
  const romeo = await initiate({
    ...base,
    pinnedFingerprint256: other.fingerprint256,
  });
  assert.equal(romeo.info.tls?.peerFingerprint256, other.fingerprint256);
  await romeo.close();
  await listener.close();
  const accepted = await streams;
  assert.equal(accepted.length, 1);
  assert.deepEqual(await accepted[0]!.closed, { clean: true });
});

Deno.test("stanzas$ keeps stanzas that arrive before anyone subscribes", async () => {
  const { listener, romeo, juliet } = await connected();
  await romeo.send(message({ to: "juliet@pronto", id: "early" }));
  await romeo.send(message({ to: "juliet@pronto", id: "early2" }));
  await new Promise((r) => setTimeout(r, 50));
  const ids = await firstValueFrom(juliet.stanzas$.pipe(take(2), toArray()));
  assert.deepEqual(ids.map((s) => s.attrs.id), ["early", "early2"]);
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();
});

Deno.test("An iq handler that throws answers internal-server-error", async () => {
  const { listener, romeo, juliet } = await connected();
  juliet.onIq(() => {
    throw new Error("boom");
  });
  await assert.rejects(
    () =>
      romeo.request(
        iq({ type: "set", to: "juliet@pronto" }, xml("q", { xmlns: "urn:x" })),
      ),
    (e: unknown) =>
      e instanceof StanzaError && e.condition === "internal-server-error",
  );
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();
});

Deno.test("Answering 2,000 iq requests needs no subscriber to stanzas$", async () => {
  const { listener, romeo, juliet } = await connected();
  juliet.onIq((request) => iqResult(request));
  for (let i = 0; i < 2000; i++) {
    await romeo.request(
      iq(
        { type: "get", to: "juliet@pronto" },
        xml("ping", { xmlns: "urn:xmpp:ping" }),
      ),
    );
  }
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close();
});

Deno.test("listen() with a pinned client certificate refuses any other initiator", async () => {
  const romeoCert = await generateCertificate({ names: ["forza"] });
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    pinnedPeerFingerprint256: romeoCert.fingerprint256,
  });
  const streams = (async () => {
    const accepted = [];
    for await (const stream of listener) accepted.push(stream);
    return accepted;
  })();
  const base = {
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    pinnedFingerprint256: certificate.fingerprint256,
  };
  // Another certificate, then none at all: both refused.
  await assert.rejects(() =>
    initiate({
      ...base,
      clientCertificate: { cert: other.certPem, key: other.keyPem },
    })
  );
  await assert.rejects(() => initiate(base));
  const romeo = await initiate({
    ...base,
    clientCertificate: { cert: romeoCert.certPem, key: romeoCert.keyPem },
  });
  await romeo.close();
  await listener.close();
  const accepted = await streams;
  assert.equal(accepted.length, 1);
  assert.equal(
    accepted[0]!.info.tls?.peerFingerprint256,
    romeoCert.fingerprint256,
  );
});

Deno.test("Trust on first use: the first certificate is approved, the same one passes, a changed one fails loudly", async () => {
  const asked: string[] = [];
  const peers = await KnownPeers.open({
    approve: (peer, fingerprint) => {
      asked.push(`${peer} ${fingerprint}`);
      return true;
    },
  });
  async function connectTo(cert: typeof certificate) {
    const listener = await listen({
      from: "juliet@pronto",
      certificate: { cert: cert.certPem, key: cert.keyPem },
    });
    const accepted = listener.accept().catch(() => null);
    try {
      const romeo = await initiate({
        to: "juliet@pronto",
        hostname: "127.0.0.1",
        port: listener.addr.port,
        // No PKI: any certificate gets through TLS, then the store decides.
        insecureSkipVerify: INSECURE_SKIP_VERIFY,
        verifyTls: (tls) =>
          peers.verify("juliet@pronto", tls.peerFingerprint256 ?? ""),
      });
      const juliet = (await accepted)!;
      await Promise.all([romeo.close(), juliet.closed]);
    } finally {
      await listener.close();
      await accepted;
    }
  }
  await connectTo(certificate);
  await connectTo(certificate);
  assert.equal(asked.length, 1);
  assert.equal(peers.get("juliet@pronto"), certificate.fingerprint256);
  await assert.rejects(() => connectTo(other), PeerChangedError);
  assert.equal(asked.length, 1);
});

Deno.test("A silent client holds up no other initiator at listen()", async () => {
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    negotiationTimeoutMs: 5_000,
  });
  const accepted = listener.accept();
  // Connects and says nothing, for longer than the initiator below may wait.
  const silent = await Deno.connect({
    hostname: "127.0.0.1",
    port: listener.addr.port,
  });
  await new Promise((r) => setTimeout(r, 50));
  const romeo = await initiate({
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCerts: [certificate.certPem],
    negotiationTimeoutMs: 1_000,
  });
  const juliet = (await accepted)!;
  await Promise.all([romeo.close(), juliet.closed]);
  await listener.close(); // cuts the silent client's negotiation
  const rest = new Uint8Array(1024);
  while ((await silent.read(rest)) !== null) {
    /* the stream error, then EOF */
  }
  silent.close();
});
