import assert from "node:assert/strict";
import {
  connectTcpNode,
  type ConnectTlsOptions,
  INSECURE_SKIP_VERIFY,
  listenTcp,
} from "../../src/transport/node_tcp.ts";
import {
  type Transport,
  TransportError,
} from "../../src/transport/transport.ts";
import {
  certificate,
  type Connected,
  connected,
  expect,
  pause,
  send,
  within,
} from "./_helpers.ts";

function node(tls?: ConnectTlsOptions) {
  return (addr: { hostname: string; port: number }) =>
    connectTcpNode(tls === undefined ? addr : { ...addr, tls });
}

/** Dials "localhost" at the listener's port, trusting `cert` as its anchor. */
function localhostTrusting(cert: { certPem: string }) {
  return (addr: { port: number }) =>
    connectTcpNode({
      hostname: "localhost",
      port: addr.port,
      tls: { caCerts: [cert.certPem] },
    });
}

async function serverTls(...names: string[]) {
  const cert = await certificate(...names);
  return { tls: { key: cert.keyPem, cert: cert.certPem } };
}

/** A client and a listener on localhost, the client trusting its certificate. */
async function localhostConnected() {
  const cert = await certificate("localhost");
  return connected(localhostTrusting(cert), await serverTls("localhost"));
}

Deno.test("connectTcpNode() and listenTcp() echo plaintext both ways", async () => {
  await using c = await connected(node());
  assert.deepEqual(c.listener.addr.hostname, "127.0.0.1");
  assert.equal(c.client.remote?.port, c.listener.addr.port);
  assert.equal(c.server.remote?.hostname, "127.0.0.1");
  assert.equal(c.client.tls, undefined);
  await send(c.client, "<stream:stream>");
  assert.equal(await expect(c.server, "<stream:stream>"), "<stream:stream>");
  await send(c.server, "<stream:stream/>");
  assert.equal(await expect(c.client, "<stream:stream/>"), "<stream:stream/>");
});

Deno.test("connectTcpNode() and listenTcp() start TLS after plaintext and report TLSv1.3 with the certificate's fingerprint", async () => {
  const cert = await certificate("localhost");
  await using c = await localhostConnected();
  await send(c.client, "<starttls/>");
  assert.equal(await expect(c.server, "<starttls/>"), "<starttls/>");
  await send(c.server, "<proceed/>");
  assert.equal(await expect(c.client, "<proceed/>"), "<proceed/>");
  const [client, server] = await Promise.all([
    c.client.startTls(),
    c.server.startTls(),
  ]);
  assert.equal(client.protocol, "TLSv1.3");
  assert.equal(server.protocol, "TLSv1.3");
  assert.ok(client.cipher?.startsWith("TLS_"));
  assert.equal(client.cipher, server.cipher);
  assert.equal(client.peerFingerprint256, cert.fingerprint256);
  assert.ok(client.peerCertificate !== undefined);
  assert.equal(server.peerCertificate, undefined);
  assert.equal(server.peerFingerprint256, undefined);
  assert.equal(c.client.tls, client);
  assert.equal(c.server.tls, server);
  await send(c.client, "encrypted ping");
  assert.equal(await expect(c.server, "encrypted ping"), "encrypted ping");
  await send(c.server, "encrypted pong");
  assert.equal(await expect(c.client, "encrypted pong"), "encrypted pong");
});

Deno.test("listenTcp() with requestCert reports the initiator's client certificate", async () => {
  const cert = await certificate("localhost");
  const mine = await certificate("romeo.example");
  await using c = await connected(
    node({
      pinnedFingerprint256: cert.fingerprint256,
      cert: mine.certPem,
      key: mine.keyPem,
    }),
    { tls: { key: cert.keyPem, cert: cert.certPem, requestCert: true } },
  );
  const [, server] = await Promise.all([
    c.client.startTls(),
    c.server.startTls(),
  ]);
  assert.equal(server.peerFingerprint256, mine.fingerprint256);
});

Deno.test("connectTcpNode() accepts the pinned certificate whatever its name and issuer", async () => {
  const cert = await certificate("elsewhere.example");
  await using c = await connected(
    node({ pinnedFingerprint256: cert.fingerprint256.toLowerCase() }),
    await serverTls("elsewhere.example"),
  );
  const [client] = await Promise.all([
    c.client.startTls(),
    c.server.startTls(),
  ]);
  assert.equal(client.peerFingerprint256, cert.fingerprint256);
  await send(c.server, "pinned");
  assert.equal(await expect(c.client, "pinned"), "pinned");
});

Deno.test("connectTcpNode() refuses a certificate other than the pinned one with a TransportError", async () => {
  const other = await certificate("other.example");
  await using c = await connected(
    node({ pinnedFingerprint256: other.fingerprint256 }),
    await serverTls("localhost"),
  );
  const server = c.server.startTls().catch((e) => e);
  await assert.rejects(
    c.client.startTls(),
    (e) => e instanceof TransportError && /pinned/.test(e.message),
  );
  // The recipient either completed its side or saw the connection go.
  const result = await server;
  assert.ok(!(result instanceof Error) || result instanceof TransportError);
  await assert.rejects(send(c.client, "x"), TransportError);
});

Deno.test("connectTcpNode() refuses a self-signed certificate it has no anchor for", async () => {
  await using c = await connected(node(), await serverTls("localhost"));
  const server = c.server.startTls().catch((e) => e);
  await assert.rejects(c.client.startTls(), TransportError);
  await server;
});

Deno.test("connectTcpNode() refuses a certificate for another name", async () => {
  const cert = await certificate("other.example");
  await using c = await connected(
    (addr) =>
      connectTcpNode({
        hostname: "127.0.0.1",
        port: addr.port,
        tls: { serverName: "localhost", caCerts: [cert.certPem] },
      }),
    await serverTls("other.example"),
  );
  const server = c.server.startTls().catch((e) => e);
  await assert.rejects(
    c.client.startTls(),
    (e) => e instanceof TransportError && /altnames|name/i.test(e.message),
  );
  await server;
});

Deno.test("connectTcpNode() skips verification only with the exact sentence", async () => {
  const addr = { hostname: "127.0.0.1", port: 1 };
  for (
    const wrong of [
      "yes",
      "i understand this disables certificate verification",
      "",
    ]
  ) {
    await assert.rejects(
      connectTcpNode({
        ...addr,
        tls: { insecureSkipVerify: wrong as typeof INSECURE_SKIP_VERIFY },
      }),
      TypeError,
    );
  }
  const cert = await certificate("unanchored.example");
  await using c = await connected(
    node({ insecureSkipVerify: INSECURE_SKIP_VERIFY }),
    await serverTls("unanchored.example"),
  );
  const [client] = await Promise.all([
    c.client.startTls(),
    c.server.startTls(),
  ]);
  assert.equal(client.peerFingerprint256, cert.fingerprint256);
});

Deno.test("connectTcpNode() refuses a malformed pin, or a pin with skipped verification", async () => {
  const addr = { hostname: "127.0.0.1", port: 1 };
  await assert.rejects(
    connectTcpNode({ ...addr, tls: { pinnedFingerprint256: "AB:CD" } }),
    TypeError,
  );
  const cert = await certificate("localhost");
  await assert.rejects(
    connectTcpNode({
      ...addr,
      tls: {
        pinnedFingerprint256: cert.fingerprint256,
        insecureSkipVerify: INSECURE_SKIP_VERIFY,
      },
    }),
    TypeError,
  );
});

Deno.test("a connectTcpNode() transport fails closed when plaintext follows <proceed/>", async () => {
  const cert = await certificate("localhost");
  await using c = await connected(
    node({ pinnedFingerprint256: cert.fingerprint256 }),
    await serverTls("localhost"),
  );
  await send(c.server, "<proceed/>");
  assert.equal(await expect(c.client, "<proceed/>"), "<proceed/>");
  await send(c.server, "<message>injected</message>");
  await pause(50); // it has arrived, and nobody read it
  const server = c.server.startTls().catch((e) => e);
  // The plaintext reaches TLS as if it were a record, never the reader.
  await assert.rejects(c.client.startTls(), TransportError);
  await server;
  assert.equal(await c.client.read(), null);
});

Deno.test("a listenTcp() transport fails closed when plaintext follows <starttls/>", async () => {
  const cert = await certificate("localhost");
  await using c = await connected(
    node({ pinnedFingerprint256: cert.fingerprint256 }),
    await serverTls("localhost"),
  );
  await send(c.client, "<starttls/>");
  assert.equal(await expect(c.server, "<starttls/>"), "<starttls/>");
  await send(c.client, "<message>injected</message>");
  await pause(50); // it has arrived, and nobody read it
  await send(c.server, "<proceed/>");
  const server = c.server.startTls();
  server.catch(() => {}); // it may fail before it is awaited below
  // <proceed/>, perhaps with the alert that the failed handshake sent.
  assert.ok((await expect(c.client, "<proceed/>"))?.startsWith("<proceed/>"));
  const client = c.client.startTls().catch((e) => e);
  await assert.rejects(server, TransportError);
  await client;
  assert.equal(await c.server.read(), null);
});

Deno.test("a listenTcp() transport keeps a ClientHello that arrives before its startTls()", async () => {
  const cert = await certificate("localhost");
  await using c = await connected(
    node({ pinnedFingerprint256: cert.fingerprint256 }),
    await serverTls("localhost"),
  );
  await send(c.client, "<starttls/>");
  assert.equal(await expect(c.server, "<starttls/>"), "<starttls/>");
  await send(c.server, "<proceed/>");
  assert.equal(await expect(c.client, "<proceed/>"), "<proceed/>");
  const client = c.client.startTls();
  await pause(50); // the ClientHello has arrived, and was queued
  await within(5000, Promise.all([client, c.server.startTls()]));
  await send(c.client, "secret");
  assert.equal(await expect(c.server, "secret"), "secret");
});

Deno.test("connectTcpNode() half-closes: the peer reads null and can still write back", async () => {
  await using c = await connected(node());
  await send(c.client, "bye");
  await c.client.closeWrite();
  assert.equal(await expect(c.server, "bye"), "bye");
  assert.equal(await c.server.read(), null);
  await send(c.server, "bye too");
  assert.equal(await expect(c.client, "bye too"), "bye too");
  await c.server.closeWrite();
  assert.equal(await c.client.read(), null);
  await assert.rejects(send(c.client, "more"), TransportError);
});

Deno.test("a listenTcp() transport half-closes under TLS: the peer reads null and can still write back", async () => {
  const cert = await certificate("localhost");
  await using c = await connected(
    node({ pinnedFingerprint256: cert.fingerprint256 }),
    await serverTls("localhost"),
  );
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  await send(c.server, "bye");
  await c.server.closeWrite();
  assert.equal(await expect(c.client, "bye"), "bye");
  assert.equal(await c.client.read(), null);
  await send(c.client, "bye too");
  assert.equal(await expect(c.server, "bye too"), "bye too");
  await c.client.closeWrite();
  assert.equal(await c.server.read(), null);
});

Deno.test("connectTcpNode() close() is idempotent, ends a pending read, and the peer reads null", async () => {
  await using c = await connected(node());
  const pending = c.client.read();
  c.client.close();
  c.client.close();
  assert.equal(await pending, null);
  assert.equal(await c.client.read(), null);
  await assert.rejects(send(c.client, "x"), TransportError);
  assert.equal(await c.server.read(), null);
  c.server.close();
  c.server.close();
});

Deno.test("startTls() refuses while a read is pending, and twice", async () => {
  const cert = await certificate("localhost");
  await using c = await connected(
    node({ pinnedFingerprint256: cert.fingerprint256 }),
    await serverTls("localhost"),
  );
  const pending = c.client.read();
  await assert.rejects(c.client.startTls(), TransportError);
  await assert.rejects(c.client.read(), TransportError);
  await send(c.server, "x");
  assert.equal(new TextDecoder().decode((await pending)!), "x");
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  await assert.rejects(c.client.startTls(), TransportError);
});

Deno.test("a transport from a listenTcp() without a key cannot start TLS", async () => {
  await using c = await connected(node());
  assert.equal(c.server.canStartTls, false);
  assert.equal(c.client.canStartTls, true);
  await assert.rejects(
    c.server.startTls(),
    (e) =>
      e instanceof TransportError && /turn TLS off by name/.test(e.message),
  );
});

Deno.test("listenTcp() accepts by iteration, and accept() gives null once closed", async () => {
  const listener = await listenTcp();
  const clients = await Promise.all([
    connectTcpNode(listener.addr),
    connectTcpNode(listener.addr),
  ]);
  const servers = [];
  for await (const server of listener) {
    servers.push(server);
    if (servers.length === 2) break;
  }
  const waiting = listener.accept();
  await listener.close();
  await listener.close();
  assert.equal(await waiting, null);
  assert.equal(await listener.accept(), null);
  // Accepted transports outlive their listener.
  await Promise.all(clients.map((c) => send(c, "still here")));
  for (const server of servers) {
    assert.equal(await expect(server, "still here"), "still here");
  }
  for (const t of [...clients, ...servers]) t.close();
});

Deno.test("listenTcp() closes connections it did not hand out yet", async () => {
  const listener = await listenTcp();
  const client = await connectTcpNode(listener.addr);
  await pause(20); // the connection reached the system's accept queue
  await listener.close();
  // Never accepted, the system resets it: the read ends, one way or the
  // other, and nothing was delivered.
  const end = await client.read().catch((error) => error);
  assert.ok(end === null || end instanceof TransportError, String(end));
  client.close();
});

Deno.test("listenTcp() rejects a port in use with a TransportError", async () => {
  await using listener = await listenTcp();
  await assert.rejects(
    listenTcp({ port: listener.addr.port }),
    TransportError,
  );
});

Deno.test("connectTcpNode() rejects with a TransportError when nothing listens", async () => {
  const listener = await listenTcp();
  const { port } = listener.addr;
  await listener.close();
  await assert.rejects(
    connectTcpNode({ hostname: "127.0.0.1", port }),
    TransportError,
  );
});

async function slowReader(c: Connected, length: number): Promise<void> {
  const data = Uint8Array.from({ length }, (_, i) => (i * 7) % 251);
  const sending = (async () => {
    for (let i = 0; i < data.length; i += 10_000) {
      await c.client.write(data.subarray(i, i + 10_000));
    }
    await c.client.closeWrite();
  })();
  const got = new Uint8Array(data.length);
  let size = 0;
  let reads = 0;
  for (let chunk; (chunk = await c.server.read()) !== null;) {
    if (reads++ % 4 === 0) await pause(1); // let chunks pile up
    got.set(chunk, size);
    size += chunk.length;
  }
  await sending;
  assert.equal(size, data.length);
  assert.deepEqual(got, data);
}

Deno.test("a listenTcp() transport delivers a megabyte intact to a slow reader, then the end", async () => {
  await using c = await connected(node());
  await slowReader(c, 1 << 20);
});

Deno.test("a listenTcp() transport delivers 768 KiB over TLS intact to a slow reader, then the end", async () => {
  const cert = await certificate("localhost");
  await using c = await connected(
    node({ pinnedFingerprint256: cert.fingerprint256 }),
    await serverTls("localhost"),
  );
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  await within(10_000, slowReader(c, 768 << 10));
});

Deno.test("connectTcpNode() verifies an IP address against the certificate's IP names", async () => {
  const cert = await certificate("127.0.0.1");
  await using c = await connected(
    node({ caCerts: [cert.certPem] }),
    await serverTls("127.0.0.1"),
  );
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  await send(c.client, "by address");
  assert.equal(await expect(c.server, "by address"), "by address");
});

/**
 * Writes `rounds` times one buffer, filled again with the next byte as soon
 * as each write resolved, while `to` reads; resolves with the runs of equal
 * bytes `to` got: [byte, length, byte, length, ...].
 */
async function refilled(
  from: Transport,
  to: Transport,
  size: number,
  rounds: number,
): Promise<number[]> {
  const runs: number[] = [];
  const reading = (async () => {
    let last = -1;
    for (let total = 0; total < size * rounds;) {
      const chunk = await to.read();
      if (chunk === null) break;
      for (const byte of chunk) {
        if (byte !== last) runs.push(byte, 0);
        runs[runs.length - 1]!++;
        last = byte;
      }
      total += chunk.length;
    }
  })();
  const buffer = new Uint8Array(size);
  for (let i = 0; i < rounds; i++) {
    buffer.fill(65 + i);
    await from.write(buffer);
  }
  buffer.fill(0); // what a write still holding the buffer would send
  await reading;
  return runs;
}

Deno.test("connectTcpNode() and listenTcp() ends say their writes are done with their bytes once resolved, and a buffer filled again after each write loses nothing, in plaintext and over node:tls", async () => {
  await using c = await localhostConnected();
  const size = 64 * 1024;
  const rounds = 24;
  const expected = Array.from(
    { length: rounds },
    (_, i) => [65 + i, size],
  ).flat();
  for (const end of [c.client, c.server]) assert.equal(end.copiesWrites, true);
  assert.deepEqual(await refilled(c.server, c.client, size, rounds), expected);
  assert.deepEqual(await refilled(c.client, c.server, size, rounds), expected);
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  for (const end of [c.client, c.server]) assert.equal(end.copiesWrites, true);
  // Both ways at once, so that node:tls encrypts while its peer writes too.
  const [toClient, toServer] = await Promise.all([
    refilled(c.server, c.client, size, rounds),
    refilled(c.client, c.server, size, rounds),
  ]);
  assert.deepEqual(toClient, expected);
  assert.deepEqual(toServer, expected);
});

/**
 * The server's startTls() once it waits for the client's first bytes (the
 * client never starts TLS); its rejection is awaited by the caller.
 */
async function waitingForClientHello(
  c: Connected,
): Promise<{ server: Promise<unknown> }> {
  const server = c.server.startTls();
  server.catch(() => {});
  await pause(50);
  return { server }; // not the promise itself, which await would wait for
}

Deno.test("a listenTcp() transport closed while startTls() waits for the ClientHello rejects it with a TransportError, and the peer reads the end", async () => {
  await using c = await connected(node(), await serverTls("localhost"));
  const { server } = await waitingForClientHello(c);
  c.server.close();
  await assert.rejects(
    server,
    (e: Error) =>
      e instanceof TransportError && /the transport is closed/.test(e.message),
  );
  assert.equal(await within(5000, c.client.read()), null);
});

Deno.test("a listenTcp() transport whose peer closes before any ClientHello rejects startTls() with a TransportError", async () => {
  await using c = await connected(node(), await serverTls("localhost"));
  const { server } = await waitingForClientHello(c);
  c.client.close();
  await assert.rejects(
    within(5000, server),
    (e: Error) =>
      e instanceof TransportError && /closed during TLS/.test(e.message),
  );
});

Deno.test("listenTcp() and connectTcpNode() refuse at once a key that is not the certificate's, or PEM they cannot read", async () => {
  const a = await certificate("pronto");
  const b = await certificate("forza");
  const mismatched = { cert: a.certPem, key: b.keyPem };
  await assert.rejects(
    listenTcp({ tls: mismatched }),
    (e) => e instanceof TypeError && /do not match/.test(e.message),
  );
  await assert.rejects(
    listenTcp({ tls: { cert: "not PEM", key: a.keyPem } }),
    (e) => e instanceof TypeError && /not a PEM X.509/.test(e.message),
  );
  await assert.rejects(
    listenTcp({ tls: { cert: a.certPem, key: "not PEM" } }),
    (e) => e instanceof TypeError && /not a PEM private key/.test(e.message),
  );
  // Refused before dialling: nothing listens on this port.
  await assert.rejects(
    connectTcpNode({
      hostname: "127.0.0.1",
      port: 9,
      tls: { caCerts: [a.certPem], ...mismatched },
    }),
    (e) => e instanceof TypeError && /client certificate/.test(e.message),
  );
  // The pair that belongs together still listens.
  const listener = await listenTcp({ tls: { cert: a.certPem, key: a.keyPem } });
  await listener.close();
});

Deno.test("a listenTcp() transport over node:tls frees a decrypted chunk once it is handed back, and recycles a plaintext one", async () => {
  await using c = await localhostConnected();
  await send(c.client, "<starttls/>");
  const plain = (await c.server.read())!;
  assert.equal(new TextDecoder().decode(plain), "<starttls/>");
  // A plaintext chunk is a read buffer: handed back, it is kept to be
  // filled again, never freed.
  c.server.release?.(plain);
  assert.equal(plain.buffer.byteLength > 0, true);
  await send(c.server, "<proceed/>");
  assert.equal(await expect(c.client, "<proceed/>"), "<proceed/>");
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  const text = "x".repeat(40_000);
  const got: string[] = [];
  let size = 0;
  const sent = send(c.client, text);
  while (size < text.length) {
    const chunk = (await c.server.read())!;
    const decoded = new TextDecoder().decode(chunk);
    got.push(decoded);
    size += decoded.length;
    // Decrypted data: a buffer node:tls made for it alone, freed at once.
    c.server.release?.(chunk);
    assert.equal(chunk.buffer.byteLength, 0);
  }
  await sent;
  assert.equal(got.join(""), text);
  // Writes still go both ways once the ciphertext of earlier ones was freed.
  await send(c.server, "pong");
  assert.equal(await expect(c.client, "pong"), "pong");
  await send(c.client, "ping");
  assert.equal(await expect(c.server, "ping"), "ping");
});
