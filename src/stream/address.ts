/**
 * Stream addresses as the stream layer compares them: the `to` and `from`
 * of stream headers (RFC 6120 section 4.7), which must match what each end
 * asked for and serves.
 *
 * @module
 */

/**
 * An address in the form it is compared in: localpart and domainpart
 * lower-cased and NFC-normalised, a final dot of the domain dropped, the
 * resource kept as it is (NFC). Not a full RFC 7622 check: the stanza tier's
 * `Jid` parses and refuses; this only decides whether two addresses name
 * the same entity.
 *
 * @param address `[local@]domain[/resource]`.
 * @returns The comparable form.
 */
export function normalizeAddress(address: string): string {
  const slash = address.indexOf("/");
  const bare = slash < 0 ? address : address.slice(0, slash);
  const resource = slash < 0 ? undefined : address.slice(slash + 1);
  const at = bare.lastIndexOf("@");
  const local = at < 0 ? undefined : bare.slice(0, at);
  let domain = at < 0 ? bare : bare.slice(at + 1);
  if (domain.endsWith(".")) domain = domain.slice(0, -1);
  const fold = (part: string) => part.normalize("NFC").toLowerCase();
  return (local === undefined ? "" : `${fold(local)}@`) + fold(domain) +
    (resource === undefined ? "" : `/${resource.normalize("NFC")}`);
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
  const normal = normalizeAddress(address);
  const slash = normal.indexOf("/");
  const bare = slash < 0 ? normal : normal.slice(0, slash);
  return bare.slice(bare.lastIndexOf("@") + 1);
}
