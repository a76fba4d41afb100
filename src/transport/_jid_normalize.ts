/**
 * The normalised form of XMPP addresses (RFC 7622), shared by the stanza
 * tier's `Jid` and the transport tier's known peers store. Pure string code
 * that imports nothing, so that both tiers can use it (imports only point
 * downward, and the transport tier is the lower of the two).
 *
 * What RFC 7622 asks, and what is done here:
 *
 * - **Localpart**: the UsernameCaseMapped profile of the PRECIS
 *   IdentifierClass (RFC 7613, which RFC 7622 cites; now RFC 8265). Fullwidth
 *   and halfwidth forms are mapped to their decompositions, then the string
 *   is lower-cased with `toLowerCase()` (RFC 7613's rule; RFC 8265 moved to
 *   Unicode Default Case Folding, which differs on a few characters: `ß`
 *   stays `ß` here where case folding gives `ss`, and a final `Σ` becomes
 *   `ς` here, so `ΟΔΟΣ` is `οδος`, not `οδοσ`), then NFC. The result must
 *   hold only IdentifierClass characters, derived from the platform's
 *   Unicode properties as RFC 8264 section 8 does: ASCII `!` to `~`, or
 *   letters (Ll, Lu, Lo, Lm), marks (Mn, Mc) and decimal digits (Nd) that
 *   are not default-ignorable, noncharacters, old Hangul jamo or
 *   compatibility characters (NFKC changes them), with the exceptions of
 *   RFC 5892 section 2.6 and its CONTEXTO rules (middle dot between two `l`,
 *   keraia before Greek, geresh and gershayim after Hebrew, katakana middle
 *   dot with Japanese, no mix of the two Arabic-Indic digit sets), but not
 *   `"&'/:<>@` (RFC 7622 section 3.3.1).
 * - **Domainpart**: an IPv4 address in dotted decimal or a bracketed IPv6
 *   literal stays as it is (lower-cased); an ASCII host name is
 *   lower-cased; anything else (a non-ASCII name, or an `xn--` label) goes
 *   through the platform's UTS #46 processing (`new URL("http://" +
 *   domain).hostname`: mapping, NFC, Punycode, the IDNA validity checks)
 *   and its A-labels are turned back into U-labels, since RFC 7622 section
 *   3.2.1 keeps U-labels in JIDs (`xn--r8jz45g.xn--zckzah` is
 *   `例え.テスト`). One trailing dot is dropped; labels may not be empty;
 *   what the URL parser refuses is refused.
 * - **Resourcepart**: the OpaqueString profile of the PRECIS FreeformClass:
 *   non-ASCII spaces become U+0020, then NFC; no case mapping. Controls,
 *   default-ignorable characters, noncharacters, unassigned code points, old
 *   Hangul jamo, line and paragraph separators, format characters, private
 *   use characters and the RFC 5892 exceptions that are disallowed are
 *   refused.
 *
 * Not covered, since JavaScript exposes no Bidi_Class, Joining_Type or
 * Canonical_Combining_Class: the Bidi Rule (RFC 5893) on localparts and
 * domainparts, and the CONTEXTJ rules: ZERO WIDTH JOINER and NON-JOINER are
 * refused everywhere, even after a virama where PRECIS allows them. The
 * character properties are those of the platform's Unicode version, not a
 * frozen PRECIS table. Domain labels are not held to the DNS limits (63
 * bytes a label) or to the LDH rule (`a_b.example` is accepted), as the URL
 * parser does not hold them to it either.
 *
 * @module
 */

/** Which part of a JID an error is about. */
export type JidPart = "local" | "domain" | "resource";

/**
 * Largest size of each JID part, in UTF-8 bytes (RFC 7622 section 3).
 *
 * @example The value
 * ```ts
 * import { MAX_JID_PART_BYTES } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(MAX_JID_PART_BYTES, 1023);
 * ```
 */
export const MAX_JID_PART_BYTES = 1023;

/**
 * A part of a JID cannot be normalised: the stanza tier turns it into a
 * `JidError`, the known peers store into its own error.
 */
export class JidPartError extends TypeError {
  /** The part at fault. */
  readonly part: JidPart;
  /** Why, as a clause: "the localpart is empty". */
  readonly reason: string;

  /**
   * Makes the error.
   *
   * @param part The part at fault.
   * @param reason Why, as a clause.
   */
  constructor(part: JidPart, reason: string) {
    super(`Cannot normalise the JID: ${reason}`);
    this.name = "JidPartError";
    this.part = part;
    this.reason = reason;
  }
}

// Longest input looked at, in UTF-16 code units: no enforcement step turns
// more than one code unit into less than one UTF-8 byte, so a part longer
// than this cannot come within the limit.
const MAX_INPUT_UNITS = 4 * MAX_JID_PART_BYTES;

const PRINTABLE_ASCII = /^[\x21-\x7e]+$/;
// Printable ASCII (controls and spaces are refused before this is asked).
const ASCII = /^[\x20-\x7e]*$/;
// RFC 7622 section 3.3.1: ASCII7 characters the localpart may not hold.
const LOCAL_FORBIDDEN_ASCII = /["&'/:<>@]/;
// What no domainpart holds here: these, and what the URL parser gives a
// meaning (`%` is decoded, `#` and `?` end the host) or refuses (`^`, `|`).
const DOMAIN_FORBIDDEN = /[\s\p{Cc}"&'/:<>@[\]\\%#?^|]/u;
const IP_LITERAL = /^\[[0-9a-f:.]+\]$/;
const IPV4 =
  /^(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$/;
// A last label the URL parser reads as a number (decimal or 0x hex).
const NUMERIC_LABEL = /(?:^|\.)(?:0x[0-9a-f]*|[0-9]+)$/;
const ASCII_HOST = /^[a-z0-9.-]+$/;
// Fullwidth and halfwidth forms: the characters whose decomposition is
// <wide> or <narrow> (UAX #11), mapped by the width-mapping rule.
const WIDTH_FORMS = /[\u3000\uff01-\uffee]/g;
// Spaces other than U+0020, mapped to it by OpaqueString.
const NON_ASCII_SPACE = /[\p{Zs}]/gu;

// RFC 8264 section 9, as the platform knows the Unicode properties.
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Lm}\p{Mn}\p{Mc}\p{Nd}]$/u;
const FREEFORM_VALID = /^[\p{L}\p{M}\p{N}\p{P}\p{S}\p{Zs}]$/u;
const IGNORABLE =
  /^[\p{Default_Ignorable_Code_Point}\p{Noncharacter_Code_Point}\p{Cn}\p{Cc}]$/u;
// Hangul_Syllable_Type L, V and T (conjoining jamo): JavaScript has no
// property for it, so whole blocks (their unassigned points are refused
// anyway).
const OLD_HANGUL_JAMO = /^[\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]$/;
// RFC 5892 section 2.6: PVALID and DISALLOWED exceptions (CONTEXTO ones are
// checked by contextFault()).
const EXCEPTION_PVALID = new Set([
  0x00df,
  0x03c2,
  0x06fd,
  0x06fe,
  0x0f0b,
  0x3007,
]);
const EXCEPTION_DISALLOWED = new Set([
  0x0640,
  0x07fa,
  0x302e,
  0x302f,
  0x3031,
  0x3032,
  0x3033,
  0x3034,
  0x3035,
  0x303b,
]);
const JAPANESE = /[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]/u;
const ARABIC_INDIC = /[\u0660-\u0669]/;
const EXTENDED_ARABIC_INDIC = /[\u06f0-\u06f9]/;

const WHAT: Record<JidPart, string> = {
  local: "localpart",
  domain: "domainpart",
  resource: "resourcepart",
};

/**
 * Enforces the localpart rules (see the module notes).
 *
 * @param local The localpart as given.
 * @returns It normalised.
 * @throws {JidPartError} When it is empty, too long, or holds a character
 *   that it may not.
 */
export function normalizeLocalpart(local: string): string {
  checkInput("local", local);
  if (PRINTABLE_ASCII.test(local)) {
    const forbidden = LOCAL_FORBIDDEN_ASCII.exec(local);
    if (forbidden !== null) throw forbiddenRfc7622(forbidden[0]);
    const lower = local.toLowerCase();
    checkSize("local", lower);
    return lower;
  }
  const mapped = local.replace(WIDTH_FORMS, (c) => c.normalize("NFKD"))
    .toLowerCase().normalize("NFC");
  checkSize("local", mapped);
  for (const c of mapped) {
    const cp = c.codePointAt(0)!;
    if (cp <= 0x7f) {
      if (cp < 0x21 || cp === 0x7f) throw disallowed("local", cp);
      if (LOCAL_FORBIDDEN_ASCII.test(c)) throw forbiddenRfc7622(c);
      continue;
    }
    if (EXCEPTION_PVALID.has(cp)) continue;
    if (
      EXCEPTION_DISALLOWED.has(cp) || IGNORABLE.test(c) ||
      OLD_HANGUL_JAMO.test(c)
    ) {
      throw disallowed("local", cp);
    }
    if (isContextO(cp)) {
      if (!contextAllows(mapped, c, cp)) throw outOfContext("local", cp);
      continue;
    }
    if (!LETTER_DIGITS.test(c) || c.normalize("NFKC") !== c) {
      throw disallowed("local", cp);
    }
  }
  return mapped;
}

/**
 * Enforces the domainpart rules (see the module notes).
 *
 * @param domain The domainpart as given.
 * @returns It normalised: lower-cased, IDNA-mapped, with U-labels.
 * @throws {JidPartError} When it is empty, too long, holds a character it
 *   may not, has an empty label, or is not a host name or IP address.
 */
export function normalizeDomainpart(domain: string): string {
  checkInput("domain", domain);
  let host = domain;
  if (host.charCodeAt(0) === 0x5b) return ipLiteral(host);
  if (DOMAIN_FORBIDDEN.test(host)) {
    throw new JidPartError(
      "domain",
      "the domainpart holds a forbidden character",
    );
  }
  if (ASCII.test(host)) {
    host = host.toLowerCase();
    if (host.length > 1 && host.endsWith(".")) host = host.slice(0, -1);
    checkLabels(host);
    if (IPV4.test(host)) return host;
    if (NUMERIC_LABEL.test(host)) throw notAHost();
    if (ASCII_HOST.test(host) && !hasALabel(host)) {
      checkSize("domain", host);
      return host;
    }
  }
  // The URL parser's UTS #46 processing: mapping (case, width, the other
  // label separators), NFC, Punycode, and the IDNA validity checks.
  let ascii: string;
  try {
    ascii = new URL(`http://${host}/`).hostname;
  } catch {
    throw new JidPartError(
      "domain",
      "the domainpart is not a valid internationalised domain name",
    );
  }
  if (ascii.length > 1 && ascii.endsWith(".")) ascii = ascii.slice(0, -1);
  checkLabels(ascii);
  // A name that maps to an IPv4 address (fullwidth digits, numbers in
  // other forms) is neither a host name nor an address as written.
  if (/^[0-9.]+$/.test(ascii) || NUMERIC_LABEL.test(ascii)) throw notAHost();
  const unicode = hasALabel(ascii) ? toUnicode(ascii) : ascii;
  checkSize("domain", unicode);
  return unicode;
}

/**
 * Enforces the resourcepart rules (see the module notes).
 *
 * @param resource The resourcepart as given.
 * @returns It normalised (non-ASCII spaces mapped, NFC).
 * @throws {JidPartError} When it is empty, too long, or holds a character
 *   that it may not.
 */
export function normalizeResourcepart(resource: string): string {
  checkInput("resource", resource);
  if (PRINTABLE_ASCII.test(resource)) {
    checkSize("resource", resource);
    return resource;
  }
  const mapped = resource.replace(NON_ASCII_SPACE, " ").normalize("NFC");
  checkSize("resource", mapped);
  for (const c of mapped) {
    const cp = c.codePointAt(0)!;
    if (cp <= 0x7f) {
      if (cp < 0x20 || cp === 0x7f) {
        throw new JidPartError(
          "resource",
          `the resourcepart holds a control character (${codePoint(cp)})`,
        );
      }
      continue;
    }
    if (EXCEPTION_PVALID.has(cp)) continue;
    if (
      EXCEPTION_DISALLOWED.has(cp) || IGNORABLE.test(c) ||
      OLD_HANGUL_JAMO.test(c) || !FREEFORM_VALID.test(c)
    ) {
      throw disallowed("resource", cp);
    }
    if (isContextO(cp)) {
      if (!contextAllows(mapped, c, cp)) throw outOfContext("resource", cp);
    }
  }
  return mapped;
}

/**
 * Splits a JID as RFC 7622 section 3.2 says (the resource is everything
 * after the first `/`; of what is left, the localpart is everything before
 * the first `@`) and normalises each part.
 *
 * @param text The JID.
 * @returns Its normalised parts.
 * @throws {JidPartError} When a part cannot be normalised.
 */
export function normalizeJidParts(
  text: string,
): [string | undefined, string, string | undefined] {
  const [local, domain, resource] = splitJid(text);
  return [
    local === undefined ? undefined : normalizeLocalpart(local),
    normalizeDomainpart(domain),
    resource === undefined ? undefined : normalizeResourcepart(resource),
  ];
}

/**
 * Splits a JID into its parts as given (RFC 7622 section 3.2).
 *
 * @param text The JID.
 * @returns Localpart (or undefined), domainpart, resourcepart (or undefined).
 */
export function splitJid(
  text: string,
): [string | undefined, string, string | undefined] {
  const slash = text.indexOf("/");
  const head = slash < 0 ? text : text.slice(0, slash);
  const resource = slash < 0 ? undefined : text.slice(slash + 1);
  const at = head.indexOf("@");
  return at < 0
    ? [undefined, head, resource]
    : [head.slice(0, at), head.slice(at + 1), resource];
}

/**
 * The normalised string of a JID: `[local@]domain[/resource]`, each part
 * normalised.
 *
 * @param text The JID.
 * @returns It normalised.
 * @throws {JidPartError} When a part cannot be normalised.
 */
export function normalizeJid(text: string): string {
  const [local, domain, resource] = normalizeJidParts(text);
  return (local === undefined ? "" : local + "@") + domain +
    (resource === undefined ? "" : "/" + resource);
}

function checkInput(part: JidPart, value: string): void {
  if (value === "") {
    throw new JidPartError(part, `the ${WHAT[part]} is empty`);
  }
  if (value.length > MAX_INPUT_UNITS) throw tooLong(part);
  if (!value.isWellFormed()) {
    throw new JidPartError(part, `the ${WHAT[part]} holds a lone surrogate`);
  }
}

function checkSize(part: JidPart, value: string): void {
  if (value === "") {
    throw new JidPartError(part, `the ${WHAT[part]} is empty`);
  }
  if (utf8Bytes(value) > MAX_JID_PART_BYTES) throw tooLong(part);
}

function tooLong(part: JidPart): JidPartError {
  return new JidPartError(
    part,
    `the ${WHAT[part]} is longer than ${MAX_JID_PART_BYTES} bytes`,
  );
}

function checkLabels(host: string): void {
  if (host.split(".").some((label) => label === "")) {
    throw new JidPartError("domain", "the domainpart has an empty label");
  }
}

function notAHost(): JidPartError {
  return new JidPartError(
    "domain",
    "the domainpart is neither a host name nor an IPv4 address in dotted decimal",
  );
}

function ipLiteral(host: string): string {
  const lower = host.toLowerCase();
  let valid = IP_LITERAL.test(lower);
  if (valid) {
    try {
      new URL(`http://${lower}/`);
    } catch {
      valid = false;
    }
  }
  if (!valid) {
    throw new JidPartError(
      "domain",
      "the domainpart is not a valid IPv6 literal",
    );
  }
  return lower;
}

function hasALabel(host: string): boolean {
  return host.startsWith("xn--") || host.includes(".xn--");
}

function forbiddenRfc7622(c: string): JidPartError {
  return new JidPartError(
    "local",
    `the localpart holds a forbidden character (${c})`,
  );
}

function disallowed(part: JidPart, cp: number): JidPartError {
  return new JidPartError(
    part,
    `the ${WHAT[part]} holds ${
      codePoint(cp)
    }, which PRECIS does not allow there`,
  );
}

function codePoint(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

function isContextO(cp: number): boolean {
  return cp === 0x00b7 || cp === 0x0375 || cp === 0x05f3 || cp === 0x05f4 ||
    cp === 0x30fb || (cp >= 0x0660 && cp <= 0x0669) ||
    (cp >= 0x06f0 && cp <= 0x06f9);
}

/**
 * The CONTEXTO rules of RFC 5892 appendix A.3 to A.9, checked on the
 * normalised part.
 *
 * @param text The whole part.
 * @param c The character.
 * @param cp Its code point.
 * @returns Whether the context of every occurrence allows it.
 */
function contextAllows(text: string, c: string, cp: number): boolean {
  // Each rule is about one neighbour or the whole part: with the character
  // appearing more than once, every occurrence is checked.
  let from = 0;
  for (let at = text.indexOf(c); at >= 0; at = text.indexOf(c, from)) {
    from = at + c.length;
    const before = text[at - 1];
    const after = text.slice(from, from + 2).match(/^./su)?.[0];
    let ok = true;
    if (cp === 0x00b7) ok = before === "l" && after === "l";
    else if (cp === 0x0375) {
      ok = after !== undefined && /\p{Script=Greek}/u.test(after);
    } else if (cp === 0x05f3 || cp === 0x05f4) {
      const prev = text.slice(Math.max(0, at - 2), at).match(/.$/su)?.[0];
      ok = prev !== undefined && /\p{Script=Hebrew}/u.test(prev);
    } else if (cp === 0x30fb) ok = JAPANESE.test(text);
    else if (cp <= 0x0669) ok = !EXTENDED_ARABIC_INDIC.test(text);
    else ok = !ARABIC_INDIC.test(text);
    if (!ok) return false;
  }
  return true;
}

function outOfContext(part: JidPart, cp: number): JidPartError {
  return new JidPartError(
    part,
    `the ${WHAT[part]} holds ${
      codePoint(cp)
    } where its RFC 5892 context rule does not allow it`,
  );
}

/**
 * Turns the A-labels of a host name, as the URL parser gives it, into
 * U-labels (RFC 3492 decoding; the URL parser has checked them).
 *
 * @param host The ASCII host name.
 * @returns It with U-labels.
 */
function toUnicode(host: string): string {
  return host.split(".").map((label) =>
    label.startsWith("xn--") ? punycodeDecode(label.slice(4)) : label
  ).join(".");
}

function punycodeDecode(input: string): string {
  const BASE = 36, T_MIN = 1, T_MAX = 26;
  const output: number[] = [];
  const basic = input.lastIndexOf("-");
  for (let j = 0; j < basic; j++) output.push(input.charCodeAt(j));
  let n = 128, i = 0, bias = 72;
  for (let index = basic > 0 ? basic + 1 : 0; index < input.length;) {
    const old = i;
    let w = 1;
    for (let k = BASE;; k += BASE) {
      const digit = punycodeDigit(input.charCodeAt(index++));
      if (digit >= BASE) throw invalidALabel();
      i += digit * w;
      const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
      if (digit < t) break;
      w *= BASE - t;
      if (index >= input.length) throw invalidALabel();
    }
    const count = output.length + 1;
    bias = adapt(i - old, count, old === 0);
    n += Math.floor(i / count);
    i %= count;
    if (n > 0x10ffff) throw invalidALabel();
    output.splice(i++, 0, n);
  }
  return String.fromCodePoint(...output);
}

function punycodeDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 22; // 0-9 are 26-35
  if (c >= 0x61 && c <= 0x7a) return c - 0x61; // a-z are 0-25
  if (c >= 0x41 && c <= 0x5a) return c - 0x41;
  return 36;
}

function adapt(delta: number, count: number, first: boolean): number {
  delta = first ? Math.floor(delta / 700) : delta >> 1;
  delta += Math.floor(delta / count);
  let k = 0;
  while (delta > 455) { // ((BASE - T_MIN) * T_MAX) >> 1
    delta = Math.floor(delta / 35);
    k += 36;
  }
  return k + Math.floor((36 * delta) / (delta + 38));
}

function invalidALabel(): JidPartError {
  return new JidPartError("domain", "the domainpart holds an invalid A-label");
}

function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}
