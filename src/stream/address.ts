/**
 * Stream addresses as the stream layer compares them: the `to` and `from`
 * of stream headers (RFC 6120 section 4.7), which must match what each end
 * asked for and serves.
 *
 * @module
 */

import { normalizeJid, splitJid } from "../transport/_jid_normalize.ts";

/**
 * An address in the form it is compared in: the JID normalised as RFC 7622
 * says (localpart case-mapped, domain in its Unicode form and lower case,
 * resource as it is, each NFC); an address that is not a JID stays as it
 * is, and then equals only itself.
 *
 * @param address `[local@]domain[/resource]`.
 * @returns The comparable form.
 */
export function normalizeAddress(address: string): string {
  try {
    return normalizeJid(address);
  } catch {
    return address;
  }
}

/**
 * Whether two addresses name the same entity (see
 * {@linkcode normalizeAddress}).
 *
 * @param a An address.
 * @param b Another.
 * @returns `true` when they are the same once normalised.
 */
export function sameAddress(a: string, b: string): boolean {
  return normalizeAddress(a) === normalizeAddress(b);
}

/**
 * The domain of an address: what a certificate must name.
 *
 * @param address `[local@]domain[/resource]`.
 * @returns The domainpart, normalised.
 */
export function domainOf(address: string): string {
  return splitJid(normalizeAddress(address))[1];
}
