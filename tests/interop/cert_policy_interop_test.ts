/**
 * The certificate policy against a peer whose certificate has an RSA-1024
 * key. Neither of Deno's TLS stacks loads a key under 2048 bits (so
 * tests/transport cannot serve one), so `openssl s_server` and
 * `openssl s_client` at `SECLEVEL=0` play that peer.
 *
 * What these tests pin down (Deno 2.9.6): both stacks refuse such a peer
 * inside the handshake, where its signature by the small key does not
 * verify, before this package sees the certificate; they do not say why,
 * so every path reports `untrusted`, while `checkCertificate()` on the same
 * certificate says `weak-key` (tests/transport/cert_policy_test.ts).
 *
 * `XMPP_E2E_SKIP_INTEROP=1` skips them (see _skip.ts).
 */

import assert from "node:assert/strict";
import {
  CertificateError,
  type CertificateFailure,
} from "../../src/transport/cert_policy.ts";
import { connectTcp } from "../../src/transport/deno_tcp.ts";
import {
  connectTcpNode,
  type ConnectTlsOptions,
  listenTcp,
} from "../../src/transport/node_tcp.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { badCertificates } from "../transport/_bad_certs.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("cert_policy_interop_test");

/** The RSA-1024 leaf and its key, and the CA's certificate, as files. */
async function files() {
  const { ca, bad } = await badCertificates();
  const dir = await Deno.makeTempDir({ prefix: "cert_policy_" });
  const paths = {
    dir,
    ca: `${dir}/ca.pem`,
    cert: `${dir}/rsa1024.pem`,
    key: `${dir}/rsa1024.key`,
  };
  await Deno.writeTextFile(paths.ca, ca.certPem);
  await Deno.writeTextFile(paths.cert, bad["rsa-1024"].certPem);
  await Deno.writeTextFile(paths.key, bad["rsa-1024"].keyPem);
  return paths;
}

/** Rejects with a CertificateError for `reason`; returns it. */
async function refuses(
  promise: Promise<unknown>,
  reason: CertificateFailure,
): Promise<CertificateError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof CertificateError, `not refused: ${error}`);
  assert.equal(error.reason, reason, error.message);
  return error;
}

/**
 * `openssl s_server` with the RSA-1024 certificate, for one connection:
 * `connect` is given its port, and what it returns is closed afterwards.
 */
async function againstServer(
  connect: (port: number) => Promise<Transport>,
  check: (transport: Transport) => Promise<void>,
): Promise<void> {
  const paths = await files();
  const server = new Deno.Command("openssl", {
    args: [
      "s_server",
      ...["-accept", "127.0.0.1:0", "-naccept", "1"],
      ...["-cert", paths.cert, "-key", paths.key],
      ...["-cipher", "DEFAULT@SECLEVEL=0"],
    ],
    // Open: s_server ends the connection at the end of its input.
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = server.stdout.getReader();
  let transport: Transport | undefined;
  try {
    let text = "";
    let port: number | undefined;
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`openssl s_server did not start: ${text}`);
      text += new TextDecoder().decode(value);
      const match = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(text);
      if (match !== null) port = Number(match[1]);
    }
    transport = await connect(port);
    await check(transport);
  } finally {
    transport?.close();
    try {
      server.kill();
    } catch {
      // It already exited.
    }
    await reader.cancel();
    await server.stdin.close();
    await server.status;
    await Deno.remove(paths.dir, { recursive: true });
  }
}

Deno.test({
  name:
    "connectTcp() refuses an RSA-1024 server certificate from the test CA as untrusted (rustls: BadSignature)",
  ignore: SKIP,
  async fn() {
    const { ca } = await badCertificates();
    await againstServer(
      (port) =>
        connectTcp({
          hostname: "127.0.0.1",
          port,
          tls: { serverName: "localhost", caCerts: [ca.certPem] },
        }),
      async (transport) => {
        const error = await refuses(transport.startTls(), "untrusted");
        assert.match(error.message, /invalid peer certificate: BadSignature/);
      },
    );
  },
});

for (
  const [mode, tls] of [
    ["with caCerts", async () => ({
      serverName: "localhost",
      caCerts: [(await badCertificates()).ca.certPem],
    })],
    ["pinning it", async () => ({
      pinnedFingerprint256: (await badCertificates()).bad["rsa-1024"]
        .fingerprint256,
    })],
  ] as [string, () => Promise<ConnectTlsOptions>][]
) {
  Deno.test({
    name:
      `connectTcpNode() ${mode} refuses an RSA-1024 server certificate as untrusted, in the handshake`,
    ignore: SKIP,
    async fn() {
      const options = await tls();
      await againstServer(
        (port) => connectTcpNode({ hostname: "127.0.0.1", port, tls: options }),
        async (transport) => {
          const error = await refuses(transport.startTls(), "untrusted");
          assert.match(error.message, /refused in the TLS handshake/);
          assert.equal(error.fingerprint256, undefined);
        },
      );
    },
  });
}

Deno.test({
  name:
    "listenTcp() with requestCert refuses an RSA-1024 client certificate as untrusted, in the handshake",
  ignore: SKIP,
  async fn() {
    const { good } = await badCertificates();
    const paths = await files();
    await using listener = await listenTcp({
      tls: { key: good.keyPem, cert: good.certPem, requestCert: true },
    });
    const client = new Deno.Command("openssl", {
      args: [
        "s_client",
        ...["-connect", `127.0.0.1:${listener.addr.port}`],
        ...["-cert", paths.cert, "-key", paths.key],
        ...["-cipher", "DEFAULT@SECLEVEL=0"],
      ],
      stdin: "piped",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const server = await listener.accept();
    assert.ok(server !== null);
    try {
      await refuses(server.startTls(), "untrusted");
    } finally {
      server.close();
      await client.stdin.close();
      await client.status;
      await Deno.remove(paths.dir, { recursive: true });
    }
  },
});
