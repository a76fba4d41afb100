// tls-server-end-point channel binding data (RFC 5929 section 4.1).
// Private module.

/** Hashes named by the signature algorithms whose OID we recognise. */
const SIGNATURE_HASHES: Record<string, "SHA-256" | "SHA-384" | "SHA-512"> = {
  "1.2.840.113549.1.1.11": "SHA-256", // sha256WithRSAEncryption
  "1.2.840.113549.1.1.12": "SHA-384", // sha384WithRSAEncryption
  "1.2.840.113549.1.1.13": "SHA-512", // sha512WithRSAEncryption
  "1.2.840.10045.4.3.2": "SHA-256", // ecdsa-with-SHA256
  "1.2.840.10045.4.3.3": "SHA-384", // ecdsa-with-SHA384
  "1.2.840.10045.4.3.4": "SHA-512", // ecdsa-with-SHA512
};

/**
 * The `tls-server-end-point` binding of a certificate: its hash with the
 * hash function of its signature algorithm, or SHA-256 when that is MD5 or
 * SHA-1 or not recognised (RFC 5929 section 4.1).
 *
 * @param der The server's certificate, DER.
 * @returns The binding data.
 */
export async function endPointBinding(der: Uint8Array): Promise<Uint8Array> {
  const hash = SIGNATURE_HASHES[signatureAlgorithm(der) ?? ""] ?? "SHA-256";
  return new Uint8Array(await crypto.subtle.digest(hash, der as BufferSource));
}

/**
 * The OID (dotted) of a certificate's outer signatureAlgorithm:
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, ... }.
 * Undefined when the DER does not read as that.
 *
 * @param der The certificate.
 * @returns The OID, or undefined.
 */
export function signatureAlgorithm(der: Uint8Array): string | undefined {
  const outer = tlv(der, 0);
  if (outer === undefined || outer.tag !== 0x30) return undefined;
  const tbs = tlv(der, outer.start);
  if (tbs === undefined) return undefined;
  const algorithm = tlv(der, tbs.end);
  if (algorithm === undefined || algorithm.tag !== 0x30) return undefined;
  const oid = tlv(der, algorithm.start);
  if (oid === undefined || oid.tag !== 0x06) return undefined;
  return decodeOid(der.subarray(oid.start, oid.end));
}

/** One DER tag-length-value at `at`: its tag and content bounds. */
function tlv(
  der: Uint8Array,
  at: number,
): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > der.length) return undefined;
  const tag = der[at]!;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > der.length) {
      return undefined;
    }
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + der[start + i]!;
    start += bytes;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, start, end };
}

function decodeOid(bytes: Uint8Array): string | undefined {
  if (bytes.length === 0) return undefined;
  const first = bytes[0]!;
  const parts = [
    Math.min(2, Math.floor(first / 40)),
    first - 40 * Math.min(2, Math.floor(first / 40)),
  ];
  let value = 0;
  for (let i = 1; i < bytes.length; i++) {
    value = value * 128 + (bytes[i]! & 0x7f);
    if (!(bytes[i]! & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}
