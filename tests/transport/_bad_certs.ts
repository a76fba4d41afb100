// Test-only certificates, each with exactly one defect, signed by a test CA
// (or, for "unknown-issuer", by a CA nobody trusts). Made once per test run
// with @peculiar/x509 over Web Crypto.

import { derToPem, fingerprint256 } from "../../src/transport/certificate.ts";

/** A certificate, its key and its fingerprint, all as tests use them. */
export interface TestCertificate {
  /** The certificate, PEM. */
  certPem: string;
  /** Its private key, PKCS#8 PEM. */
  keyPem: string;
  /** SHA-256 of its DER, `"AB:CD:..."`. */
  fingerprint256: string;
  /** Its DER. */
  der: Uint8Array;
}

/** The defects `badCertificates()` makes, one certificate each. */
export type Defect =
  | "expired"
  | "not-yet-valid"
  | "wrong-name"
  | "unknown-issuer"
  | "ca-as-leaf"
  | "rsa-1024";

/** What `badCertificates()` gives. */
export interface BadCertificates {
  /** The trusted test CA (ECDSA P-256, CA:true). */
  ca: TestCertificate;
  /** A CA that no test trusts. */
  stranger: TestCertificate;
  /** A good leaf for localhost and 127.0.0.1, signed by `ca`. */
  good: TestCertificate;
  /** One leaf per defect; all but "unknown-issuer" signed by `ca`. */
  bad: Record<Defect, TestCertificate>;
  /** A self-signed CA:true certificate for localhost and 127.0.0.1. */
  selfSignedCa: TestCertificate;
  /**
   * A leaf signed by `ca` whose key is on the P-224 curve. Its key is made
   * up (Web Crypto has no P-224), so it can only be read, not served.
   */
  p224: TestCertificate;
  /**
   * A leaf signed by `ca`.
   *
   * @param names Its subjectAltName entries (none: no extension).
   * @param cn Its subject common name.
   */
  leaf(names: string[], cn?: string): Promise<TestCertificate>;
}

const DAY = 86_400_000;
const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
const RSA_1024 = {
  name: "RSASSA-PKCS1-v1_5",
  modulusLength: 1024,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: "SHA-256",
};
const NAMES = ["localhost", "127.0.0.1"];
// SubjectPublicKeyInfo { ecPublicKey, secp224r1 } with an uncompressed point
// of two 28-byte coordinates (made up: only its size matters here).
const P224_SPKI = new Uint8Array([
  ...[0x30, 0x4e, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02],
  ...[0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x21, 0x03, 0x3a, 0x00, 0x04],
  ...new Array<number>(56).fill(0x11),
]);

type X509 = typeof import("@peculiar/x509");

interface Issuer {
  name: string;
  keys: CryptoKeyPair;
}

interface LeafSpec {
  cn: string;
  names?: string[];
  // A public key given as SubjectPublicKeyInfo DER: no private key.
  spki?: Uint8Array;
  notBefore?: Date;
  notAfter?: Date;
  ca?: boolean;
  algorithm?: RsaHashedKeyGenParams | EcKeyGenParams;
  issuer: Issuer | "self";
}

let made: Promise<BadCertificates> | undefined;

/** The test CA and its certificates, generated once per test run. */
export function badCertificates(): Promise<BadCertificates> {
  made ??= make();
  return made;
}

async function make(): Promise<BadCertificates> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const [ca, caIssuer] = await authority(x509, "Test CA");
  const [stranger, strangerIssuer] = await authority(x509, "Stranger CA");
  const now = Date.now();
  const leaf = (spec: Omit<LeafSpec, "issuer">, issuer = caIssuer) =>
    issue(x509, { ...spec, issuer });
  const [good, expired, notYet, wrongName, unknown, caLeaf, rsa] = await Promise
    .all([
      leaf({ cn: "good" }),
      leaf({
        cn: "expired",
        notBefore: new Date(now - 30 * DAY),
        notAfter: new Date(now - DAY),
      }),
      leaf({
        cn: "not yet valid",
        notBefore: new Date(now + DAY),
        notAfter: new Date(now + 30 * DAY),
      }),
      leaf({ cn: "other.example", names: ["other.example"] }),
      leaf({ cn: "unknown issuer" }, strangerIssuer),
      leaf({ cn: "ca as leaf", ca: true }),
      leaf({ cn: "rsa 1024", algorithm: RSA_1024 }),
    ]);
  const selfSignedCa = await issue(x509, {
    cn: "self-signed ca",
    ca: true,
    issuer: "self",
  });
  const p224 = await leaf({ cn: "p-224", spki: P224_SPKI });
  return {
    ca,
    stranger,
    good,
    selfSignedCa,
    p224,
    leaf: (names, cn = "leaf") => leaf({ cn, names }),
    bad: {
      "expired": expired,
      "not-yet-valid": notYet,
      "wrong-name": wrongName,
      "unknown-issuer": unknown,
      "ca-as-leaf": caLeaf,
      "rsa-1024": rsa,
    },
  };
}

async function authority(
  x509: X509,
  name: string,
): Promise<[TestCertificate, Issuer]> {
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const cert = await issue(x509, {
    cn: name,
    names: [],
    ca: true,
    issuer: "self",
  }, keys);
  return [cert, { name: `CN=${name}`, keys }];
}

async function issue(
  x509: X509,
  spec: LeafSpec,
  ownKeys?: CryptoKeyPair,
): Promise<TestCertificate> {
  const algorithm = spec.algorithm ?? EC;
  const keys = ownKeys ??
    await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const names = spec.names ?? NAMES;
  const issuer = spec.issuer === "self"
    ? { name: `CN=${spec.cn}`, keys }
    : spec.issuer;
  const publicKey = spec.spki === undefined
    ? keys.publicKey
    : new x509.PublicKey(spec.spki as Uint8Array<ArrayBuffer>);
  const ca = spec.ca ?? false;
  const extensions: InstanceType<X509["Extension"]>[] = [
    new x509.BasicConstraintsExtension(ca, undefined, true),
    new x509.KeyUsagesExtension(
      ca
        ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature
        : x509.KeyUsageFlags.digitalSignature |
          x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
  if (spec.issuer !== "self") {
    extensions.push(
      await x509.AuthorityKeyIdentifierExtension.create(
        spec.issuer.keys.publicKey,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
    );
  }
  if (names.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({
          type: /^[\d.]+$/.test(value) || value.includes(":")
            ? "ip" as const
            : "dns" as const,
          value,
        })),
      ),
    );
  }
  const serial = new Uint8Array(16);
  crypto.getRandomValues(serial);
  serial[0] = serial[0]! & 0x7f | 0x01;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Array.from(serial, (b) => b.toString(16).padStart(2, "0"))
      .join(""),
    subject: `CN=${spec.cn}`,
    issuer: issuer.name,
    notBefore: spec.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: spec.notAfter ?? new Date(Date.now() + 30 * DAY),
    signingAlgorithm: EC,
    publicKey,
    signingKey: issuer.keys.privateKey,
    extensions,
  });
  const der = new Uint8Array(cert.rawData);
  const pkcs8 = new Uint8Array(
    await crypto.subtle.exportKey("pkcs8", keys.privateKey),
  );
  return {
    certPem: derToPem(der, "CERTIFICATE"),
    keyPem: derToPem(pkcs8, "PRIVATE KEY"),
    fingerprint256: await fingerprint256(der),
    der,
  };
}
