// A strict reader for the few fields of an X.509 certificate (RFC 5280) that
// the certificate policy looks at: validity, basicConstraints, the DNS and
// IP names of subjectAltName, and the size of the public key. Synchronous,
// no dependency: the TLS paths run it on every handshake, and loading
// @peculiar/x509 (which patches the global Reflect) there would make every
// TLS user pay for what only certificate generation needs.
//
// DER only: definite lengths, low tag numbers, every length checked against
// its enclosing element. Anything else is a TypeError.

/** The public key of a certificate, as far as its strength goes. */
export type LeafKey =
  | { type: "rsa"; bits: number }
  | { type: "ec"; bits: number }
  | { type: "other"; oid: string };

/** What the policy reads from a certificate. */
export interface LeafFields {
  /** notBefore, milliseconds since the epoch. */
  notBefore: number;
  /** notAfter, milliseconds since the epoch. */
  notAfter: number;
  /** basicConstraints cA. */
  ca: boolean;
  /** Whether a subjectAltName extension is present. */
  hasSubjectAltName: boolean;
  /** subjectAltName dNSName entries, as written. */
  dnsNames: string[];
  /** subjectAltName iPAddress entries (4 or 16 bytes). */
  ipAddresses: Uint8Array[];
  /** The public key. */
  key: LeafKey;
}

interface Tlv {
  tag: number;
  // Content start and end (exclusive).
  start: number;
  end: number;
}

const SEQUENCE = 0x30;
const OID = 0x06;
const BOOLEAN = 0x01;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OCTET_STRING = 0x04;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;
const DNS_NAME = 0x82; // [2] IMPLICIT IA5String
const IP_ADDRESS = 0x87; // [7] IMPLICIT OCTET STRING

const BASIC_CONSTRAINTS = "551d13"; // 2.5.29.19
const SUBJECT_ALT_NAME = "551d11"; // 2.5.29.17
const RSA_ENCRYPTION = "2a864886f70d010101"; // 1.2.840.113549.1.1.1
const RSASSA_PSS = "2a864886f70d01010a"; // 1.2.840.113549.1.1.10
const EC_PUBLIC_KEY = "2a8648ce3d0201"; // 1.2.840.10045.2.1

function malformed(what: string): TypeError {
  return new TypeError(`Cannot read the certificate: ${what}`);
}

class Reader {
  readonly #bytes: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  get done(): boolean {
    return this.#pos >= this.#end;
  }

  peek(): number | undefined {
    return this.done ? undefined : this.#bytes[this.#pos];
  }

  next(expected?: number): Tlv {
    const bytes = this.#bytes;
    if (this.#pos + 2 > this.#end) throw malformed("truncated element");
    const tag = bytes[this.#pos]!;
    if ((tag & 0x1f) === 0x1f) throw malformed("high tag number");
    if (expected !== undefined && tag !== expected) {
      throw malformed(
        `tag ${tag.toString(16)} where ${expected.toString(16)} belongs`,
      );
    }
    let length = bytes[this.#pos + 1]!;
    let pos = this.#pos + 2;
    if (length & 0x80) {
      const count = length & 0x7f;
      if (count === 0 || count > 4) throw malformed("unsupported length");
      if (pos + count > this.#end) throw malformed("truncated length");
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + bytes[pos++]!;
    }
    if (pos + length > this.#end) throw malformed("length past its end");
    this.#pos = pos + length;
    return { tag, start: pos, end: pos + length };
  }

  // A reader over the content of the next element.
  enter(expected: number): Reader {
    const { start, end } = this.next(expected);
    return new Reader(this.#bytes, start, end);
  }
}

function hex(bytes: Uint8Array, { start, end }: Tlv): string {
  let out = "";
  for (let i = start; i < end; i++) {
    out += bytes[i]!.toString(16).padStart(2, "0");
  }
  return out;
}

function ascii(bytes: Uint8Array, { start, end }: Tlv): string {
  let out = "";
  for (let i = start; i < end; i++) out += String.fromCharCode(bytes[i]!);
  return out;
}

function readTime(bytes: Uint8Array, tlv: Tlv): number {
  const text = ascii(bytes, tlv);
  const match = tlv.tag === UTC_TIME
    ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text)
    : tlv.tag === GENERALIZED_TIME
    ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(text)
    : null;
  if (match === null) throw malformed(`bad time ${JSON.stringify(text)}`);
  let year = Number(match[1]);
  // RFC 5280 4.1.2.5.1: UTCTime YY >= 50 is 19YY, else 20YY.
  if (tlv.tag === UTC_TIME) year += year >= 50 ? 1900 : 2000;
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (
    check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day ||
    hour > 23 || minute > 59 || second > 59
  ) {
    throw malformed(`bad time ${JSON.stringify(text)}`);
  }
  return ms;
}

function bitLength(bytes: Uint8Array, { start, end }: Tlv): number {
  let i = start;
  while (i < end && bytes[i] === 0) i++;
  if (i === end) return 0;
  return (end - i - 1) * 8 + (32 - Math.clz32(bytes[i]!));
}

function readKey(bytes: Uint8Array, spki: Reader): LeafKey {
  const algorithm = spki.enter(SEQUENCE);
  const oid = hex(bytes, algorithm.next(OID));
  const bits = spki.next(BIT_STRING);
  if (bits.end === bits.start || bytes[bits.start] !== 0) {
    throw malformed("public key is not whole bytes");
  }
  const key = { tag: BIT_STRING, start: bits.start + 1, end: bits.end };
  if (oid === RSA_ENCRYPTION || oid === RSASSA_PSS) {
    const rsa = new Reader(bytes, key.start, key.end).enter(SEQUENCE);
    return { type: "rsa", bits: bitLength(bytes, rsa.next(INTEGER)) };
  }
  if (oid === EC_PUBLIC_KEY) {
    const length = key.end - key.start;
    const form = bytes[key.start];
    const coordinate = form === 0x04
      ? (length - 1) / 2
      : form === 0x02 || form === 0x03
      ? length - 1
      : NaN;
    if (!Number.isInteger(coordinate) || coordinate < 1) {
      throw malformed("bad elliptic curve point");
    }
    return { type: "ec", bits: coordinate * 8 };
  }
  return { type: "other", oid };
}

function readBasicConstraints(bytes: Uint8Array, value: Reader): boolean {
  const constraints = value.enter(SEQUENCE);
  if (constraints.peek() !== BOOLEAN) return false;
  const ca = constraints.next(BOOLEAN);
  if (ca.end - ca.start !== 1) throw malformed("bad boolean");
  return bytes[ca.start] !== 0;
}

function readNames(
  bytes: Uint8Array,
  value: Reader,
  fields: LeafFields,
): void {
  const names = value.enter(SEQUENCE);
  while (!names.done) {
    const name = names.next();
    if (name.tag === DNS_NAME) fields.dnsNames.push(ascii(bytes, name));
    else if (name.tag === IP_ADDRESS) {
      const length = name.end - name.start;
      if (length !== 4 && length !== 16) throw malformed("bad IP address");
      fields.ipAddresses.push(bytes.slice(name.start, name.end));
    }
  }
}

/**
 * Reads the fields the certificate policy needs from a DER certificate.
 *
 * @param der The certificate.
 * @returns Its validity, CA flag, names and key size.
 * @throws {TypeError} When it is not a well-formed DER certificate.
 */
export function readLeaf(der: Uint8Array): LeafFields {
  const whole = new Reader(der, 0, der.length);
  const certificate = whole.enter(SEQUENCE);
  if (!whole.done) throw malformed("data after the certificate");
  const tbs = certificate.enter(SEQUENCE);
  if (tbs.peek() === 0xa0) tbs.next(0xa0); // version
  tbs.next(INTEGER); // serialNumber
  tbs.next(SEQUENCE); // signature
  tbs.next(SEQUENCE); // issuer
  const validity = tbs.enter(SEQUENCE);
  const notBefore = readTime(der, validity.next());
  const notAfter = readTime(der, validity.next());
  tbs.next(SEQUENCE); // subject
  const fields: LeafFields = {
    notBefore,
    notAfter,
    ca: false,
    hasSubjectAltName: false,
    dnsNames: [],
    ipAddresses: [],
    key: readKey(der, tbs.enter(SEQUENCE)),
  };
  if (tbs.peek() === 0x81) tbs.next(0x81); // issuerUniqueID
  if (tbs.peek() === 0x82) tbs.next(0x82); // subjectUniqueID
  if (tbs.peek() === 0xa3) {
    const extensions = tbs.enter(0xa3).enter(SEQUENCE);
    const seen = new Set<string>();
    while (!extensions.done) {
      const extension = extensions.enter(SEQUENCE);
      const oid = hex(der, extension.next(OID));
      if (seen.has(oid)) throw malformed(`extension ${oid} twice`);
      seen.add(oid);
      if (extension.peek() === BOOLEAN) extension.next(BOOLEAN); // critical
      const value = extension.enter(OCTET_STRING);
      if (oid === BASIC_CONSTRAINTS) {
        fields.ca = readBasicConstraints(der, value);
      } else if (oid === SUBJECT_ALT_NAME) {
        fields.hasSubjectAltName = true;
        readNames(der, value, fields);
      }
    }
  }
  if (!tbs.done) throw malformed("unexpected data in the certificate");
  return fields;
}
