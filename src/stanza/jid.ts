/**
 * XMPP addresses (JIDs) with the structure of RFC 7622.
 *
 * @module
 */

/** Which part of a JID an error is about. */
export type JidPart = "local" | "domain" | "resource";

/** Largest size of each JID part, in UTF-8 bytes (RFC 7622 section 3). */
export const MAX_JID_PART_BYTES = 1023;

/**
 * A string is not a JID, or a part of one is not allowed.
 *
 * @example Catching a malformed JID
 * ```ts
 * import { Jid, JidError } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => Jid.parse("romeo@"), (e) => e instanceof JidError && e.part === "domain");
 * ```
 */
export class JidError extends TypeError {
  /** The string that was parsed, or the parts joined as far as known. */
  readonly input: string;
  /** The part at fault, or `undefined` when the whole string is. */
  readonly part: JidPart | undefined;

  /**
   * Makes a JID error.
   *
   * @param input The string that was parsed.
   * @param part The part at fault.
   * @param reason Why, in a few words.
   */
  constructor(input: string, part: JidPart | undefined, reason: string) {
    const shown = input.length > 80 ? input.slice(0, 77) + "..." : input;
    super(`Cannot parse JID ${JSON.stringify(shown)}: ${reason}`);
    this.name = "JidError";
    this.input = input;
    this.part = part;
  }
}

// RFC 7622 section 3.3.1: characters the localpart may not hold, plus white
// space and controls (the PRECIS IdentifierClass disallows them).
const LOCAL_FORBIDDEN = /[\s\p{Cc}"&'/:<>@]/u;
// Not a hostname, not IDNA: characters that no domainpart can hold here.
const DOMAIN_FORBIDDEN = /[\s\p{Cc}"&'/:<>@[\]\\]/u;
const IP_LITERAL = /^\[[0-9a-f:.]+\]$/;
// The resource is free-form (PRECIS OpaqueString) but has no controls.
const RESOURCE_FORBIDDEN = /\p{Cc}/u;

/**
 * An XMPP address: `[localpart@]domainpart[/resourcepart]`.
 *
 * Structure and sizes follow RFC 7622: each part is 1 to 1023 UTF-8 bytes,
 * no part may be empty, the localpart may not hold `"&'/:<>@`, white space
 * or controls, the domainpart is lower-cased and loses one trailing dot,
 * and the resource may hold anything but controls (`/` and `@` included).
 * The domainpart is a host name, an IPv4 address or a bracketed IPv6
 * literal; it may not hold white space, controls or `"&'/:<>@[]\` (outside
 * an IPv6 literal) or empty labels.
 *
 * This is not a full PRECIS (RFC 8264/8265) or IDNA implementation: no
 * Unicode normalisation, no case folding of the localpart, no IDNA
 * mapping of the domainpart. Two JIDs compare equal when their normalised
 * strings (lower-cased domain, nothing else) are equal.
 *
 * Instances are immutable.
 *
 * @example Parsing, formatting and comparing
 * ```ts
 * import { Jid } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const jid = Jid.parse("juliet@Capulet.example/balcony/2");
 * assert.equal(jid.local, "juliet");
 * assert.equal(jid.domain, "capulet.example");
 * assert.equal(jid.resource, "balcony/2");
 * assert.equal(jid.bare.toString(), "juliet@capulet.example");
 * assert.ok(jid.equals("juliet@CAPULET.example/balcony/2"));
 * ```
 */
export class Jid {
  /** The localpart, or `undefined` when the JID has none. */
  readonly local: string | undefined;
  /** The domainpart, lower-cased, without a trailing dot. */
  readonly domain: string;
  /** The resourcepart, or `undefined` for a bare JID. */
  readonly resource: string | undefined;
  readonly #text: string;

  /**
   * Makes a JID from its parts, checking each.
   *
   * @param local The localpart, or `undefined`.
   * @param domain The domainpart.
   * @param resource The resourcepart, or `undefined`.
   * @throws {JidError} When a part is empty, too long or holds a character
   *   it may not.
   */
  constructor(
    local: string | undefined,
    domain: string,
    resource?: string | undefined,
  ) {
    const input = (local === undefined ? "" : local + "@") + domain +
      (resource === undefined ? "" : "/" + resource);
    if (local !== undefined) {
      checkPart(input, "local", local);
      if (LOCAL_FORBIDDEN.test(local)) {
        throw new JidError(
          input,
          "local",
          "the localpart holds a forbidden character",
        );
      }
    }
    let host = domain.toLowerCase();
    if (host.length > 1 && host.endsWith(".")) host = host.slice(0, -1);
    checkPart(input, "domain", host);
    if (!IP_LITERAL.test(host)) {
      if (DOMAIN_FORBIDDEN.test(host)) {
        throw new JidError(
          input,
          "domain",
          "the domainpart holds a forbidden character",
        );
      }
      if (host.split(".").some((label) => label === "")) {
        throw new JidError(
          input,
          "domain",
          "the domainpart has an empty label",
        );
      }
    }
    if (resource !== undefined) {
      checkPart(input, "resource", resource);
      if (RESOURCE_FORBIDDEN.test(resource)) {
        throw new JidError(
          input,
          "resource",
          "the resourcepart holds a control character",
        );
      }
    }
    this.local = local;
    this.domain = host;
    this.resource = resource;
    this.#text = (local === undefined ? "" : local + "@") + host +
      (resource === undefined ? "" : "/" + resource);
  }

  /**
   * Parses a JID following RFC 7622 section 3.2: the resource is everything
   * after the first `/`; of what is left, the localpart is everything before
   * the first `@`; the rest is the domainpart.
   *
   * @param text The JID as a string.
   * @returns The JID.
   * @throws {JidError} When the string is not a valid JID.
   *
   * @example Splitting at the first slash, then the first at-sign
   * ```ts
   * import { Jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const jid = Jid.parse("example.com/a@b");
   * assert.equal(jid.local, undefined);
   * assert.equal(jid.resource, "a@b");
   * ```
   */
  static parse(text: string): Jid {
    if (typeof text !== "string") {
      throw new JidError(String(text), undefined, "a JID is a string");
    }
    const slash = text.indexOf("/");
    const head = slash < 0 ? text : text.slice(0, slash);
    const resource = slash < 0 ? undefined : text.slice(slash + 1);
    const at = head.indexOf("@");
    const local = at < 0 ? undefined : head.slice(0, at);
    const domain = at < 0 ? head : head.slice(at + 1);
    // The parts joined back give `text` again, so errors name the input.
    return new Jid(local, domain, resource);
  }

  /**
   * Parses a JID, or gives `undefined` instead of throwing.
   *
   * @param text The JID as a string, or `undefined`.
   * @returns The JID, or `undefined` when absent or invalid.
   *
   * @example Tolerant parsing
   * ```ts
   * import { Jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(Jid.tryParse("a@b")?.local, "a");
   * assert.equal(Jid.tryParse("a@"), undefined);
   * assert.equal(Jid.tryParse(undefined), undefined);
   * ```
   */
  static tryParse(text: string | undefined): Jid | undefined {
    if (text === undefined) return undefined;
    try {
      return Jid.parse(text);
    } catch {
      return undefined;
    }
  }

  /**
   * This JID without its resource (itself when it has none).
   *
   * @returns The bare JID.
   *
   * @example Dropping the resource
   * ```ts
   * import { jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(jid("romeo@montague.example/orchard").bare.toString(), "romeo@montague.example");
   * ```
   */
  get bare(): Jid {
    return this.resource === undefined
      ? this
      : new Jid(this.local, this.domain);
  }

  /**
   * Whether this JID has no resource.
   *
   * @returns `true` for a bare JID.
   *
   * @example Bare or full
   * ```ts
   * import { jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.ok(jid("romeo@montague.example").isBare);
   * assert.ok(!jid("romeo@montague.example/orchard").isBare);
   * ```
   */
  get isBare(): boolean {
    return this.resource === undefined;
  }

  /**
   * The JID as a string, normalised (lower-cased domain, no trailing dot).
   *
   * @returns `[local@]domain[/resource]`.
   *
   * @example Formatting
   * ```ts
   * import { jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(jid("Romeo@Montague.Example./Orchard").toString(), "Romeo@montague.example/Orchard");
   * ```
   */
  toString(): string {
    return this.#text;
  }

  /**
   * Whether two JIDs are the same address (see the class notes: only the
   * domain is case-insensitive).
   *
   * @param other A JID, a string (parsed; an invalid one is never equal),
   *   or `undefined` (never equal).
   * @returns Whether they are equal.
   *
   * @example Comparing
   * ```ts
   * import { jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.ok(jid("a@B.example").equals(jid("a@b.example")));
   * assert.ok(!jid("a@b.example").equals("A@b.example"));
   * assert.ok(!jid("a@b.example").equals("not a jid"));
   * ```
   */
  equals(other: Jid | string | undefined): boolean {
    if (other === undefined) return false;
    const jid = typeof other === "string" ? Jid.tryParse(other) : other;
    return jid !== undefined && jid.#text === this.#text;
  }
}

/**
 * Shorthand for {@linkcode Jid.parse}.
 *
 * @param text The JID as a string.
 * @returns The JID.
 * @throws {JidError} When the string is not a valid JID.
 *
 * @example Parsing a JID
 * ```ts
 * import { jid } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * assert.equal(jid("juliet@capulet.example").local, "juliet");
 * ```
 */
export function jid(text: string): Jid {
  return Jid.parse(text);
}

function checkPart(input: string, part: JidPart, value: string): void {
  const what = part === "local" ? "localpart" : part + "part";
  if (value === "") throw new JidError(input, part, `the ${what} is empty`);
  if (!value.isWellFormed()) {
    throw new JidError(input, part, `the ${what} holds a lone surrogate`);
  }
  if (utf8Bytes(value) > MAX_JID_PART_BYTES) {
    throw new JidError(
      input,
      part,
      `the ${what} is longer than ${MAX_JID_PART_BYTES} bytes`,
    );
  }
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
