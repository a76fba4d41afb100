import assert from "node:assert/strict";
import { connectTcp } from "../../src/transport/deno_tcp.ts";
import { listenTcp } from "../../src/transport/node_tcp.ts";
import {
  type PeerAddress,
  TransportError,
} from "../../src/transport/transport.ts";
import { certificate, connected, expect, pause, send } from "./_helpers.ts";

function deno(serverName?: string, caCerts?: string[]) {
  return (addr: PeerAddress) =>
    connectTcp({
      ...addr,
      tls: {
        ...(serverName === undefined ? {} : { serverName }),
        ...(caCerts === undefined ? {} : { caCerts }),
      },
    });
}

async function serverTls(...names: string[]) {
  const cert = await certificate(...names);
  return { tls: { key: cert.keyPem, cert: cert.certPem } };
}

async function trusting(...names: string[]) {
  const cert = await certificate(...names);
  return deno("localhost", [cert.certPem]);
}

Deno.test("connectTcp() echoes plaintext both ways with a listenTcp() recipient", async () => {
  await using c = await connected(deno());
  assert.equal(c.client.canStartTls, true);
  assert.deepEqual(c.client.remote, c.listener.addr);
  assert.equal(c.client.tls, undefined);
  await send(c.client, "<stream:stream>");
  assert.equal(await expect(c.server, "<stream:stream>"), "<stream:stream>");
  await send(c.server, "<stream:stream/>");
  assert.equal(await expect(c.client, "<stream:stream/>"), "<stream:stream/>");
});

Deno.test("connectTcp() starts TLS after a plaintext exchange and talks encrypted to a listenTcp() recipient", async () => {
  await using c = await connected(
    await trusting("localhost"),
    await serverTls("localhost"),
  );
  await send(c.client, "<starttls/>");
  assert.equal(await expect(c.server, "<starttls/>"), "<starttls/>");
  await send(c.server, "<proceed/>");
  assert.equal(await expect(c.client, "<proceed/>"), "<proceed/>");
  const [client, server] = await Promise.all([
    c.client.startTls(),
    c.server.startTls(),
  ]);
  // Deno's TlsConn tells none of these, and has no channel-binding data.
  assert.deepEqual(client, {
    protocol: undefined,
    cipher: undefined,
    peerCertificate: undefined,
    peerFingerprint256: undefined,
    channelBindings: {},
    stack: "rustls",
  });
  assert.equal(c.client.tls, client);
  assert.equal(server.protocol, "TLSv1.3");
  await send(c.client, "encrypted ping");
  assert.equal(await expect(c.server, "encrypted ping"), "encrypted ping");
  await send(c.server, "encrypted pong");
  assert.equal(await expect(c.client, "encrypted pong"), "encrypted pong");
});

Deno.test("connectTcp() says its writes are done with their bytes once resolved, in plaintext and under TLS", async () => {
  await using c = await connected(
    await trusting("localhost"),
    await serverTls("localhost"),
  );
  assert.equal(c.client.copiesWrites, true);
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  assert.equal(c.client.copiesWrites, true);
  // Filling the same buffer again after each write loses nothing.
  const buffer = new Uint8Array(32 * 1024);
  const expected: number[] = [];
  for (let i = 0; i < 8; i++) {
    buffer.fill(65 + i);
    await c.client.write(buffer);
    expected.push(...buffer.subarray(0, 1), buffer.length);
  }
  // Runs of equal bytes, in order: each fill, whole.
  const got: number[] = [];
  let last = -1;
  for (let total = 0; total < 8 * buffer.length;) {
    const chunk = (await c.server.read())!;
    for (const byte of chunk) {
      if (byte !== last) got.push(byte, 0);
      got[got.length - 1]!++;
      last = byte;
    }
    total += chunk.length;
  }
  assert.deepEqual(got, expected);
});

Deno.test("connectTcp() refuses a certificate for another name with a TransportError", async () => {
  const cert = await certificate("other.example");
  await using c = await connected(
    deno("localhost", [cert.certPem]),
    await serverTls("other.example"),
  );
  const server = c.server.startTls().catch((e) => e);
  await assert.rejects(c.client.startTls(), TransportError);
  await server;
  await assert.rejects(send(c.client, "x"), TransportError);
});

Deno.test("connectTcp() refuses a self-signed certificate it has no anchor for", async () => {
  await using c = await connected(
    deno("localhost"),
    await serverTls("localhost"),
  );
  const server = c.server.startTls().catch((e) => e);
  await assert.rejects(c.client.startTls(), TransportError);
  await server;
});

Deno.test("connectTcp() fails closed when plaintext follows <proceed/>", async () => {
  await using c = await connected(
    await trusting("localhost"),
    await serverTls("localhost"),
  );
  await send(c.server, "<proceed/>");
  assert.equal(await expect(c.client, "<proceed/>"), "<proceed/>");
  await send(c.server, "<message>injected</message>");
  await pause(50); // it has arrived, and nobody read it
  const server = c.server.startTls().catch((e) => e);
  await assert.rejects(c.client.startTls(), TransportError);
  await server;
});

Deno.test("connectTcp() half-closes: the peer reads null and can still write back", async () => {
  await using c = await connected(deno());
  await send(c.client, "bye");
  await c.client.closeWrite();
  await c.client.closeWrite();
  assert.equal(await expect(c.server, "bye"), "bye");
  assert.equal(await c.server.read(), null);
  await send(c.server, "bye too");
  assert.equal(await expect(c.client, "bye too"), "bye too");
  await c.server.closeWrite();
  assert.equal(await c.client.read(), null);
  await assert.rejects(send(c.client, "more"), TransportError);
});

Deno.test("connectTcp() half-closes under TLS: the peer reads null and can still write back", async () => {
  await using c = await connected(
    await trusting("localhost"),
    await serverTls("localhost"),
  );
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  await c.client.closeWrite();
  assert.equal(await c.server.read(), null);
  await send(c.server, "bye too");
  assert.equal(await expect(c.client, "bye too"), "bye too");
  await c.server.closeWrite();
  assert.equal(await c.client.read(), null);
});

Deno.test("connectTcp() close() is idempotent, ends a pending read, and the peer reads null", async () => {
  await using c = await connected(deno());
  const pending = c.client.read();
  c.client.close();
  c.client.close();
  assert.equal(await pending, null);
  assert.equal(await c.client.read(), null);
  await assert.rejects(send(c.client, "x"), TransportError);
  await assert.rejects(c.client.startTls(), TransportError);
  assert.equal(await c.server.read(), null);
});

Deno.test("connectTcp() startTls() refuses while a read is pending, and twice", async () => {
  await using c = await connected(
    await trusting("localhost"),
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

Deno.test("connectTcp() rejects with a TransportError when nothing listens", async () => {
  const listener = await listenTcp();
  const { port } = listener.addr;
  await listener.close();
  await assert.rejects(
    connectTcp({ hostname: "127.0.0.1", port }),
    TransportError,
  );
});

Deno.test("connectTcp() verifies an IP address against the certificate's IP names", async () => {
  const cert = await certificate("127.0.0.1");
  await using c = await connected(
    deno(undefined, [cert.certPem]),
    await serverTls("127.0.0.1"),
  );
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  await send(c.client, "by address");
  assert.equal(await expect(c.server, "by address"), "by address");
});

Deno.test("connectTcp() sends a megabyte intact over TLS", async () => {
  await using c = await connected(
    await trusting("localhost"),
    await serverTls("localhost"),
  );
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  const data = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 7) % 251);
  const sending = c.client.write(data).then(() => c.client.closeWrite());
  const got = new Uint8Array(data.length);
  let size = 0;
  for (let chunk; (chunk = await c.server.read()) !== null;) {
    got.set(chunk, size);
    size += chunk.length;
  }
  await sending;
  assert.equal(size, data.length);
  assert.deepEqual(got, data);
});
