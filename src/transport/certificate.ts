/**
 * Self-signed certificates for tests and for peers that pin each other's
 * certificate, and the small PEM / fingerprint helpers around them.
 *
 * @module
 */

/** A generated certificate with its private key. */
export interface GeneratedCertificate {
  /** The certificate, PEM (`-----BEGIN CERTIFICATE-----`). */
  certPem: string;
  /** The private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
  /** SHA-256 of the certificate's DER, as `"AB:CD:..."`. */
  fingerprint256: string;
}

/** What {@linkcode generateCertificate} makes. */
export interface CertificateOptions {
  /**
   * The names the certificate is valid for: DNS names, or IPv4 / IPv6
   * addresses (written as such in `subjectAltName`). The first one is also
   * the subject's common name. At least one.
   */
  names: string[];
  /** How many days it is valid for, from now. Defaults to 30. */
  days?: number;
}

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Generates a self-signed ECDSA P-256 leaf certificate: `CA:false`,
 * `digitalSignature`, extended key usage server and client authentication,
 * and every name in `subjectAltName`. Such a certificate passes
 * `Deno.startTls` when given as its own trust anchor (`caCerts`), and
 * `node:tls` in either role.
 *
 * `@peculiar/x509` (and the `reflect-metadata` it needs, which patches the
 * global `Reflect`) is loaded on the first call only, so that importing this
 * module costs nothing to an application that never generates a
 * certificate.
 *
 * @example Generate a certificate for a host name
 * ```ts
 * import { generateCertificate } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const cert = await generateCertificate({ names: ["localhost"] });
 * assert.match(cert.certPem, /^-----BEGIN CERTIFICATE-----/);
 * assert.match(cert.keyPem, /^-----BEGIN PRIVATE KEY-----/);
 * assert.match(cert.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
 * ```
 *
 * @param options The names and validity.
 * @returns The certificate and key as PEM, and the certificate's SHA-256
 *   fingerprint.
 * @throws {TypeError} When no name is given or `days` is not positive.
 */
export async function generateCertificate(
  options: CertificateOptions,
): Promise<GeneratedCertificate> {
  const { names } = options;
  const days = options.days ?? 30;
  if (names.length === 0) {
    throw new TypeError("Cannot generate a certificate without a name");
  }
  if (!(days > 0)) {
    throw new TypeError("Cannot generate a certificate valid for no day");
  }
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const keys = await crypto.subtle.generateKey(algorithm, true, [
    "sign",
    "verify",
  ]);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + days * 86_400_000);
  const serial = new Uint8Array(16);
  crypto.getRandomValues(serial);
  serial[0] = serial[0]! & 0x7f | 0x01; // positive, no leading zero byte
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: toHex(serial, ""),
    name: [{ CN: [names[0]!] }],
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(
        names.map((name) => ({
          type: IPV4.test(name) || name.includes(":")
            ? "ip" as const
            : "dns" as const,
          value: name,
        })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const der = new Uint8Array(cert.rawData);
  const pkcs8 = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
  );
  return {
    certPem: derToPem(der, "CERTIFICATE"),
    keyPem: derToPem(pkcs8, "PRIVATE KEY"),
    fingerprint256: await fingerprint256(der),
  };
}

/**
 * The SHA-256 fingerprint of a certificate (or of any bytes), as upper-case
 * hex pairs joined by colons: the form `node:tls` reports as
 * `fingerprint256` and `TlsInfo.peerFingerprint256` uses.
 *
 * @example Fingerprint of a PEM certificate
 * ```ts
 * import {
 *   fingerprint256,
 *   generateCertificate,
 *   pemToDer,
 * } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const cert = await generateCertificate({ names: ["localhost"] });
 * assert.equal(
 *   await fingerprint256(pemToDer(cert.certPem)),
 *   cert.fingerprint256,
 * );
 * ```
 *
 * @param der The certificate's DER bytes.
 * @returns The fingerprint, such as `"AB:01:..."` (32 pairs).
 */
export async function fingerprint256(der: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest(
    "SHA-256",
    der as Uint8Array<ArrayBuffer>,
  );
  return toHex(new Uint8Array(digest), ":");
}

/**
 * Decodes the first PEM block of `pem` (a certificate, a key, ...) to DER.
 *
 * @example Round trip
 * ```ts
 * import { derToPem, pemToDer } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const der = new Uint8Array([1, 2, 3]);
 * assert.deepEqual(pemToDer(derToPem(der, "CERTIFICATE")), der);
 * ```
 *
 * @param pem Text holding a `-----BEGIN ...-----` block.
 * @returns The block's bytes.
 * @throws {TypeError} When there is no well-formed PEM block.
 */
export function pemToDer(pem: string): Uint8Array {
  const match = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(
    pem,
  );
  if (match === null) throw new TypeError("Cannot find a PEM block");
  const base64 = match[2]!.replace(/\s+/g, "");
  let binary: string;
  try {
    binary = atob(base64);
  } catch (cause) {
    throw new TypeError("Cannot decode a PEM block: bad base64", { cause });
  }
  const der = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
  return der;
}

/**
 * Encodes DER bytes as a PEM block with 64-character lines.
 *
 * @example A certificate block
 * ```ts
 * import { derToPem } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const pem = derToPem(new Uint8Array([1, 2, 3]), "CERTIFICATE");
 * assert.equal(
 *   pem,
 *   "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n",
 * );
 * ```
 *
 * @param der The bytes.
 * @param label The block's label, such as `"CERTIFICATE"`.
 * @returns The PEM text, ending with a newline.
 */
export function derToPem(der: Uint8Array, label: string): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const base64 = btoa(binary);
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${
    lines.join("\n")
  }\n-----END ${label}-----\n`;
}

function toHex(bytes: Uint8Array, separator: string): string {
  return Array.from(
    bytes,
    (byte) => byte.toString(16).toUpperCase().padStart(2, "0"),
  ).join(separator);
}
