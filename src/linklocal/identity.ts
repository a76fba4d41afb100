/**
 * An endpoint's own certificate, made once and kept on disk, so that peers
 * that met it (trust on first use) know it again after a restart.
 *
 * @module
 */

import {
  fingerprint256,
  generateCertificate,
  pemToDer,
} from "../transport/certificate.ts";

/** A certificate and its key (PEM), with the certificate's fingerprint. */
export interface Identity {
  /** The certificate, PEM. */
  cert: string;
  /** The private key, PKCS#8 PEM. */
  key: string;
  /** SHA-256 of the certificate, `AB:CD:...`. */
  fingerprint256: string;
}

/** How long a generated certificate is valid: ten years. */
const DAYS = 3650;

/**
 * Loads the certificate kept in `dir` (`cert.pem`, `key.pem`), or makes
 * one for `machine` and keeps it there (the key readable by its owner
 * only). `dir` is created when missing.
 *
 * @param dir The directory.
 * @param machine The name the certificate is made for.
 * @returns The certificate, key and fingerprint.
 * @throws {Deno.errors.PermissionDenied} When `dir` cannot be read or written.
 *
 * @example Keep an identity across runs
 * ```ts
 * import { loadIdentity } from "@xmpp-e2e/streams/linklocal";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const first = await loadIdentity(dir, "pronto");
 * const again = await loadIdentity(dir, "pronto");
 * assert.equal(again.fingerprint256, first.fingerprint256);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function loadIdentity(
  dir: string,
  machine: string,
): Promise<Identity> {
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  try {
    const [cert, key] = await Promise.all([
      Deno.readTextFile(certFile),
      Deno.readTextFile(keyFile),
    ]);
    return { cert, key, fingerprint256: await fingerprint256(pemToDer(cert)) };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(dir, { recursive: true });
  const made = await generateCertificate({ names: [machine], days: DAYS });
  // The key first, private; the certificate last, so a certificate on disk
  // always has its key.
  await Deno.writeTextFile(keyFile, made.keyPem, { mode: 0o600 });
  await Deno.writeTextFile(certFile, made.certPem);
  return {
    cert: made.certPem,
    key: made.keyPem,
    fingerprint256: made.fingerprint256,
  };
}
