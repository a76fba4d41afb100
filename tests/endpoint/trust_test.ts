// Who the peer is: stream addresses checked both ways (RFC 6120 section
// 4.7), and one `trust` option (CA certificates, a pin, trust on first use)
// on initiate() and listen(), over TCP and TLS on loopback.

import assert from "node:assert/strict";
import {
  type E2EListener,
  type E2EStream,
  initiate,
  type InitiateOptions,
  listen,
  type ListenerFailure,
  type ListenOptions,
} from "../../src/e2e.ts";
import { StreamError } from "../../src/stream/errors.ts";
import { CertificateError } from "../../src/transport/cert_policy.ts";
import {
  generateCertificate,
  type GeneratedCertificate,
} from "../../src/transport/certificate.ts";
import {
  KnownPeers,
  PeerChangedError,
} from "../../src/transport/known_peers.ts";
import { badCertificates } from "../transport/_bad_certs.ts";
import { nodeServer, SERVER_HEADER } from "../hardening/_raw_peers.ts";
import { within } from "../transport/_helpers.ts";

const juliet = await generateCertificate({ names: ["pronto"] });
const julietAgain = await generateCertificate({ names: ["pronto"] });
const romeo = await generateCertificate({ names: ["forza"] });
const romeoAgain = await generateCertificate({ names: ["forza"] });

/** juliet@pronto listening with `certificate`; every stream accepted. */
async function listening(
  options: Partial<ListenOptions> = {},
  certificate: GeneratedCertificate = juliet,
) {
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    ...options,
  });
  const streams: E2EStream[] = [];
  const failures: ListenerFailure[] = [];
  listener.failures$.subscribe((failure) => failures.push(failure));
  const accepting = (async () => {
    for await (const stream of listener) streams.push(stream);
  })();
  return {
    listener,
    streams,
    failures,
    async close() {
      await listener.close();
      await accepting;
      await Promise.all(streams.map((s) => s.close()));
    },
  };
}

function dial(
  listener: E2EListener,
  options: Partial<InitiateOptions> = {},
): Promise<E2EStream> {
  return within(
    10_000,
    initiate({
      from: "romeo@forza",
      to: "juliet@pronto",
      hostname: "127.0.0.1",
      port: listener.addr.port,
      ...options,
    }),
  );
}

/** Waits until `condition()` holds (10 s at most). */
async function until(condition: () => boolean): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > 10_000) throw new Error("Never happened");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("a recipient answers a to it does not serve with host-unknown", async () => {
  const j = await listening();
  try {
    await assert.rejects(
      dial(j.listener, {
        to: "juliet@verona",
        trust: { caCerts: [juliet.certPem] },
      }),
      (error) =>
        error instanceof StreamError && error.condition === "host-unknown" &&
        !error.sent,
    );
    await until(() => j.failures.length === 1);
    const failure = j.failures[0]!.error;
    assert.ok(failure instanceof StreamError && failure.sent);
    assert.equal(failure.condition, "host-unknown");
  } finally {
    await j.close();
  }
});

Deno.test("a recipient serves each of its addresses, and answers from the one asked for", async () => {
  const j = await listening({
    addresses: ["juliet@pronto", "JULIET@Capulet.example"],
  });
  try {
    const stream = await dial(j.listener, {
      to: "juliet@capulet.example",
      serverName: "pronto",
      trust: { caCerts: [juliet.certPem] },
    });
    assert.equal(stream.info.peer?.from, "JULIET@Capulet.example");
    assert.equal(stream.info.peerAddress, "juliet@capulet.example");
    assert.deepEqual(await stream.close(), { clean: true });
  } finally {
    await j.close();
  }
});

Deno.test("an initiator answered from another address than it asked for ends with invalid-from, and trusts nothing", async () => {
  let written = "";
  const impostor = await nodeServer(async (peer) => {
    await peer.readUntil("version='1.0'>");
    // SERVER_HEADER is juliet@pronto; we ask for juliet@verona.
    await peer.write(SERVER_HEADER);
    written = await peer.readToEnd();
  });
  const asked: string[] = [];
  const store = await KnownPeers.open({
    approve: (peer) => {
      asked.push(peer);
      return true;
    },
  });
  await assert.rejects(
    within(
      10_000,
      initiate({
        from: "romeo@forza",
        to: "juliet@verona",
        hostname: "127.0.0.1",
        port: impostor.port,
        trust: { knownPeers: store },
      }),
    ),
    (error) =>
      error instanceof StreamError && error.condition === "invalid-from" &&
      error.sent,
  );
  await within(10_000, impostor.done);
  assert.match(written, /<invalid-from xmlns=/);
  assert.deepEqual(asked, []);
  assert.deepEqual(store.entries(), []);
});

Deno.test("trust on first use as initiator, over the default transport: approved once, known after, refused loudly when the certificate changes", async () => {
  const asked: [string, string][] = [];
  const store = await KnownPeers.open({
    approve: (peer, fingerprint) => {
      asked.push([peer, fingerprint]);
      return true;
    },
  });
  const first = await listening();
  try {
    for (let i = 0; i < 2; i++) {
      const stream = await dial(first.listener, {
        trust: { knownPeers: store },
      });
      assert.equal(stream.info.trustedBy, "known-peers");
      assert.equal(stream.info.tls?.stack, "node:tls"); // shows the certificate
      assert.equal(stream.info.peerAddress, "juliet@pronto");
      assert.equal(stream.info.tls?.peerFingerprint256, juliet.fingerprint256);
      assert.deepEqual(await stream.close(), { clean: true });
    }
    assert.deepEqual(asked, [["juliet@pronto", juliet.fingerprint256]]);
  } finally {
    await first.close();
  }
  const changed = await listening({}, julietAgain);
  try {
    await assert.rejects(
      dial(changed.listener, { trust: { knownPeers: store } }),
      (error) =>
        error instanceof PeerChangedError &&
        error instanceof CertificateError &&
        error.reason === "peer-changed" &&
        error.actual === julietAgain.fingerprint256,
    );
    assert.equal(store.get("juliet@pronto"), juliet.fingerprint256);
  } finally {
    await changed.close();
  }
});

Deno.test("trust on first use as recipient: keyed on the initiator's from, checked before anything else, a changed certificate refused", async () => {
  const asked: string[] = [];
  const store = await KnownPeers.open({
    approve: (peer) => {
      asked.push(peer);
      return true;
    },
  });
  const j = await listening({ trust: { knownPeers: store } });
  try {
    const stream = await dial(j.listener, {
      trust: { pinnedFingerprint256: juliet.fingerprint256 },
      clientCertificate: { cert: romeo.certPem, key: romeo.keyPem },
    });
    assert.deepEqual(await stream.close(), { clean: true });
    await until(() => j.streams.length === 1);
    assert.equal(j.streams[0]!.info.trustedBy, "known-peers");
    assert.equal(j.streams[0]!.info.peerAddress, "romeo@forza");
    assert.equal(
      j.streams[0]!.info.tls?.peerFingerprint256,
      romeo.fingerprint256,
    );
    assert.deepEqual(asked, ["romeo@forza"]);
    // romeo comes back with another certificate: told, under TLS.
    const refused = (error: unknown) =>
      error instanceof StreamError && error.condition === "not-authorized" &&
      !error.sent && /SECURITY/.test(error.text ?? "");
    await assert.rejects(
      dial(j.listener, {
        trust: { pinnedFingerprint256: juliet.fingerprint256 },
        clientCertificate: { cert: romeoAgain.certPem, key: romeoAgain.keyPem },
      }),
      refused,
    );
    await until(() => j.failures.length === 1);
    assert.ok(j.failures[0]!.error instanceof PeerChangedError);
    // And without a certificate at all.
    await assert.rejects(
      dial(j.listener, {
        trust: { pinnedFingerprint256: juliet.fingerprint256 },
      }),
    );
    await until(() => j.failures.length === 2);
    const none = j.failures[1]!.error;
    assert.ok(none instanceof CertificateError && none.reason === "untrusted");
    assert.equal(store.get("romeo@forza"), romeo.fingerprint256);
  } finally {
    await j.close();
  }
});

Deno.test("a recipient trusting CA certificates wants a client certificate issued by one of them for the domain of the initiator's from", async () => {
  const certs = await badCertificates();
  const forza = await certs.leaf(["forza"]);
  const elsewhere = await certs.leaf(["elsewhere.example"]);
  const j = await listening({ trust: { caCerts: [certs.ca.certPem] } });
  const client = (cert: { certPem: string; keyPem: string }) =>
    dial(j.listener, {
      trust: { pinnedFingerprint256: juliet.fingerprint256 },
      clientCertificate: { cert: cert.certPem, key: cert.keyPem },
    });
  try {
    const stream = await client(forza);
    assert.deepEqual(await stream.close(), { clean: true });
    await assert.rejects(client(elsewhere));
    await assert.rejects(client(romeo)); // self-signed: no trusted issuer
    await until(() => j.failures.length === 2);
    const reasons = j.failures.map((f) => (f.error as CertificateError).reason);
    assert.deepEqual(reasons, ["name-mismatch", "untrusted"]);
  } finally {
    await j.close();
  }
});

Deno.test("initiate() and listen() refuse contradictory trust options at once", async () => {
  const store = await KnownPeers.open();
  await assert.rejects(
    initiate({
      to: "juliet@pronto",
      hostname: "127.0.0.1",
      port: 1,
      trust: { knownPeers: store },
      caCerts: [juliet.certPem],
    }),
    TypeError,
  );
  await assert.rejects(
    initiate({
      to: "juliet@pronto",
      hostname: "127.0.0.1",
      port: 1,
      trust: { pinnedFingerprint256: "not a fingerprint" },
    }),
    TypeError,
  );
  await assert.rejects(
    listen({
      from: "juliet@pronto",
      certificate: { cert: juliet.certPem, key: juliet.keyPem },
      trust: { knownPeers: store },
      pinnedPeerFingerprint256: romeo.fingerprint256,
    }),
    TypeError,
  );
});
