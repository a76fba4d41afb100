// The rules of the certificate policy (cert_policy.ts documents them), as
// plain functions that say why a certificate fails, or undefined; and how
// the TLS stacks' own refusals map to the same reasons. The transports turn
// a failure into a CertificateError.

import type { CertificateFailure } from "./cert_policy.ts";
import { type LeafFields, readLeaf } from "./_x509.ts";

/** Why a certificate fails, and a sentence saying so. */
export interface Failure {
  reason: CertificateFailure;
  message: string;
}

/** The clock skew allowed where the dates are checked here: 2 minutes. */
export const CLOCK_SKEW_MS = 2 * 60_000;

const MIN_RSA_BITS = 2048;
const MIN_EC_BITS = 256;

function unreadable(error: unknown): Failure {
  const detail = error instanceof Error ? error.message : String(error);
  return {
    reason: "untrusted",
    message: `The peer's certificate cannot be read (${detail})`,
  };
}

function read(der: Uint8Array): LeafFields | Failure {
  try {
    return readLeaf(der);
  } catch (error) {
    return unreadable(error);
  }
}

function validityFailure(
  fields: LeafFields,
  now: number,
  skewMs: number,
): Failure | undefined {
  if (now > fields.notAfter + skewMs) {
    return {
      reason: "expired",
      message: `The peer's certificate expired at ${
        new Date(fields.notAfter).toISOString()
      }`,
    };
  }
  if (now < fields.notBefore - skewMs) {
    return {
      reason: "not-yet-valid",
      message: `The peer's certificate is not valid before ${
        new Date(fields.notBefore).toISOString()
      }`,
    };
  }
  return undefined;
}

function fieldsFailure(fields: LeafFields, now: number): Failure | undefined {
  if (fields.ca) {
    return {
      reason: "ca-as-leaf",
      message:
        "The peer's certificate is a CA certificate (basicConstraints CA:true) used as a leaf",
    };
  }
  const { key } = fields;
  if (key.type === "rsa" && key.bits < MIN_RSA_BITS) {
    return {
      reason: "weak-key",
      message:
        `The peer's certificate has a ${key.bits}-bit RSA key, under the ${MIN_RSA_BITS} bits required`,
    };
  }
  if (key.type === "ec" && key.bits < MIN_EC_BITS) {
    return {
      reason: "weak-key",
      message:
        `The peer's certificate has a ${key.bits}-bit elliptic curve key, under the ${MIN_EC_BITS} bits required`,
    };
  }
  return validityFailure(fields, now, CLOCK_SKEW_MS);
}

/**
 * The leaf rules: not a CA, a strong enough key, within its validity give
 * or take the clock skew. An unreadable certificate is `untrusted`.
 */
export function leafFailure(der: Uint8Array, now: number): Failure | undefined {
  const fields = read(der);
  return "reason" in fields ? fields : fieldsFailure(fields, now);
}

/** The name rule: `serverName` is one of the certificate's names. */
export function nameFailure(
  der: Uint8Array,
  serverName: string,
): Failure | undefined {
  const fields = read(der);
  if ("reason" in fields) return fields;
  if (matchesName(fields, serverName)) return undefined;
  const names = [
    ...fields.dnsNames.map((name) => `DNS:${name}`),
    ...fields.ipAddresses.map((ip) => `IP:${formatIp(ip)}`),
  ];
  return {
    reason: "name-mismatch",
    message: `The peer's certificate is not valid for the name ${
      JSON.stringify(serverName)
    } (its names: ${names.length === 0 ? "none" : names.join(", ")})`,
  };
}

/** The message of a `pin-mismatch`. */
export function pinMessage(fingerprint256: string | undefined): string {
  return "The peer's certificate does not match the pinned fingerprint " +
    `(got ${fingerprint256 ?? "none"})`;
}

function matchesName(fields: LeafFields, serverName: string): boolean {
  const ip = parseIp(serverName.replace(/^\[(.*)\]$/, "$1"));
  if (ip !== undefined) {
    return fields.ipAddresses.some((presented) =>
      presented.length === ip.length &&
      presented.every((byte, i) => byte === ip[i])
    );
  }
  const reference = normalizeDns(serverName);
  if (reference === "" || reference.includes("*")) return false;
  return fields.dnsNames.some((name) => dnsMatches(name, reference));
}

function normalizeDns(name: string): string {
  return name.toLowerCase().replace(/\.$/, "");
}

// RFC 6125 6.4.3, as rustls (webpki) and browsers apply it: a wildcard is the
// whole leftmost label, stands for exactly one non-empty label, and needs at
// least two labels after it.
function dnsMatches(presented: string, reference: string): boolean {
  const name = normalizeDns(presented);
  if (!name.includes("*")) return name === reference;
  if (!name.startsWith("*.") || name.indexOf("*", 1) !== -1) return false;
  const suffix = name.slice(1); // ".example.org"
  if (suffix.split(".").length < 3 || suffix.includes("..")) return false;
  const dot = reference.indexOf(".");
  return dot > 0 && reference.slice(dot) === suffix;
}

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^(?:0|[1-9]\d{0,2})$/.test(part) || Number(part) > 255) {
      return undefined;
    }
    bytes[i] = Number(part);
  }
  return bytes;
}

function ipv6Words(text: string, last: boolean): number[] | undefined {
  if (text === "") return [];
  const groups = text.split(":");
  const words: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!;
    if (last && i === groups.length - 1 && group.includes(".")) {
      const v4 = parseIpv4(group);
      if (v4 === undefined) return undefined;
      words.push(v4[0]! << 8 | v4[1]!, v4[2]! << 8 | v4[3]!);
    } else if (/^[0-9a-f]{1,4}$/i.test(group)) {
      words.push(parseInt(group, 16));
    } else return undefined;
  }
  return words;
}

/** An IPv4 or IPv6 literal as its 4 or 16 bytes, else undefined. */
export function parseIp(text: string): Uint8Array | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined || !text.includes(":")) return v4;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = ipv6Words(halves[0]!, halves.length === 1);
  const tail = halves.length === 2 ? ipv6Words(halves[1]!, true) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const words = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return bytes.join(".");
  const words: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) {
    words.push((bytes[i]! << 8 | bytes[i + 1]!).toString(16));
  }
  return words.join(":");
}

// OpenSSL's X509 verification codes (as node:tls reports them in
// authorizationError and on handshake errors), and node's own name check.
const NODE_CODES: Record<string, CertificateFailure> = {
  CERT_HAS_EXPIRED: "expired",
  CERT_NOT_YET_VALID: "not-yet-valid",
  ERR_TLS_CERT_ALTNAME_INVALID: "name-mismatch",
  HOSTNAME_MISMATCH: "name-mismatch",
  IP_ADDRESS_MISMATCH: "name-mismatch",
  EE_KEY_TOO_SMALL: "weak-key",
};
const UNTRUSTED_CODES = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "CERT_REVOKED",
  "CERT_CHAIN_TOO_LONG",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "INVALID_CA",
  "INVALID_PURPOSE",
  "PATH_LENGTH_EXCEEDED",
  "CA_KEY_TOO_SMALL",
  "CA_MD_TOO_WEAK",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
]);

/**
 * The reason for a node:tls verification code, or undefined when `code` is
 * not about the peer's certificate.
 */
export function nodeCodeReason(code: unknown): CertificateFailure | undefined {
  if (typeof code !== "string") return undefined;
  return NODE_CODES[code] ??
    (UNTRUSTED_CODES.has(code) ? "untrusted" : undefined);
}

/**
 * The reason in a rustls refusal as `Deno.startTls` reports it ("invalid
 * peer certificate: ..."), or undefined when the message is not one.
 * rustls words these both as Display text ("certificate expired: ...") and,
 * in older versions, as the variant's name ("Expired").
 */
export function rustlsReason(message: string): CertificateFailure | undefined {
  const match = /invalid peer certificate: (.*)$/s.exec(message);
  if (match === null) return undefined;
  const detail = match[1]!;
  if (/^(?:Expired(?:Context)?(?![A-Za-z])|certificate expired)/.test(detail)) {
    return "expired";
  }
  if (
    /^(?:NotValidYet(?:Context)?(?![A-Za-z])|certificate not valid yet)/.test(
      detail,
    )
  ) {
    return "not-yet-valid";
  }
  if (
    /^(?:NotValidForName(?:Context)?(?![A-Za-z])|certificate not valid for name)/
      .test(detail)
  ) {
    return "name-mismatch";
  }
  if (/\bCaUsedAsEndEntity\b/.test(detail)) return "ca-as-leaf";
  return "untrusted";
}

/** How a node:tls transport verifies its peer. */
export type NodeVerification =
  | { mode: "name"; serverName: string }
  | { mode: "pin"; pin: string }
  | { mode: "client-certificate" }
  | { mode: "none" };

/** What a node:tls socket tells of its peer after the handshake. */
export interface NodePeer {
  der: Uint8Array | undefined;
  fingerprint256: string | undefined;
  authorized: boolean;
  authorizationError: unknown;
}

/**
 * The policy on a node:tls peer, once the handshake (with
 * `rejectUnauthorized: false`) completed:
 *
 * - "name" (caCerts or the root store): the leaf rules, then node's own
 *   verdict (its chain check allows no clock skew, so the dates are checked
 *   again without), then the name rule.
 * - "pin": the pin, then the leaf rules; neither issuer nor name matters.
 * - "client-certificate" (a recipient that asked for one): the leaf rules on
 *   a presented certificate; none may be presented.
 * - "none": nothing (verification skipped by name).
 */
export function nodePeerFailure(
  verification: NodeVerification,
  peer: NodePeer,
  now: number = Date.now(),
): Failure | undefined {
  const { der } = peer;
  switch (verification.mode) {
    case "none":
      return undefined;
    case "client-certificate":
      return der === undefined ? undefined : leafFailure(der, now);
    case "pin":
      if (peer.fingerprint256 !== verification.pin || der === undefined) {
        return {
          reason: "pin-mismatch",
          message: pinMessage(peer.fingerprint256),
        };
      }
      return leafFailure(der, now);
    case "name": {
      if (der === undefined) {
        return {
          reason: "untrusted",
          message: "The peer presented no certificate",
        };
      }
      const fields = read(der);
      if ("reason" in fields) return fields;
      const leaf = fieldsFailure(fields, now);
      if (leaf !== undefined) return leaf;
      if (!peer.authorized) {
        const code = peer.authorizationError instanceof Error
          ? (peer.authorizationError as Error & { code?: unknown }).code ??
            peer.authorizationError.message
          : peer.authorizationError;
        const reason = nodeCodeReason(code) ?? "untrusted";
        return validityFailure(fields, now, 0) ?? {
          reason,
          message: reason === "name-mismatch"
            ? nameFailure(der, verification.serverName)?.message ??
              `The peer's certificate is not valid for the name ${
                JSON.stringify(verification.serverName)
              }`
            : `The peer's certificate is not trusted (${String(code)})`,
        };
      }
      return nameFailure(der, verification.serverName);
    }
  }
}
