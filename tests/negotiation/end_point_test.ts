import assert from "node:assert/strict";
import {
  endPointBinding,
  signatureAlgorithm,
} from "../../src/negotiation/_end_point.ts";
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
