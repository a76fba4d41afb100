// A certificate and the private key given with it, checked to belong
// together before anything listens or connects: a mismatched pair makes
// every TLS handshake fail later with an error that names neither.

import { createPrivateKey, X509Certificate } from "node:crypto";

/**
 * Throws unless `cert` (PEM, leaf first) and `key` (PEM) are a certificate
 * and the private key of its public key.
 *
 * @param cert The certificate chain.
 * @param key The private key.
 * @param whose Whose pair, for the message ("The listener's certificate").
 * @throws {TypeError} When either cannot be read, or they do not match.
 */
export function checkKeyPair(cert: string, key: string, whose: string): void {
  if (cert === checked?.cert && key === checked.key) return;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch {
    throw new TypeError(`${whose} is not a PEM X.509 certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new TypeError(
      `${whose} comes with a key that is not a PEM private key`,
    );
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TypeError(
      `${whose} and its key do not match: the key is not the certificate's`,
    );
  }
  checked = { cert, key };
}

// The last pair found to match: an endpoint dials with the same one again
// and again.
let checked: { cert: string; key: string } | undefined;
