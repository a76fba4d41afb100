/**
 * The peer vanishes at each step, over real loopback TCP (and TLS): every
 * case ends with a typed error (or a clean close where that is the truth),
 * releases every resource (the test sanitizers stay on) and leaves no
 * unhandled rejection.
 *
 * The peers here are raw sockets written in the test (some from
 * `_raw_peers.ts`, which also upgrade to TLS), so that each test decides
 * exactly when the peer disappears: mid-header, around STARTTLS, mid-TLS
 * handshake, mid-SASL (both roles), mid-stanza, or around the close.
 */

import assert from "node:assert/strict";
import { lastValueFrom } from "rxjs";
import { type E2EStream, initiate, listen } from "../../src/e2e.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import { deriveScramCredentials, ScramServer } from "../../src/sasl/scram.ts";
import { TimeoutError } from "../../src/stream/errors.ts";
import { Session } from "../../src/stream/session.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import { listenTcp } from "../../src/transport/node_tcp.ts";
import { TransportError } from "../../src/transport/transport.ts";
import {
  base64,
  CLIENT_HEADER,
  DenoClient,
  nodeServer,
  noUnhandledRejection,
  SASL_NS,
  SERVER_HEADER,
  STARTTLS_FEATURES,
  TLS_NS,
  unbase64,
  within,
} from "./_raw_peers.ts";

const certificate = await generateCertificate({ names: ["pronto"] });

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw peer's side of one connection. */
class RawPeer {
  readonly conn: Deno.Conn;
  #seen = "";
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.conn = conn;
  }

  /** Reads until `text` has been seen (since the last call); null on EOF. */
  async readUntil(text: string): Promise<string | null> {
    const buffer = new Uint8Array(4096);
    for (;;) {
      const at = this.#seen.indexOf(text);
      if (at >= 0) {
        const upTo = this.#seen.slice(0, at + text.length);
        this.#seen = this.#seen.slice(at + text.length);
        return upTo;
      }
      const n = await this.read(buffer);
      if (n === null) return null;
      this.#seen += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  }

  /** Reads raw bytes; null on EOF or reset. */
  async read(buffer: Uint8Array): Promise<number | null> {
    try {
      return await this.conn.read(buffer);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) return null;
      throw error;
    }
  }

  /** Reads until the other end closes; returns what came. */
  async readToEnd(): Promise<string> {
    const buffer = new Uint8Array(4096);
    let all = this.#seen;
    this.#seen = "";
    for (;;) {
      const n = await this.read(buffer);
      if (n === null) return all;
      all += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  }

  async write(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    let offset = 0;
    while (offset < bytes.length) {
      offset += await this.conn.write(bytes.subarray(offset));
    }
  }

  /** The peer vanishes. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.conn.close();
  }
}

/**
 * A raw server on loopback that accepts exactly one connection and runs
 * `script` on it; the listener is closed once accepted.
 */
function rawServer(
  script: (peer: RawPeer) => Promise<void>,
): { port: number; done: Promise<void> } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const done = (async () => {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } finally {
      listener.close();
    }
    const peer = new RawPeer(conn);
    try {
      await script(peer);
    } finally {
      peer.close();
    }
  })();
  return { port, done };
}

const HEADER_1_0 = "<?xml version='1.0'?><stream:stream xmlns='jabber:client'" +
  " xmlns:stream='http://etherx.jabber.org/streams' from='juliet@pronto'" +
  " to='romeo@forza' id='s1' version='1.0'>";

/** Initiator options against a raw server, TLS required (the default). */
function tlsOptions(port: number) {
  return {
    from: "romeo@forza",
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port,
    caCerts: [certificate.certPem],
  };
}

/** Initiator options against a raw plaintext server (TLS off by name). */
function plainOptions(port: number) {
  return { ...tlsOptions(port), tls: "off" as const };
}

/**
 * The raw server side of a plaintext negotiation: our header in, its header
 * and empty features out.
 */
async function plainNegotiation(peer: RawPeer): Promise<void> {
  assert.notEqual(await peer.readUntil(">"), null, "our header");
  // The declaration ends with `?>`, the header with the next `>`.
  assert.notEqual(await peer.readUntil("version='1.0'>"), null);
  await peer.write(HEADER_1_0 + "<stream:features/>");
}

/** A stream negotiated in plaintext against a raw server. */
async function plainStream(
  script: (peer: RawPeer) => Promise<void>,
  options: { closeTimeoutMs?: number } = {},
): Promise<{ stream: E2EStream; done: Promise<void> }> {
  const server = rawServer(async (peer) => {
    await plainNegotiation(peer);
    await script(peer);
  });
  const stream = await initiate({ ...plainOptions(server.port), ...options });
  assert.equal(stream.state, "open");
  return { stream, done: server.done };
}

Deno.test("initiate() rejects with a TransportError when the peer closes in the middle of its header", async () => {
  const server = rawServer(async (peer) => {
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    await peer.write(
      "<stream:stream xmlns='jabber:client' xmlns:str",
    );
  });
  const error = await initiate(tlsOptions(server.port)).then(
    () => assert.fail("initiate() resolved"),
    (error: unknown) => error,
  );
  await server.done;
  assert.ok(error instanceof TransportError, String(error));
  assert.match(error.message, /before its stream header/);
  await noUnhandledRejection();
});

Deno.test("initiate() rejects with a TransportError when the peer closes after <starttls/> without answering", async () => {
  const server = rawServer(async (peer) => {
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    await peer.write(
      HEADER_1_0 +
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>" +
        "<required/></starttls></stream:features>",
    );
    assert.notEqual(await peer.readUntil("<starttls"), null, "<starttls/>");
    assert.notEqual(await peer.readUntil(">"), null);
  });
  const error = await initiate(tlsOptions(server.port)).then(
    () => assert.fail("initiate() resolved"),
    (error: unknown) => error,
  );
  await server.done;
  assert.ok(error instanceof TransportError, String(error));
  assert.match(error.message, /during negotiation/);
  await noUnhandledRejection();
});

Deno.test("initiate() rejects with a TransportError when the peer closes in the middle of the TLS handshake", async () => {
  let helloBytes = 0;
  const server = rawServer(async (peer) => {
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    await peer.write(
      HEADER_1_0 +
        "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'>" +
        "<required/></starttls></stream:features>",
    );
    assert.notEqual(await peer.readUntil("<starttls"), null);
    assert.notEqual(await peer.readUntil(">"), null);
    await peer.write("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
    // A few bytes of the ClientHello (a TLS handshake record: 0x16 0x03).
    const buffer = new Uint8Array(5);
    const n = await peer.read(buffer);
    assert.ok(n !== null && n > 0, "some ClientHello bytes");
    assert.equal(buffer[0], 0x16, "a TLS handshake record");
    helloBytes = n;
  });
  const error = await initiate(tlsOptions(server.port)).then(
    () => assert.fail("initiate() resolved"),
    (error: unknown) => error,
  );
  await server.done;
  assert.ok(helloBytes > 0);
  assert.ok(error instanceof TransportError, String(error));
  assert.match(error.message, /TLS/);
  await noUnhandledRejection();
});

Deno.test("accept() skips a client that hangs up in the middle of its header and still accepts the next one", async () => {
  const inbound: string[] = [];
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    trace: (entry) => {
      if (entry.direction === "in") inbound.push(entry.text);
    },
  });
  const accepted = listener.accept();
  const raw = new RawPeer(
    await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
  );
  await raw.write("<?xml version='1.0'?><stream:stream xmlns='jabber:cl");
  raw.close();
  const romeo = await initiate({
    from: "romeo@forza",
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    caCerts: [certificate.certPem],
  });
  const juliet = await accepted;
  assert.ok(juliet !== null);
  // The half header was read (by the stream that was skipped).
  assert.equal(
    inbound[0],
    "<?xml version='1.0'?><stream:stream xmlns='jabber:cl",
  );
  assert.equal(juliet.info.peer?.from, "romeo@forza");
  assert.ok(juliet.info.tls);
  const [r, j] = await Promise.all([romeo.close(), juliet.closed]);
  assert.deepEqual([r, j], [{ clean: true }, { clean: true }]);
  await listener.close();
  assert.equal(await listener.accept(), null);
  await noUnhandledRejection();
});

Deno.test("a peer that hangs up in the middle of a stanza ends the stream unclean with a TransportError, and stanzas$ errors with it", async () => {
  const { stream, done } = await plainStream(async (peer) => {
    await peer.write("<message to='romeo@forza'><body>Hal");
  });
  const stanzas = lastValueFrom(stream.stanzas$).then(
    () => assert.fail("stanzas$ completed"),
    (error: unknown) => error,
  );
  const result = await stream.closed;
  await done;
  assert.equal(result.clean, false);
  assert.ok(result.error instanceof TransportError, String(result.error));
  assert.match(result.error.message, /without <\/stream:stream>/);
  assert.equal(await stanzas, result.error);
  assert.equal(stream.state, "closed");
  await noUnhandledRejection();
});

Deno.test("a peer that sends </stream:stream> and hangs up at once ends the stream clean", async () => {
  const opened = Promise.withResolvers<void>();
  const { stream, done } = await plainStream(async (peer) => {
    await opened.promise;
    await peer.write("</stream:stream>");
    peer.close();
  });
  opened.resolve();
  // The raw server is gone before our answer; what we owed it was sent
  // into the socket and the stream ended.
  const result = await stream.closed;
  await done;
  assert.deepEqual(result, { clean: true });
  assert.equal(stream.state, "closed");
  // stanzas$ completes (a clean end), it does not error.
  assert.equal(
    await lastValueFrom(stream.stanzas$, { defaultValue: "completed" }),
    "completed",
  );
  await noUnhandledRejection();
});

Deno.test("a peer that answers our </stream:stream> and hangs up at once ends the stream clean", async () => {
  const { stream, done } = await plainStream(async (peer) => {
    assert.notEqual(await peer.readUntil("</stream:stream>"), null);
    await peer.write("</stream:stream>");
  });
  const result = await stream.close();
  await done;
  assert.deepEqual(result, { clean: true });
  assert.deepEqual(await stream.closed, { clean: true });
  await noUnhandledRejection();
});

Deno.test("close() against a peer that never answers nor hangs up ends unclean with a TimeoutError and closes the socket", async () => {
  let after = "";
  const { stream, done } = await plainStream(async (peer) => {
    assert.notEqual(await peer.readUntil("</stream:stream>"), null);
    // Silent: neither the close tag nor a hang-up. Read until we are hung
    // up on.
    after = await peer.readToEnd();
  }, { closeTimeoutMs: 200 });
  const started = performance.now();
  const result = await stream.close();
  const elapsed = performance.now() - started;
  await done; // the server saw EOF: our socket is closed
  assert.equal(result.clean, false);
  assert.ok(result.error instanceof TimeoutError, String(result.error));
  assert.equal(result.error.operation, "close");
  assert.ok(elapsed >= 150 && elapsed < 2_000, `took ${elapsed} ms`);
  assert.equal(after, "", "nothing after our close tag");
  assert.equal(stream.state, "closed");
  await noUnhandledRejection();
});

Deno.test("initiate() against a peer that goes silent rejects with a TimeoutError and closes the socket", async () => {
  let after: string | null = null;
  const server = rawServer(async (peer) => {
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    // Silent, socket open: read what comes until we are hung up on.
    after = await peer.readToEnd();
  });
  const started = performance.now();
  const error = await initiate({
    ...tlsOptions(server.port),
    negotiationTimeoutMs: 200,
  }).then(
    () => assert.fail("initiate() resolved"),
    (error: unknown) => error,
  );
  const elapsed = performance.now() - started;
  await server.done; // the server saw EOF: our socket is closed
  assert.ok(error instanceof TimeoutError, String(error));
  assert.equal(error.operation, "negotiation");
  assert.ok(elapsed >= 150 && elapsed < 2_000, `took ${elapsed} ms`);
  // We owed a stream error for our deadline, then our close tag.
  assert.match(after ?? "", /<connection-timeout /);
  assert.match(after ?? "", /<\/stream:stream>$/);
  await noUnhandledRejection();
});

// ------------------------------------------------------------ mid-SASL

const romeoKeys = await deriveScramCredentials("wherefore", "SHA-256");
const saslServer = sasl({
  server: {
    credentials: (user, hash) =>
      Promise.resolve(
        user === "romeo" && hash === "SHA-256" ? romeoKeys : undefined,
      ),
  },
});
const SCRAM_FIRST = "n,,n=romeo,r=fyko+d2lbbFgONRv9qkxdawL";
const AUTH = `<auth xmlns='${SASL_NS}' mechanism='SCRAM-SHA-256'>` +
  `${base64(SCRAM_FIRST)}</auth>`;

/**
 * A raw initiator that negotiates STARTTLS for real (SASL is offered only
 * under TLS when the transport can do TLS), reads the SASL offer, sends a
 * SCRAM-SHA-256 client-first, optionally waits for the challenge, and
 * hangs up.
 *
 * @returns The mechanisms offered, and the challenge if it waited for it.
 */
async function hangUpMidSasl(
  port: number,
  waitForChallenge: boolean,
): Promise<{ offer: string; challenge: string | null }> {
  const client = await DenoClient.connect(port);
  try {
    await client.writeOnce(CLIENT_HEADER);
    const plain = await client.readUntil("</stream:features>");
    assert.ok(plain !== null && plain.includes("<starttls"), "STARTTLS");
    assert.ok(!plain.includes("<mechanisms"), "no SASL before TLS");
    await client.writeOnce(`<starttls xmlns='${TLS_NS}'/>`);
    assert.notEqual(await client.readUntil("<proceed"), null);
    assert.notEqual(await client.readUntil("/>"), null);
    await client.startTls(certificate.certPem);
    await client.writeOnce(CLIENT_HEADER);
    const offer = await client.readUntil("</stream:features>");
    assert.ok(offer !== null);
    await client.writeOnce(AUTH);
    const challenge = waitForChallenge
      ? await client.readUntil("</challenge>")
      : null;
    return { offer, challenge };
  } finally {
    client.close();
  }
}

for (const waitForChallenge of [false, true]) {
  const when = waitForChallenge
    ? "after our SCRAM challenge"
    : "right after its <auth/>";
  Deno.test(`a recipient offering SASL whose client hangs up ${when} ends negotiate() with a TransportError`, async () => {
    const listener = await listenTcp({
      tls: { cert: certificate.certPem, key: certificate.keyPem },
    });
    let session: Session | undefined;
    const recipient = (async () => {
      const transport = await listener.accept();
      assert.ok(transport !== null);
      session = new Session({
        role: "recipient",
        transport,
        from: "juliet@pronto",
        features: [saslServer],
      });
      return await session.negotiate().then(
        () => assert.fail("negotiate() resolved"),
        (error: unknown) => error,
      );
    })();
    let offer = "";
    let challenge: string | null = null;
    try {
      ({ offer, challenge } = await hangUpMidSasl(
        listener.addr.port,
        waitForChallenge,
      ));
    } finally {
      await listener.close();
    }
    const error = await within(recipient);
    assert.match(
      offer,
      new RegExp(
        `<mechanisms xmlns='${SASL_NS}'>.*<mechanism>SCRAM-SHA-256</mechanism>`,
      ),
    );
    if (waitForChallenge) {
      assert.ok(challenge !== null, "the challenge came");
      const serverFirst = unbase64(
        challenge.replace(/^<challenge[^>]*>|<\/challenge>$/g, ""),
      );
      assert.match(
        serverFirst,
        /^r=fyko\+d2lbbFgONRv9qkxdawL[^,]+,s=[^,]+,i=\d+$/,
      );
    }
    assert.ok(error instanceof TransportError, String(error));
    assert.equal(
      error.message,
      "The peer closed the connection during negotiation",
    );
    assert.equal(session?.state, "closed");
    assert.deepEqual(await session?.closed, { clean: false, error });
    assert.equal(session?.identity, undefined, "nobody authenticated");
    await noUnhandledRejection();
  });
}

Deno.test("listen() with SASL skips clients that hang up mid-SASL and accepts the next one, authenticated", async () => {
  const challenges: string[] = [];
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    features: [saslServer],
    trace: (entry) => {
      if (entry.direction === "out" && entry.text.includes("<challenge")) {
        challenges.push(entry.text);
      }
    },
  });
  const accepted = listener.accept();
  try {
    await hangUpMidSasl(listener.addr.port, false);
    const { challenge } = await hangUpMidSasl(listener.addr.port, true);
    assert.ok(challenge !== null);
    const romeo = await initiate({
      from: "romeo@forza",
      to: "juliet@pronto",
      hostname: "127.0.0.1",
      port: listener.addr.port,
      caCerts: [certificate.certPem],
      features: [
        sasl({ client: { username: "romeo", password: "wherefore" } }),
      ],
    });
    const juliet = await within(accepted);
    assert.ok(juliet !== null);
    assert.equal(juliet.info.identity, "romeo");
    assert.equal(romeo.info.identity, "romeo");
    // Both raw clients got as far as a challenge at least once; the
    // accepted stream is the real initiator's.
    assert.ok(challenges.length >= 2, `${challenges.length} challenges`);
    const [r, j] = await Promise.all([romeo.close(), juliet.closed]);
    assert.deepEqual([r, j], [{ clean: true }, { clean: true }]);
  } finally {
    await listener.close();
  }
  assert.equal(await listener.accept(), null);
  await noUnhandledRejection();
});

/**
 * Our initiator with SASL credentials, on either transport, and what each
 * reports when the peer's TLS connection vanishes (TCP closed with no
 * close_notify): rustls calls it a truncation, node:tls an end of stream.
 */
const SASL_TRANSPORTS = [
  {
    name: "Deno (rustls)",
    trust: { caCerts: [certificate.certPem] },
    vanished:
      /^Cannot read: peer closed connection without sending TLS close_notify\b/,
  },
  {
    name: "node:tls",
    trust: { pinnedFingerprint256: certificate.fingerprint256 },
    vanished: /^The peer closed the connection during negotiation$/,
  },
];

for (const { name, trust, vanished } of SASL_TRANSPORTS) {
  for (const after of ["auth", "challenge"] as const) {
    const when = after === "auth"
      ? "right after our <auth/>"
      : "after sending its challenge and reading our response";
    Deno.test(`initiate() (${name}) with SASL rejects with a TransportError when the peer hangs up ${when}`, async () => {
      let response: string | null = null;
      const server = await nodeServer(async (peer) => {
        assert.notEqual(await peer.readUntil("version='1.0'>"), null);
        await peer.write(SERVER_HEADER + STARTTLS_FEATURES);
        assert.notEqual(
          await peer.readUntil(`<starttls xmlns='${TLS_NS}'/>`),
          null,
        );
        await peer.proceedAndStartTls(`<proceed xmlns='${TLS_NS}'/>`, {
          cert: certificate.certPem,
          key: certificate.keyPem,
        });
        assert.notEqual(await peer.readUntil("version='1.0'>"), null);
        await peer.write(
          SERVER_HEADER +
            `<stream:features><mechanisms xmlns='${SASL_NS}'>` +
            "<mechanism>SCRAM-SHA-256</mechanism></mechanisms>" +
            "</stream:features>",
        );
        const auth = await peer.readUntil("</auth>");
        assert.ok(auth !== null);
        assert.match(auth, /mechanism='SCRAM-SHA-256'/);
        if (after === "challenge") {
          const scram = new ScramServer({
            hash: "SHA-256",
            offeredPlus: false,
            lookup: (user) =>
              Promise.resolve(user === "romeo" ? romeoKeys : undefined),
          });
          const first = unbase64(
            auth.replace(/^[\s\S]*>([^<]*)<\/auth>$/, "$1"),
          );
          await peer.write(
            `<challenge xmlns='${SASL_NS}'>` +
              `${base64(await scram.first(first))}</challenge>`,
          );
          response = await peer.readUntil("</response>");
        }
        // The script ends: the peer vanishes (sockets destroyed).
      });
      const error = await initiate({
        from: "romeo@forza",
        to: "juliet@pronto",
        hostname: "127.0.0.1",
        port: server.port,
        ...trust,
        features: [
          sasl({ client: { username: "romeo", password: "wherefore" } }),
        ],
      }).then(
        (stream) => {
          void stream.close();
          assert.fail("initiate() resolved");
        },
        (error: unknown) => error,
      );
      await within(server.done);
      if (after === "challenge") {
        assert.match(
          response ?? "",
          /^<response xmlns='[^']+'>[^<]+<\/response>$/,
        );
      }
      assert.ok(error instanceof TransportError, String(error));
      assert.match(error.message, vanished);
      await noUnhandledRejection();
    });
  }
}
