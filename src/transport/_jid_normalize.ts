/**
 * The normalised form of XMPP addresses (RFC 7622), shared by the stanza
 * tier's `Jid` and the transport tier's known peers store. Pure string code
 * that imports only its Unicode tables, so that both tiers can use it
 * (imports only point downward, and the transport tier is the lower of the
 * two).
 *
 * What RFC 7622 asks, and what is done here:
 *
 * - **Localpart**: the UsernameCaseMapped profile of the PRECIS
 *   IdentifierClass (RFC 7613, which RFC 7622 cites; now RFC 8265). Fullwidth
 *   and halfwidth forms are mapped to their decompositions, then the string
 *   is lower-cased with `toLowerCase()` (RFC 8265's rule; RFC 7613 preferred
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
 *   `"&'/:<>@` (RFC 7622 section 3.3.1). A localpart that holds a
 *   right-to-left character (Bidi_Class R, AL or AN) must keep the Bidi Rule
 *   of RFC 5893 (all six conditions), as RFC 8265 asks.
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
 * - In both: ZERO WIDTH JOINER and NON-JOINER only where RFC 5892's
 *   CONTEXTJ rules allow them: right after a virama, and a non-joiner also
 *   between two letters that join across it (as in Persian).
 *
 * JavaScript exposes no Bidi_Class, Canonical_Combining_Class or
 * Joining_Type: those come from tables generated from the Unicode Character
 * Database (`_jid_tables.ts`, `scripts/unicode/jid_tables.py`); the other
 * character properties are those of the platform's Unicode version, not a
 * frozen PRECIS table. The domainpart's Bidi rule is the URL parser's (UTS
 * #46, CheckBidi). Domain labels are not held to the DNS limits (63
 * bytes a label) or to the LDH rule (`a_b.example` is accepted), as the URL
 * parser does not hold them to it either.
 *
 * @module
 */

import {
  ARABIC_NUMBER,
  EUROPEAN_NUMBER,
  JOINS_LEFT,
  JOINS_RIGHT,
  MN_NOT_NSM,
  OTHER_NEUTRAL,
  RTL,
  TRANSPARENT,
  VIRAMA,
} from "./_jid_tables.ts";

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
  let next = 0; // where the character after this one starts
  for (const c of mapped) {
    const cp = c.codePointAt(0)!;
    const at = next;
    next += c.length;
    if (cp <= 0x7f) {
      if (cp < 0x21 || cp === 0x7f) throw disallowed("local", cp);
      if (LOCAL_FORBIDDEN_ASCII.test(c)) throw forbiddenRfc7622(c);
      continue;
    }
    if (EXCEPTION_PVALID.has(cp)) continue;
    if (cp === ZWNJ || cp === ZWJ) {
      if (!joinerAllowed(mapped, at, cp)) throw outOfContext("local", cp);
      continue;
    }
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
  if (breaksBidiRule(mapped)) {
    throw new JidPartError(
      "local",
      "the localpart mixes directions against the Bidi Rule (RFC 5893)",
    );
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
  let next = 0; // where the character after this one starts
  for (const c of mapped) {
    const cp = c.codePointAt(0)!;
    const at = next;
    next += c.length;
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
    if (cp === ZWNJ || cp === ZWJ) {
      if (!joinerAllowed(mapped, at, cp)) throw outOfContext("resource", cp);
      continue;
    }
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

const ZWNJ = 0x200c;
const ZWJ = 0x200d;
const MARK = /^[\p{Mn}\p{Me}]$/u;

/**
 * RFC 5892's CONTEXTJ rules for the joiner at code unit `at` of `text`:
 * either one right after a virama; a non-joiner also between a character
 * that joins to its left and one that joins to its right (Joining_Type L or
 * D, then R or D), transparent ones between them skipped.
 */
function joinerAllowed(text: string, at: number, cp: number): boolean {
  if (at > 0 && inRanges(VIRAMA, codePointBefore(text, at))) return true;
  if (cp !== ZWNJ) return false;
  let i = at;
  let left = -1;
  while (i > 0 && left < 0) {
    const before = codePointBefore(text, i);
    i -= before > 0xffff ? 2 : 1;
    if (!isTransparent(before)) left = before;
  }
  if (left < 0 || !inRanges(JOINS_LEFT, left)) return false;
  for (let j = at + 1; j < text.length;) {
    const after = text.codePointAt(j)!;
    if (!isTransparent(after)) return inRanges(JOINS_RIGHT, after);
    j += after > 0xffff ? 2 : 1;
  }
  return false;
}

/** The code point that ends at code unit `at` (at least 1) of `text`. */
function codePointBefore(text: string, at: number): number {
  const low = text.charCodeAt(at - 1);
  if (at >= 2 && low >= 0xdc00 && low <= 0xdfff) {
    const high = text.charCodeAt(at - 2);
    if (high >= 0xd800 && high <= 0xdbff) return text.codePointAt(at - 2)!;
  }
  return low;
}

/** Joining_Type T: the marks, and the few others the table holds. */
function isTransparent(cp: number): boolean {
  return MARK.test(String.fromCodePoint(cp)) || inRanges(TRANSPARENT, cp);
}

/** Whether `cp` lies in one of the flat [first, last, ...] `ranges`. */
function inRanges(ranges: readonly number[], cp: number): boolean {
  let low = 0;
  let high = (ranges.length >> 1) - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (cp < ranges[2 * mid]!) high = mid - 1;
    else if (cp > ranges[2 * mid + 1]!) low = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The Bidi_Class of a character a localpart may hold, with R and AL as
 * one (the Bidi Rule treats them alike).
 */
function bidiClass(cp: number): string {
  if (cp <= 0x7f) {
    if (cp >= 0x30 && cp <= 0x39) return "EN";
    if ((cp | 0x20) >= 0x61 && (cp | 0x20) <= 0x7a) return "L";
    if (cp === 0x2b || cp === 0x2d) return "ES";
    if (cp === 0x2c || cp === 0x2e || cp === 0x2f || cp === 0x3a) return "CS";
    if (cp >= 0x23 && cp <= 0x25) return "ET";
    return "ON";
  }
  if (inRanges(RTL, cp)) return "R";
  if (cp === ZWNJ || cp === ZWJ) return "BN";
  if (MARK.test(String.fromCodePoint(cp))) {
    return inRanges(MN_NOT_NSM, cp) ? "L" : "NSM";
  }
  if (inRanges(ARABIC_NUMBER, cp)) return "AN";
  if (inRanges(EUROPEAN_NUMBER, cp)) return "EN";
  if (inRanges(OTHER_NEUTRAL, cp)) return "ON";
  return "L";
}

/**
 * Whether `text` holds a right-to-left character and breaks one of the six
 * conditions of RFC 5893's Bidi Rule.
 */
function breaksBidiRule(text: string): boolean {
  const classes: string[] = [];
  let rtl = false;
  for (const c of text) {
    const kind = bidiClass(c.codePointAt(0)!);
    if (kind === "R" || kind === "AN") rtl = true;
    classes.push(kind);
  }
  if (!rtl) return false;
  const first = classes[0]!;
  let last = classes.length - 1;
  while (last > 0 && classes[last] === "NSM") last--;
  const end = classes[last]!;
  if (first === "R") {
    // 2: no L; 3: ends with R, AL, EN or AN (then marks); 4: not EN and AN.
    return classes.includes("L") ||
      (end !== "R" && end !== "EN" && end !== "AN") ||
      (classes.includes("EN") && classes.includes("AN"));
  }
  // 1: starts with L, R or AL; 5: an L label holds no R, AL or AN, which
  // this one, holding one, does.
  return true;
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
