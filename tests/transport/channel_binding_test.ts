import assert from "node:assert/strict";
import * as tls from "node:tls";
import { Buffer } from "node:buffer";
import {
  endPointBinding,
  nodeChannelBindings,
  signatureAlgorithm,
} from "../../src/transport/_channel_binding.ts";
import { connectTcpNode } from "../../src/transport/node_tcp.ts";
import { certificate, connected, expect, send } from "./_helpers.ts";
import {
  generateCertificate,
  pemToDer,
} from "../../src/transport/certificate.ts";

Deno.test("signatureAlgorithm() reads ecdsa-with-SHA256 from a generated certificate", async () => {
  const { certPem } = await generateCertificate({ names: ["pronto"] });
  assert.equal(signatureAlgorithm(pemToDer(certPem)), "1.2.840.10045.4.3.2");
});

Deno.test("endPointBinding() is the SHA-256 of a SHA-256-signed certificate (RFC 5929)", async () => {
  const { certPem } = await generateCertificate({ names: ["pronto"] });
  const der = pemToDer(certPem);
  const expected = new Uint8Array(
    await crypto.subtle.digest("SHA-256", der as BufferSource),
  );
  assert.deepEqual(await endPointBinding(der), expected);
});

Deno.test("signatureAlgorithm() gives undefined for bytes that are not a certificate", () => {
  assert.equal(
    signatureAlgorithm(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])),
    undefined,
  );
  assert.equal(signatureAlgorithm(new Uint8Array([0x04, 0x00])), undefined);
  assert.equal(signatureAlgorithm(new Uint8Array(0)), undefined);
});

/** A stand-in for a node:tls socket, recording what it was asked to export. */
function fakeSocket(protocol: string, exported?: Uint8Array | Error) {
  const calls: unknown[][] = [];
  return {
    calls,
    getProtocol: () => protocol,
    ...(exported === undefined ? {} : {
      exportKeyingMaterial(length: number, label: string, context: Buffer) {
        calls.push([length, label, context.length]);
        if (exported instanceof Error) throw exported;
        return Buffer.from(exported);
      },
    }),
  };
}

Deno.test("nodeChannelBindings() takes tls-exporter under TLS 1.3 only, with RFC 9266's label, empty context and 32 bytes", async () => {
  const key = new Uint8Array(32).fill(5);
  const socket = fakeSocket("TLSv1.3", key);
  assert.deepEqual(await nodeChannelBindings(socket, undefined), {
    "tls-exporter": key,
  });
  assert.deepEqual(socket.calls, [[32, "EXPORTER-Channel-Binding", 0]]);

  const tls12 = fakeSocket("TLSv1.2", key);
  assert.deepEqual(await nodeChannelBindings(tls12, undefined), {});
  assert.deepEqual(tls12.calls, [], "not asked: TLS 1.2 needs EMS");
  assert.deepEqual(
    await nodeChannelBindings(
      fakeSocket("TLSv1.3", new Error("no")),
      undefined,
    ),
    {},
  );
  assert.deepEqual(
    await nodeChannelBindings(fakeSocket("TLSv1.3"), undefined),
    {},
    "no exportKeyingMaterial (Deno 2.9.6)",
  );
});

Deno.test("nodeChannelBindings() gives tls-server-end-point for the server's certificate", async () => {
  const der = pemToDer(
    (await generateCertificate({ names: ["pronto"] })).certPem,
  );
  assert.deepEqual(await nodeChannelBindings(fakeSocket("TLSv1.2"), der), {
    "tls-server-end-point": await endPointBinding(der),
  });
});

Deno.test("connectTcpNode() and listenTcp() compute the same channel bindings: the server certificate's hash, tls-exporter only where node:tls exports", async () => {
  const cert = await certificate("pronto");
  await using c = await connected(
    (addr) =>
      connectTcpNode({
        ...addr,
        tls: { pinnedFingerprint256: cert.fingerprint256 },
      }),
    { tls: { key: cert.keyPem, cert: cert.certPem } },
  );
  await send(c.client, "<starttls/>");
  await expect(c.server, "<starttls/>");
  const [client, server] = await Promise.all([
    c.client.startTls(),
    c.server.startTls(),
  ]);
  const endPoint = await endPointBinding(pemToDer(cert.certPem));
  assert.deepEqual(
    client.channelBindings?.["tls-server-end-point"],
    endPoint,
  );
  assert.deepEqual(server.channelBindings, client.channelBindings);
  // Deno 2.9.6 has no exportKeyingMaterial: then no tls-exporter, never a
  // stand-in.
  const exports = typeof (tls.TLSSocket.prototype as {
    exportKeyingMaterial?: unknown;
  }).exportKeyingMaterial === "function";
  assert.equal("tls-exporter" in client.channelBindings!, exports);
  assert.equal("tls-unique" in client.channelBindings!, false);
});

Deno.test("nodeChannelBindings() gives each connection its own copy of a server end point computed once", async () => {
  const der = pemToDer(
    (await generateCertificate({ names: ["pronto"] })).certPem,
  );
  const once = endPointBinding(der);
  const a = await nodeChannelBindings(fakeSocket("TLSv1.3"), undefined, once);
  const b = await nodeChannelBindings(fakeSocket("TLSv1.3"), undefined, once);
  assert.deepEqual(a["tls-server-end-point"], await endPointBinding(der));
  assert.deepEqual(a, b);
  assert.notEqual(a["tls-server-end-point"], b["tls-server-end-point"]);
  a["tls-server-end-point"]![0]! ^= 0xff;
  assert.notDeepEqual(a, b);
});
