import assert from "node:assert/strict";
import { secureContext } from "../../src/transport/_secure_context.ts";
import { connectTcpNode, listenTcp } from "../../src/transport/node_tcp.ts";
import { certificate } from "./_helpers.ts";

Deno.test("secureContext() gives connections with the same key, certificate and anchors one context", async () => {
  const cert = await certificate("localhost");
  const server = secureContext({ key: cert.keyPem, cert: cert.certPem });
  assert.equal(
    secureContext({ key: cert.keyPem, cert: cert.certPem }),
    server,
  );
  const client = secureContext({ ca: [cert.certPem] });
  assert.equal(secureContext({ ca: [cert.certPem] }), client);
  assert.notEqual(client, server);
});

Deno.test("secureContext() gives other settings their own context", async () => {
  const a = await certificate("localhost");
  const b = await certificate("other.example");
  const first = secureContext({ key: a.keyPem, cert: a.certPem });
  assert.notEqual(secureContext({ key: b.keyPem, cert: b.certPem }), first);
  assert.notEqual(secureContext({ key: a.keyPem }), first);
  const anchors = secureContext({ ca: [a.certPem] });
  assert.notEqual(secureContext({ ca: [a.certPem, b.certPem] }), anchors);
  assert.notEqual(secureContext({ ca: [b.certPem] }), anchors);
  assert.notEqual(secureContext({}), anchors);
});

Deno.test("secureContext() is not fooled by an anchor list changed after use", async () => {
  const a = await certificate("localhost");
  const b = await certificate("other.example");
  const ca = [a.certPem];
  const before = secureContext({ ca });
  ca[0] = b.certPem;
  assert.notEqual(secureContext({ ca }), before);
});

Deno.test("two listeners with their own certificates each present their own, connection after connection", async () => {
  const a = await certificate("localhost");
  const b = await certificate("other.example");
  await using first = await listenTcp({
    tls: { key: a.keyPem, cert: a.certPem },
  });
  await using second = await listenTcp({
    tls: { key: b.keyPem, cert: b.certPem },
  });
  for (let round = 0; round < 2; round++) {
    for (const [listener, cert] of [[first, a], [second, b]] as const) {
      const client = await connectTcpNode({
        ...listener.addr,
        tls: { pinnedFingerprint256: cert.fingerprint256 },
      });
      const server = (await listener.accept())!;
      try {
        const [info] = await Promise.all([
          client.startTls(),
          server.startTls(),
        ]);
        assert.equal(info.peerFingerprint256, cert.fingerprint256);
      } finally {
        client.close();
        server.close();
      }
    }
  }
});
