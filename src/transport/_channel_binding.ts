// Channel-binding data of a TLS connection: tls-server-end-point (RFC 5929
// section 4.1) from the server's certificate, and tls-exporter (RFC 9266)
// where node:tls exports keying material. Private module.
//
// What Deno 2.9.6's node:tls offers (measured against OpenSSL 3.0):
// - exportKeyingMaterial() is not there (undefined on TLSSocket), so no
//   tls-exporter; it is used, under TLS 1.3 only, once it appears.
// - getFinished() and getPeerFinished() do not return Finished messages:
//   each is 32 bytes of keying material exported with a Deno-only label
//   (EXPORTER_DENO_TLS_FINISHED_CLIENT or _SERVER, no context), under TLS
//   1.2 as under 1.3, where tls-unique is the 12-byte verify_data of the
//   first Finished (TLS 1.2). Two Deno ends agree on it; no other TLS stack
//   does, so it is no tls-unique, and is not used.

import { Buffer } from "node:buffer";
import type { ChannelBindings, ChannelBindingType } from "./transport.ts";

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

/** The label and length of tls-exporter (RFC 9266 section 2). */
const EXPORTER_LABEL = "EXPORTER-Channel-Binding";
const EXPORTER_LENGTH = 32;

/** What a node:tls socket may offer for tls-exporter. */
interface KeyingMaterialExporter {
  getProtocol(): string | null;
  exportKeyingMaterial?(length: number, label: string, context: Buffer): Buffer;
}

/**
 * The channel bindings a node:tls connection can give: `tls-server-end-point`
 * when the server's certificate is known (the peer's as client, our own as
 * server), and `tls-exporter` under TLS 1.3 when the socket exports keying
 * material (RFC 9266 allows TLS 1.2 only with the extended master secret,
 * which node:tls does not tell).
 *
 * @param socket The connected TLS socket.
 * @param serverCertificate The server's certificate (DER), if known.
 * @param serverEndPoint Its `tls-server-end-point` binding, if computed
 *   already (a server's own, the same for each of its connections).
 * @returns The data by type.
 */
export async function nodeChannelBindings(
  socket: KeyingMaterialExporter,
  serverCertificate: Uint8Array | undefined,
  serverEndPoint?: Promise<Uint8Array>,
): Promise<ChannelBindings> {
  const bindings: Partial<Record<ChannelBindingType, Uint8Array>> = {};
  if (
    socket.getProtocol() === "TLSv1.3" &&
    typeof socket.exportKeyingMaterial === "function"
  ) {
    try {
      // An empty context, which TLS 1.3 treats as no context.
      const data = socket.exportKeyingMaterial(
        EXPORTER_LENGTH,
        EXPORTER_LABEL,
        Buffer.alloc(0),
      );
      if (data?.length === EXPORTER_LENGTH) {
        bindings["tls-exporter"] = new Uint8Array(data);
      }
    } catch {
      // Not exportable on this connection: no tls-exporter.
    }
  }
  if (serverEndPoint !== undefined) {
    // Computed once for many connections: each gets its own copy.
    bindings["tls-server-end-point"] = new Uint8Array(await serverEndPoint);
  } else if (serverCertificate !== undefined) {
    bindings["tls-server-end-point"] = await endPointBinding(
      serverCertificate,
    );
  }
  return bindings;
}
