// One `trust` option for both roles: CA certificates, a pinned fingerprint,
// or trust on first use with a KnownPeers store, each checked against the
// address the peer claimed in its stream header.

import type { TlsInfo } from "../transport/transport.ts";
import {
  CertificateError,
  checkCertificate,
  pinMismatchError,
} from "../transport/cert_policy.ts";
import type { KnownPeers } from "../transport/known_peers.ts";
import { normalizePin } from "../transport/_node_socket.ts";
import { pemToDer } from "../transport/certificate.ts";
import { domainOf } from "../stream/address.ts";

/**
 * How an end trusts its peer's certificate, the same shape on
 * {@linkcode initiate} and {@linkcode listen}; every refusal is a
 * `CertificateError` (or, for a store that asks, `PeerRejectedError`).
 *
 * - `caCerts`: certificates issued by one of these (PEM), valid for the
 *   domain of the peer's address (its `to` for an initiator, the `from` of
 *   its header for a recipient).
 * - `pinnedFingerprint256`: exactly this certificate (SHA-256), whoever
 *   issued it and whatever names it holds.
 * - `knownPeers`: trust on first use, keyed on the peer's full address:
 *   the first certificate seen for an address is approved (by the store's
 *   `approve` callback) and remembered; a different one later is refused
 *   with `PeerChangedError`.
 *
 * A recipient with a `trust` asks every initiator for a client certificate
 * and refuses those without one. The certificate policy's leaf rules
 * (validity, key size, not a CA) hold in every case.
 */
export type Trust =
  | { caCerts: string[] }
  | { pinnedFingerprint256: string }
  | { knownPeers: KnownPeers };

/** How a peer was found trustworthy, as {@linkcode StreamInfo} tells. */
export type TrustedBy = "ca" | "pin" | "known-peers";

/**
 * Refuses a `trust` that cannot work (a malformed pin, no CA certificate).
 *
 * @param trust The option.
 * @param where The call, for the message ("Cannot initiate").
 * @throws {TypeError} When it cannot work.
 */
export function checkTrust(trust: Trust | undefined, where: string): void {
  if (trust === undefined) return;
  const kinds = ["caCerts", "pinnedFingerprint256", "knownPeers"].filter((
    key,
  ) => key in trust);
  if (kinds.length !== 1) {
    throw new TypeError(
      `${where}: trust takes exactly one of caCerts, pinnedFingerprint256 or knownPeers`,
    );
  }
  if ("pinnedFingerprint256" in trust) {
    if (normalizePin(trust.pinnedFingerprint256) === undefined) {
      throw new TypeError(
        `${where}: trust.pinnedFingerprint256 is not 32 hex pairs`,
      );
    }
  }
  if ("caCerts" in trust && trust.caCerts.length === 0) {
    throw new TypeError(`${where}: trust.caCerts is empty`);
  }
}

/** Which kind of trust this is. */
export function trustedBy(trust: Trust): TrustedBy {
  if ("caCerts" in trust) return "ca";
  if ("pinnedFingerprint256" in trust) return "pin";
  return "known-peers";
}

/**
 * The check a recipient runs right after the TLS handshake, before
 * anything else is said, on the initiator's client certificate.
 *
 * @param trust The listener's trust.
 * @returns The check, for `verifyTls`.
 */
export function recipientCheck(
  trust: Trust,
): (tls: TlsInfo, peer: string | undefined) => Promise<void> {
  return async (tls, peer) => {
    const der = tls.peerCertificate;
    if (der === undefined || tls.peerFingerprint256 === undefined) {
      throw new CertificateError(
        "untrusted",
        "The initiator presented no certificate",
      );
    }
    if ("pinnedFingerprint256" in trust) {
      if (tls.peerFingerprint256 !== normalizePin(trust.pinnedFingerprint256)) {
        throw pinMismatchError(tls.peerFingerprint256);
      }
      return;
    }
    if (peer === undefined) {
      throw new CertificateError(
        "untrusted",
        "The initiator said no address (no from in its header): nothing to check its certificate against",
        { fingerprint256: tls.peerFingerprint256 },
      );
    }
    if ("knownPeers" in trust) {
      await trust.knownPeers.verify(peer, tls.peerFingerprint256);
      return;
    }
    await checkCertificate(der, { serverName: domainOf(peer) });
    await checkIssuer(der, trust.caCerts, tls.peerFingerprint256);
  };
}

/**
 * The check an initiator runs after the handshake, when its trust needs the
 * certificate (trust on first use; a pin and CA certificates are checked by
 * the transport itself).
 *
 * @param trust The initiator's trust.
 * @returns The check, or undefined when the transport does it all.
 */
export function initiatorCheck(
  trust: Trust,
): ((tls: TlsInfo, peer: string | undefined) => Promise<void>) | undefined {
  if (!("knownPeers" in trust)) return undefined;
  return async (tls, peer) => {
    if (tls.peerFingerprint256 === undefined || peer === undefined) {
      throw new CertificateError(
        "untrusted",
        "No certificate or no address to check it against",
      );
    }
    await trust.knownPeers.verify(peer, tls.peerFingerprint256);
  };
}

/**
 * Refuses a certificate not issued (signed) directly by one of `caCerts`.
 * (node:tls in Deno 2.9 does not verify client certificates against CA
 * certificates on the server side, so the recipient does.)
 */
async function checkIssuer(
  der: Uint8Array,
  caCerts: string[],
  fingerprint256: string,
): Promise<void> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  const leaf = new x509.X509Certificate(new Uint8Array(der).buffer);
  for (const pem of caCerts) {
    let ca: InstanceType<typeof x509.X509Certificate>;
    try {
      ca = new x509.X509Certificate(new Uint8Array(pemToDer(pem)).buffer);
    } catch {
      continue;
    }
    if (ca.subject !== leaf.issuer) continue;
    const constraints = ca.getExtension(x509.BasicConstraintsExtension);
    if (constraints !== null && !constraints.ca) continue;
    if (await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true })) {
      return;
    }
  }
  throw new CertificateError(
    "untrusted",
    "The initiator's certificate was issued by none of the trusted CA certificates",
    { fingerprint256 },
  );
}
