/**
 * XMPP addresses (JIDs) as RFC 7622 defines them: structure, sizes and the
 * normalised form every comparison uses.
 *
 * @module
 */

import {
  type JidPart,
  JidPartError,
  MAX_JID_PART_BYTES,
  normalizeDomainpart,
  normalizeLocalpart,
  normalizeResourcepart,
  splitJid,
} from "../transport/_jid_normalize.ts";

export { type JidPart, MAX_JID_PART_BYTES };

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
   * @example Thrown by jid()
   * ```ts
   * import { jid, JidError } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.throws(() => jid("@pronto"), JidError);
   * ```
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

/**
 * An XMPP address: `[localpart@]domainpart[/resourcepart]`, normalised as
 * RFC 7622 says, so that two spellings of one address are one JID.
 *
 * - The localpart is case-folded and NFC (the PRECIS UsernameCaseMapped
 *   profile): `KSTO@nws.noaa.gov` is `ksto@nws.noaa.gov`, `ＲＯＭＥＯ` is
 *   `romeo`, a decomposed `é` is the composed one. It may hold only PRECIS
 *   IdentifierClass characters, and not `"&'/:<>@`.
 * - The domainpart is lower-cased and IDNA-mapped (UTS #46), keeps U-labels
 *   (`xn--r8jz45g.xn--zckzah` is `例え.テスト`) and loses one trailing dot;
 *   an IPv4 address or a bracketed IPv6 literal stays as written.
 * - The resourcepart keeps its case and is NFC (the PRECIS OpaqueString
 *   profile); it may hold spaces, `/` and `@`, but no controls.
 * - Each part is 1 to 1023 UTF-8 bytes once normalised.
 *
 * The parts, {@linkcode Jid.toString}, {@linkcode Jid.bare} and
 * {@linkcode Jid.equals} all give the normalised form. What of PRECIS and
 * IDNA is covered, and what is not (the Bidi Rule, the CONTEXTJ rules,
 * the DNS length and LDH rules), is listed in
 * `src/transport/_jid_normalize.ts`. Case mapping is `toLowerCase()`, the
 * rule of RFC 7613 that RFC 7622 cites: `ß` stays `ß` (full case folding,
 * RFC 8265's rule, would give `ss`), and a final `Σ` becomes `ς`.
 *
 * Instances are immutable.
 *
 * @example Parsing, formatting and comparing
 * ```ts
 * import { Jid } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const jid = Jid.parse("Juliet@Capulet.example/Balcony/2");
 * assert.equal(jid.local, "juliet");
 * assert.equal(jid.domain, "capulet.example");
 * assert.equal(jid.resource, "Balcony/2");
 * assert.equal(jid.bare.toString(), "juliet@capulet.example");
 * assert.ok(jid.equals("JULIET@CAPULET.example/Balcony/2"));
 * assert.ok(!jid.equals("juliet@capulet.example/balcony/2"));
 * ```
 */
export class Jid {
  /** The localpart, normalised, or `undefined` when the JID has none. */
  readonly local: string | undefined;
  /** The domainpart, normalised: lower-cased, U-labels, no trailing dot. */
  readonly domain: string;
  /** The resourcepart, normalised (NFC), or `undefined` for a bare JID. */
  readonly resource: string | undefined;
  readonly #text: string;

  /**
   * Makes a JID from its parts, checking and normalising each.
   *
   * @example From its parts, normalised
   * ```ts
   * import { Jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const romeo = new Jid("Romeo", "Forza.example", "orchard");
   * assert.equal(romeo.toString(), "romeo@forza.example/orchard");
   * ```
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
    let normal: [string | undefined, string, string | undefined];
    try {
      normal = [
        local === undefined ? undefined : normalizeLocalpart(local),
        normalizeDomainpart(domain),
        resource === undefined ? undefined : normalizeResourcepart(resource),
      ];
    } catch (error) {
      if (!(error instanceof JidPartError)) throw error;
      const input = (local === undefined ? "" : local + "@") + domain +
        (resource === undefined ? "" : "/" + resource);
      throw new JidError(input, error.part, error.reason);
    }
    [this.local, this.domain, this.resource] = normal;
    this.#text = (this.local === undefined ? "" : this.local + "@") +
      this.domain + (this.resource === undefined ? "" : "/" + this.resource);
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
    // The parts joined back give `text` again, so errors name the input.
    const [local, domain, resource] = splitJid(text);
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
   * The JID as a string, normalised (see the class notes).
   *
   * @returns `[local@]domain[/resource]`.
   *
   * @example Formatting
   * ```ts
   * import { jid } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.equal(jid("Romeo@Montague.Example./Orchard").toString(), "romeo@montague.example/Orchard");
   * assert.equal(jid("ＲＯＭＥＯ@例え.テスト").toString(), "romeo@例え.テスト");
   * ```
   */
  toString(): string {
    return this.#text;
  }

  /**
   * Whether two JIDs are the same address: their normalised forms are
   * equal (see the class notes: localpart and domainpart compare without
   * case, the resourcepart with it).
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
   * assert.ok(jid("KSTO@nws.noaa.gov").equals("ksto@nws.noaa.gov"));
   * assert.ok(!jid("a@b.example/R").equals("a@b.example/r"));
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
