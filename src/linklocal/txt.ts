/**
 * The TXT record of a `_presence._tcp` service (XEP-0174): built from what
 * the application chooses to publish, and read from what peers publish.
 *
 * @module
 */

/** The `status` values XEP-0174 registers. */
export type PresenceStatus = "avail" | "away" | "dnd";

/**
 * What an endpoint publishes in its TXT record. Only `status` and `msg`
 * describe presence; everything personal (`first`, `last`, `nick`,
 * `email`, `jid`) is published only when given, so leaving it out keeps it
 * private (XEP-0174's security considerations).
 */
export interface PresenceInfo {
  /** Availability: `avail` (the default), `away` or `dnd`. */
  status?: PresenceStatus;
  /** A free-form status message (`msg`). */
  msg?: string;
  /** First name (`1st`): personal, opt-in. */
  first?: string;
  /** Last name (`last`): personal, opt-in. */
  last?: string;
  /** Nickname (`nick`): personal, opt-in. */
  nick?: string;
  /** E-mail address (`email`): personal, opt-in. */
  email?: string;
  /** A server-based JID (`jid`): personal, opt-in. */
  jid?: string;
  /** Entity capabilities (XEP-0115): `node`, `ver`, `hash`. */
  caps?: { node: string; ver: string; hash: string };
}

/** Most bytes in one TXT string (a DNS character-string). */
const MAX_STRING = 255;
/** The size a DNS-SD TXT record should stay within (RFC 6763 section 6.2). */
export const MAX_TXT_BYTES = 1300;

/**
 * The TXT record for a presence, as ordered key/value pairs: `txtvers=1`
 * first, then `port.p2pj`, then what was given.
 *
 * @param info What to publish.
 * @param port The port the endpoint listens on (`port.p2pj`).
 * @returns The pairs, in publication order.
 * @throws {TypeError} When a string would exceed 255 bytes, or the whole
 *   record 1,300 bytes, or `status` is not a registered value.
 *
 * @example Nothing personal unless given
 * ```ts
 * import { presenceTxt } from "@xmpp-e2e/streams/linklocal";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(presenceTxt({ status: "away" }, 5562), [
 *   ["txtvers", "1"],
 *   ["port.p2pj", "5562"],
 *   ["status", "away"],
 * ]);
 * ```
 */
export function presenceTxt(
  info: PresenceInfo,
  port: number,
): [string, string][] {
  const status = info.status ?? "avail";
  if (!["avail", "away", "dnd"].includes(status)) {
    throw new TypeError(
      `Cannot publish presence: status must be avail, away or dnd (got ${status})`,
    );
  }
  const pairs: [string, string][] = [
    ["txtvers", "1"],
    ["port.p2pj", String(port)],
    ["status", status],
  ];
  const optional: [string, string | undefined][] = [
    ["msg", info.msg],
    ["1st", info.first],
    ["last", info.last],
    ["nick", info.nick],
    ["email", info.email],
    ["jid", info.jid],
    ["node", info.caps?.node],
    ["ver", info.caps?.ver],
    ["hash", info.caps?.hash],
  ];
  for (const [key, value] of optional) {
    if (value !== undefined) pairs.push([key, value]);
  }
  const encoder = new TextEncoder();
  let total = 0;
  for (const [key, value] of pairs) {
    const size = encoder.encode(`${key}=${value}`).length;
    if (size > MAX_STRING) {
      throw new TypeError(
        `Cannot publish presence: ${key} makes a TXT string of ${size} bytes (at most ${MAX_STRING})`,
      );
    }
    total += size + 1;
  }
  if (total > MAX_TXT_BYTES) {
    throw new TypeError(
      `Cannot publish presence: the TXT record would take ${total} bytes (at most ${MAX_TXT_BYTES})`,
    );
  }
  return pairs;
}

/**
 * Reads a TXT record's strings as DNS-SD says (RFC 6763 section 6): keys
 * case-insensitive (given lower-cased), the first occurrence of a key wins,
 * a key without `=` has the empty value, empty strings and strings starting
 * with `=` are ignored; values are read as UTF-8 (bad bytes replaced).
 *
 * @param strings The record's character-strings.
 * @returns The keys and values.
 *
 * @example Read a peer's TXT record
 * ```ts
 * import { parseTxt } from "@xmpp-e2e/streams/linklocal";
 * import assert from "node:assert/strict";
 *
 * const bytes = ["txtvers=1", "Status=away", "status=dnd"].map((s) =>
 *   new TextEncoder().encode(s)
 * );
 * assert.deepEqual(parseTxt(bytes), { txtvers: "1", status: "away" });
 * ```
 */
export function parseTxt(strings: Uint8Array[]): Record<string, string> {
  const decoder = new TextDecoder();
  const out = new Map<string, string>();
  for (const bytes of strings) {
    if (bytes.length === 0 || bytes[0] === 0x3d) continue;
    const eq = bytes.indexOf(0x3d);
    const key = decoder.decode(eq < 0 ? bytes : bytes.subarray(0, eq))
      .toLowerCase();
    if (out.has(key)) continue;
    out.set(key, eq < 0 ? "" : decoder.decode(bytes.subarray(eq + 1)));
  }
  return Object.fromEntries(out);
}
