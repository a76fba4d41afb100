import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import {
  CERTIFICATE_CLOCK_SKEW_MS,
  CertificateError,
  type CertificateErrorOptions,
  type CertificateFailure,
  checkCertificate,
  pinMismatchError,
} from "../../src/transport/cert_policy.ts";
import {
  nodeCodeReason,
  rustlsReason,
} from "../../src/transport/_cert_rules.ts";
import { readLeaf } from "../../src/transport/_x509.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { connectTcp } from "../../src/transport/deno_tcp.ts";
import {
  connectTcpNode,
  type ConnectTlsOptions,
  INSECURE_SKIP_VERIFY,
} from "../../src/transport/node_tcp.ts";
import type { PeerAddress, Transport } from "../../src/transport/transport.ts";
import {
  badCertificates,
  type Defect,
  type TestCertificate,
} from "./_bad_certs.ts";
import { connected, expect, send } from "./_helpers.ts";

const MINUTE = 60_000;

/** Rejects with a CertificateError for `reason` (and `fingerprint256`). */
async function refuses(
  promise: Promise<unknown>,
  reason: CertificateFailure,
  fingerprint256?: string,
): Promise<CertificateError> {
  let caught: unknown;
  await assert.rejects(promise, (e) => {
    caught = e;
    return true;
  });
  assert.ok(
    caught instanceof CertificateError,
    `not a CertificateError: ${caught}`,
  );
  assert.equal(caught.reason, reason, caught.message);
  if (fingerprint256 !== undefined) {
    assert.equal(caught.fingerprint256, fingerprint256);
  }
  return caught;
}

Deno.test("CertificateError is a TransportError with a reason, a fingerprint and a cause", () => {
  const cause = new Error("underneath");
  const error = new CertificateError("untrusted", "Not trusted", {
    fingerprint256: "AB:CD",
    cause,
  });
  assert.ok(error instanceof TransportError);
  assert.equal(error.name, "CertificateError");
  assert.equal(error.reason, "untrusted");
  assert.equal(error.fingerprint256, "AB:CD");
  assert.equal(error.cause, cause);
  assert.equal(error.message, "Not trusted");
  assert.equal(new CertificateError("expired", "x").fingerprint256, undefined);
});

Deno.test("a subclass of CertificateError can carry peer-changed, as KnownPeers will", () => {
  class PeerChanged extends CertificateError {
    override readonly name: string = "PeerChangedError";
    constructor(readonly peer: string, options: CertificateErrorOptions) {
      super("peer-changed", `The certificate of ${peer} changed`, options);
    }
  }
  const error = new PeerChanged("pronto", { fingerprint256: "AB" });
  assert.ok(error instanceof CertificateError);
  assert.ok(error instanceof TransportError);
  assert.equal(error.name, "PeerChangedError");
  assert.equal(error.reason, "peer-changed");
  assert.equal(error.fingerprint256, "AB");
  assert.equal(error.peer, "pronto");
});

Deno.test("pinMismatchError() makes a pin-mismatch error with the presented fingerprint", () => {
  const error = pinMismatchError("AB:CD");
  assert.equal(error.reason, "pin-mismatch");
  assert.equal(error.fingerprint256, "AB:CD");
  assert.match(error.message, /pinned fingerprint \(got AB:CD\)$/);
  assert.match(pinMismatchError(undefined).message, /\(got none\)$/);
});

Deno.test("the certificate reader agrees with node:crypto on every test certificate", async () => {
  const b = await badCertificates();
  const all = [b.ca, b.good, b.selfSignedCa, ...Object.values(b.bad)];
  for (const cert of all) {
    const fields = readLeaf(cert.der);
    const x509 = new X509Certificate(cert.certPem);
    assert.equal(fields.ca, x509.ca);
    assert.equal(fields.notBefore, Date.parse(x509.validFrom));
    assert.equal(fields.notAfter, Date.parse(x509.validTo));
    const names = [
      ...fields.dnsNames.map((name) => `DNS:${name}`),
      ...fields.ipAddresses.map((ip) => `IP Address:${ip.join(".")}`),
    ];
    assert.equal(names.join(", ") || undefined, x509.subjectAltName);
    const details = x509.publicKey.asymmetricKeyDetails!;
    assert.equal(
      fields.key.type === "other" ? undefined : fields.key.bits,
      details.modulusLength ?? (details.namedCurve === "prime256v1" ? 256 : 0),
    );
  }
});

Deno.test("checkCertificate() passes a good leaf for each of its names", async () => {
  const { good } = await badCertificates();
  await checkCertificate(good.der);
  for (const serverName of ["localhost", "LocalHost.", "127.0.0.1"]) {
    await checkCertificate(good.der, { serverName });
  }
  const self = await generateCertificate({ names: ["pronto.example"] });
  const { pemToDer } = await import("../../src/transport/certificate.ts");
  await checkCertificate(pemToDer(self.certPem), {
    serverName: "pronto.example",
  });
});

const LEAF_REASONS: Partial<Record<Defect, CertificateFailure>> = {
  "expired": "expired",
  "not-yet-valid": "not-yet-valid",
  "ca-as-leaf": "ca-as-leaf",
  "rsa-1024": "weak-key",
};

Deno.test("checkCertificate() refuses each defective leaf with its reason and fingerprint", async () => {
  const { bad } = await badCertificates();
  for (const [defect, reason] of Object.entries(LEAF_REASONS)) {
    const cert = bad[defect as Defect];
    await refuses(checkCertificate(cert.der), reason, cert.fingerprint256);
  }
  await refuses(
    checkCertificate(bad["wrong-name"].der, { serverName: "localhost" }),
    "name-mismatch",
    bad["wrong-name"].fingerprint256,
  );
  // Who issued it is not the policy's to say: the TLS stacks check chains.
  await checkCertificate(bad["unknown-issuer"].der, {
    serverName: "localhost",
  });
});

Deno.test("checkCertificate() refuses a self-signed CA:true certificate and a P-224 key", async () => {
  const { selfSignedCa, p224 } = await badCertificates();
  await refuses(checkCertificate(selfSignedCa.der), "ca-as-leaf");
  const error = await refuses(checkCertificate(p224.der), "weak-key");
  assert.match(error.message, /224-bit elliptic curve key/);
  const rsa = await refuses(
    checkCertificate((await badCertificates()).bad["rsa-1024"].der),
    "weak-key",
  );
  assert.match(rsa.message, /1024-bit RSA key, under the 2048 bits/);
});

Deno.test("checkCertificate() allows two minutes of clock skew on either side, and no more", async () => {
  assert.equal(CERTIFICATE_CLOCK_SKEW_MS, 2 * MINUTE);
  const { good } = await badCertificates();
  const { notBefore, notAfter } = readLeaf(good.der);
  const at = (ms: number) => ({ now: new Date(ms) });
  await checkCertificate(good.der, at(notAfter + 2 * MINUTE));
  await checkCertificate(good.der, at(notBefore - 2 * MINUTE));
  const expired = await refuses(
    checkCertificate(good.der, at(notAfter + 2 * MINUTE + 1000)),
    "expired",
  );
  assert.match(expired.message, /expired at \d{4}-\d\d-\d\dT/);
  await refuses(
    checkCertificate(good.der, at(notBefore - 2 * MINUTE - 1000)),
    "not-yet-valid",
  );
});

Deno.test("checkCertificate() matches a wildcard as one whole leftmost label only", async () => {
  const b = await badCertificates();
  const wild = await b.leaf(["*.example.org", "exact.example"]);
  const ok = ["a.example.org", "A.EXAMPLE.ORG.", "exact.example"];
  for (const serverName of ok) {
    await checkCertificate(wild.der, { serverName });
  }
  const wrong = [
    "example.org",
    "a.b.example.org",
    ".example.org",
    "*.example.org",
    "a.example.org.evil",
    "sub.exact.example",
    "",
  ];
  for (const serverName of wrong) {
    await refuses(checkCertificate(wild.der, { serverName }), "name-mismatch");
  }
  const tooWide = await b.leaf(["*.org", "f*.example.org", "*.*.example.org"]);
  for (
    const serverName of ["example.org", "foo.example.org", "a.b.example.org"]
  ) {
    await refuses(
      checkCertificate(tooWide.der, { serverName }),
      "name-mismatch",
    );
  }
});

Deno.test("checkCertificate() matches IP literals against IP names only, and never the common name", async () => {
  const b = await badCertificates();
  const ips = await b.leaf(["::1", "192.0.2.7", "198.51.100.1.example"]);
  for (const serverName of ["::1", "0:0:0:0:0:0:0:1", "[::1]", "192.0.2.7"]) {
    await checkCertificate(ips.der, { serverName });
  }
  for (
    const serverName of ["::2", "192.0.2.8", "127.0.0.1", "::ffff:192.0.2.7"]
  ) {
    await refuses(checkCertificate(ips.der, { serverName }), "name-mismatch");
  }
  // A DNS name that looks like an address is not an IP name.
  const dns = await b.leaf(["localhost"]);
  await refuses(
    checkCertificate(dns.der, { serverName: "127.0.0.1" }),
    "name-mismatch",
  );
  // The common name is not a name, with or without subjectAltName.
  const cnOnly = await b.leaf([], "pronto.example");
  const error = await refuses(
    checkCertificate(cnOnly.der, { serverName: "pronto.example" }),
    "name-mismatch",
  );
  assert.match(error.message, /its names: none/);
  const cnAndSan = await b.leaf(["forza.example"], "pronto.example");
  await refuses(
    checkCertificate(cnAndSan.der, { serverName: "pronto.example" }),
    "name-mismatch",
  );
});

Deno.test("checkCertificate() refuses what it cannot read as untrusted", async () => {
  const { good } = await badCertificates();
  for (
    const der of [
      new Uint8Array(),
      new Uint8Array([0x30, 0x80, 0, 0]),
      good.der.subarray(0, good.der.length - 1),
      Uint8Array.of(...good.der, 0),
    ]
  ) {
    const error = await refuses(checkCertificate(der), "untrusted");
    assert.match(error.message, /cannot be read/);
  }
});

Deno.test("rustls refusals map to the policy's reasons, in both of rustls' wordings", () => {
  const cases: [string, CertificateFailure | undefined][] = [
    [
      "invalid peer certificate: certificate expired: verification time 1795960557 (UNIX), but certificate is not valid after 1795874157 (86400 seconds ago)",
      "expired",
    ],
    ["invalid peer certificate: Expired", "expired"],
    [
      "invalid peer certificate: certificate not valid yet: verification time 1795960557 (UNIX), but certificate is not valid before 1796046957 (86400 seconds in future)",
      "not-yet-valid",
    ],
    ["invalid peer certificate: NotValidYet", "not-yet-valid"],
    [
      'invalid peer certificate: certificate not valid for name "localhost"; certificate is only valid for DnsName("other.example")',
      "name-mismatch",
    ],
    ["invalid peer certificate: NotValidForName", "name-mismatch"],
    ["invalid peer certificate: UnknownIssuer", "untrusted"],
    [
      "invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))",
      "ca-as-leaf",
    ],
    ["invalid peer certificate: CaUsedAsEndEntity", "ca-as-leaf"],
    ["invalid peer certificate: BadSignature", "untrusted"],
    ["invalid peer certificate: ExpiredRevocationList", "untrusted"],
    ["unexpected end of file", undefined],
    ["received fatal alert: CertificateExpired", undefined],
  ];
  for (const [message, reason] of cases) {
    assert.equal(rustlsReason(message), reason, message);
  }
});

Deno.test("node:tls verification codes map to the policy's reasons", () => {
  assert.equal(nodeCodeReason("CERT_HAS_EXPIRED"), "expired");
  assert.equal(nodeCodeReason("CERT_NOT_YET_VALID"), "not-yet-valid");
  assert.equal(nodeCodeReason("ERR_TLS_CERT_ALTNAME_INVALID"), "name-mismatch");
  assert.equal(nodeCodeReason("EE_KEY_TOO_SMALL"), "weak-key");
  assert.equal(nodeCodeReason("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), "untrusted");
  assert.equal(nodeCodeReason("UNABLE_TO_GET_ISSUER_CERT"), "untrusted");
  assert.equal(nodeCodeReason("DEPTH_ZERO_SELF_SIGNED_CERT"), "untrusted");
  assert.equal(nodeCodeReason("ECONNRESET"), undefined);
  assert.equal(nodeCodeReason(undefined), undefined);
});

// The same defects over loopback, on each path that sees them. An RSA-1024
// certificate cannot be served here: neither rustls nor Deno's node:tls
// loads a key under 2048 bits (tests/interop/cert_policy_interop_test.ts
// serves one with openssl).

type Served = Exclude<Defect, "rsa-1024">;

const SERVED: Record<Served, string> = {
  "expired": "an expired certificate",
  "not-yet-valid": "a certificate not valid yet",
  "wrong-name": "a certificate for another name",
  "unknown-issuer": "a certificate from an unknown issuer",
  "ca-as-leaf": "a CA:true certificate used as a leaf",
};

/** What verifying by CA and name says of each defect, on every path. */
const BY_CA: Record<Served, CertificateFailure> = {
  "expired": "expired",
  "not-yet-valid": "not-yet-valid",
  "wrong-name": "name-mismatch",
  "unknown-issuer": "untrusted",
  "ca-as-leaf": "ca-as-leaf",
};

/** What the leaf rules alone (a pin, a client certificate) say. */
const BY_LEAF: Record<Served, CertificateFailure | "accepted"> = {
  "expired": "expired",
  "not-yet-valid": "not-yet-valid",
  "wrong-name": "accepted",
  "unknown-issuer": "accepted",
  "ca-as-leaf": "ca-as-leaf",
};

function node(tls: ConnectTlsOptions) {
  return (addr: PeerAddress) =>
    connectTcpNode({ hostname: "127.0.0.1", port: addr.port, tls });
}

function served(cert: TestCertificate, requestCert?: boolean) {
  return {
    tls: {
      key: cert.keyPem,
      cert: cert.certPem,
      ...(requestCert ? { requestCert } : {}),
    },
  };
}

/**
 * The initiator's startTls() refuses the recipient's `cert` for `reason`,
 * and its transport is closed.
 */
async function initiatorRefuses(
  connect: (addr: PeerAddress) => Promise<Transport>,
  cert: TestCertificate,
  reason: CertificateFailure,
  fingerprint256?: string,
): Promise<void> {
  await using c = await connected(connect, served(cert));
  const server = c.server.startTls().catch((e) => e);
  await refuses(c.client.startTls(), reason, fingerprint256);
  await server;
  assert.equal(c.client.tls, undefined);
  await assert.rejects(send(c.client, "x"), TransportError);
}

/** Both sides start TLS, and the initiator saw `cert`. */
async function initiatorAccepts(
  connect: (addr: PeerAddress) => Promise<Transport>,
  cert: TestCertificate,
): Promise<void> {
  await using c = await connected(connect, served(cert));
  await Promise.all([c.client.startTls(), c.server.startTls()]);
  const seen = c.client.tls?.peerFingerprint256;
  assert.ok(seen === undefined || seen === cert.fingerprint256);
  await send(c.client, "ping");
  assert.equal(await expect(c.server, "ping"), "ping");
}

Deno.test("connectTcpNode() with caCerts accepts a good certificate from the test CA, by name and by address", async () => {
  const { ca, good } = await badCertificates();
  await initiatorAccepts(
    node({ serverName: "localhost", caCerts: [ca.certPem] }),
    good,
  );
  await initiatorAccepts(node({ caCerts: [ca.certPem] }), good);
});

Deno.test("connectTcpNode() refuses a self-signed CA:true certificate that is its own anchor, as ca-as-leaf", async () => {
  const { selfSignedCa } = await badCertificates();
  await initiatorRefuses(
    node({ serverName: "localhost", caCerts: [selfSignedCa.certPem] }),
    selfSignedCa,
    "ca-as-leaf",
    selfSignedCa.fingerprint256,
  );
  await initiatorRefuses(
    node({ pinnedFingerprint256: selfSignedCa.fingerprint256 }),
    selfSignedCa,
    "ca-as-leaf",
  );
});

for (const [defect, description] of Object.entries(SERVED)) {
  const reason = BY_CA[defect as Served];
  Deno.test(`connectTcpNode() with caCerts refuses ${description} as ${reason}`, async () => {
    const { ca, bad } = await badCertificates();
    const cert = bad[defect as Served];
    await initiatorRefuses(
      node({ serverName: "localhost", caCerts: [ca.certPem] }),
      cert,
      reason,
      cert.fingerprint256,
    );
  });
}

for (const [defect, description] of Object.entries(SERVED)) {
  const verdict = BY_LEAF[defect as Served];
  const says = (what: string) =>
    verdict === "accepted"
      ? `accepts ${what}`
      : `refuses ${what} as ${verdict}`;
  Deno.test(`connectTcpNode() pinning the certificate itself ${says(description)}`, async () => {
    const { bad } = await badCertificates();
    const cert = bad[defect as Served];
    const connect = node({ pinnedFingerprint256: cert.fingerprint256 });
    if (verdict === "accepted") await initiatorAccepts(connect, cert);
    else {
      await initiatorRefuses(connect, cert, verdict, cert.fingerprint256);
    }
  });

  Deno.test(`connectTcpNode() pinning another certificate refuses ${description} as pin-mismatch`, async () => {
    const { bad, good } = await badCertificates();
    const cert = bad[defect as Served];
    await initiatorRefuses(
      node({ pinnedFingerprint256: good.fingerprint256 }),
      cert,
      "pin-mismatch",
      cert.fingerprint256,
    );
  });

  Deno.test(
    `listenTcp() with requestCert ${says(`${description} from the initiator`)}`,
    async () => {
      const { bad, good } = await badCertificates();
      const cert = bad[defect as Served];
      await using c = await connected(
        node({
          pinnedFingerprint256: good.fingerprint256,
          cert: cert.certPem,
          key: cert.keyPem,
        }),
        served(good, true),
      );
      const client = c.client.startTls().catch((e) => e);
      if (verdict === "accepted") {
        const info = await c.server.startTls();
        assert.equal(info.peerFingerprint256, cert.fingerprint256);
        await client;
        return;
      }
      await refuses(c.server.startTls(), verdict, cert.fingerprint256);
      await client;
      assert.equal(c.server.tls, undefined);
      await assert.rejects(send(c.server, "x"), TransportError);
    },
  );
}

Deno.test("listenTcp() with requestCert accepts a good client certificate, and a recipient that asks for none sees none", async () => {
  const { good } = await badCertificates();
  const { bad } = await badCertificates();
  {
    await using c = await connected(
      node({
        pinnedFingerprint256: good.fingerprint256,
        cert: good.certPem,
        key: good.keyPem,
      }),
      served(good, true),
    );
    const [, server] = await Promise.all([
      c.client.startTls(),
      c.server.startTls(),
    ]);
    assert.equal(server.peerFingerprint256, good.fingerprint256);
  }
  // Not asked, an expired client certificate is never sent, nor judged.
  await using c = await connected(
    node({
      pinnedFingerprint256: good.fingerprint256,
      cert: bad.expired.certPem,
      key: bad.expired.keyPem,
    }),
    served(good),
  );
  const [, server] = await Promise.all([
    c.client.startTls(),
    c.server.startTls(),
  ]);
  assert.equal(server.peerCertificate, undefined);
});

Deno.test("connectTcpNode() with the skip-verify sentence still accepts a defective certificate", async () => {
  const { bad } = await badCertificates();
  for (const defect of ["expired", "ca-as-leaf"] as const) {
    await initiatorAccepts(
      node({ insecureSkipVerify: INSECURE_SKIP_VERIFY }),
      bad[defect],
    );
  }
});

function deno(caCerts: string[], serverName?: string) {
  return (addr: PeerAddress) =>
    connectTcp({
      hostname: "127.0.0.1",
      port: addr.port,
      tls: { caCerts, ...(serverName === undefined ? {} : { serverName }) },
    });
}

Deno.test("connectTcp() with caCerts accepts a good certificate from the test CA, by name and by address", async () => {
  const { ca, good } = await badCertificates();
  await initiatorAccepts(deno([ca.certPem], "localhost"), good);
  await initiatorAccepts(deno([ca.certPem]), good);
});

Deno.test("connectTcp() refuses a self-signed CA:true certificate that is its own anchor, as ca-as-leaf", async () => {
  const { selfSignedCa } = await badCertificates();
  const error = await refusedByRustls(
    deno([selfSignedCa.certPem], "localhost"),
    selfSignedCa,
    "ca-as-leaf",
  );
  assert.equal(error.fingerprint256, undefined);
});

for (const [defect, description] of Object.entries(SERVED)) {
  const reason = BY_CA[defect as Served];
  Deno.test(`connectTcp() with caCerts refuses ${description} as ${reason}, as connectTcpNode() does`, async () => {
    const { ca, bad } = await badCertificates();
    await refusedByRustls(
      deno([ca.certPem], "localhost"),
      bad[defect as Served],
      reason,
    );
  });
}

/** initiatorRefuses(), for rustls: the error also tells rustls' words. */
async function refusedByRustls(
  connect: (addr: PeerAddress) => Promise<Transport>,
  cert: TestCertificate,
  reason: CertificateFailure,
): Promise<CertificateError> {
  await using c = await connected(connect, served(cert));
  const server = c.server.startTls().catch((e) => e);
  const error = await refuses(c.client.startTls(), reason);
  await server;
  assert.match(error.message, /invalid peer certificate/);
  assert.ok(error.cause instanceof Error);
  await assert.rejects(send(c.client, "x"), TransportError);
  return error;
}
