import assert from "node:assert/strict";
import { createPrivateKey, X509Certificate } from "node:crypto";
import {
  derToPem,
  fingerprint256,
  generateCertificate,
  pemToDer,
} from "../../src/transport/certificate.ts";

Deno.test("generateCertificate() makes a CA:false leaf for every name, with the fingerprint of its DER", async () => {
  const cert = await generateCertificate({
    names: ["localhost", "xmpp.example", "127.0.0.1"],
    days: 2,
  });
  const x509 = new X509Certificate(cert.certPem);
  assert.equal(x509.ca, false);
  assert.equal(x509.subject, "CN=localhost");
  assert.equal(
    x509.subjectAltName,
    "DNS:localhost, DNS:xmpp.example, IP Address:127.0.0.1",
  );
  assert.equal(x509.fingerprint256, cert.fingerprint256);
  assert.equal(
    await fingerprint256(pemToDer(cert.certPem)),
    cert.fingerprint256,
  );
  const days = (Date.parse(x509.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 1.9 && days <= 2, `valid for ${days} days`);
  assert.equal(x509.publicKey.asymmetricKeyType, "ec");
  assert.match(cert.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.ok(x509.checkPrivateKey(createPrivateKey(cert.keyPem)));
});

Deno.test("generateCertificate() makes a new key and serial number each time", async () => {
  const [a, b] = await Promise.all([
    generateCertificate({ names: ["a.example"] }),
    generateCertificate({ names: ["a.example"] }),
  ]);
  assert.notEqual(a.keyPem, b.keyPem);
  assert.notEqual(
    new X509Certificate(a.certPem).serialNumber,
    new X509Certificate(b.certPem).serialNumber,
  );
});

Deno.test("generateCertificate() refuses no name, or no day of validity", async () => {
  await assert.rejects(generateCertificate({ names: [] }), TypeError);
  await assert.rejects(
    generateCertificate({ names: ["a.example"], days: 0 }),
    TypeError,
  );
});

Deno.test("fingerprint256() gives 32 upper-case hex pairs joined by colons", async () => {
  assert.equal(
    await fingerprint256(new Uint8Array()),
    "E3:B0:C4:42:98:FC:1C:14:9A:FB:F4:C8:99:6F:B9:24:" +
      "27:AE:41:E4:64:9B:93:4C:A4:95:99:1B:78:52:B8:55",
  );
});

Deno.test("pemToDer() reads the first block and refuses text without one", () => {
  const der = Uint8Array.from({ length: 100 }, (_, i) => i);
  const pem = derToPem(der, "CERTIFICATE");
  assert.ok(pem.split("\n").every((line) => line.length <= 64));
  assert.deepEqual(
    pemToDer("junk\n" + pem + derToPem(new Uint8Array([9]), "CERTIFICATE")),
    der,
  );
  assert.throws(() => pemToDer("no pem here"), TypeError);
  assert.throws(
    () => pemToDer("-----BEGIN X-----\n!!!!\n-----END X-----"),
    TypeError,
  );
});
