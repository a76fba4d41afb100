/**
 * The peer vanishes at each step, over real loopback TCP (and TLS): every
 * case ends with a typed error (or a clean close where that is the truth),
 * releases every resource (the test sanitizers stay on) and leaves no
 * unhandled rejection.
 *
 * The peers here are raw sockets written in the test, so that each test
 * decides exactly when the peer disappears.
 */

import assert from "node:assert/strict";
import { lastValueFrom } from "rxjs";
import { type E2EStream, initiate, listen } from "../../src/e2e.ts";
import { TimeoutError } from "../../src/stream/errors.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import { TransportError } from "../../src/transport/transport.ts";

const certificate = await generateCertificate({ names: ["pronto"] });

const unhandled: unknown[] = [];
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  unhandled.push(event.reason);
});

/** Fails the test if any rejection went unhandled while it ran. */
async function noUnhandledRejection(): Promise<void> {
  // Let pending microtasks and a macrotask turn run first.
  await new Promise((resolve) => setTimeout(resolve, 0));
  const reasons = unhandled.splice(0);
  assert.deepEqual(reasons, [], "no unhandled rejection");
}

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
