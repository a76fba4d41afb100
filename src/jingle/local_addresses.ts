/**
 * This machine's addresses, to offer as direct SOCKS5 candidates.
 *
 * @module
 */

/** One address of a network interface, as `Deno.networkInterfaces()` has it. */
export type InterfaceAddress = Pick<
  Deno.NetworkInterfaceInfo,
  "family" | "address" | "scopeid"
>;

/**
 * The addresses of this machine that a peer elsewhere could dial, for
 * {@linkcode JingleSocks5Options.directAddresses}: every IPv4 address but
 * loopback and link-local (169.254/16), and every IPv6 address but
 * loopback, link-local (fe80::/10, which needs a zone no candidate can
 * carry) and IPv4-mapped ones; each once, IPv4 first. Offering them tells
 * the peer, and the servers on the way, where this machine is: pass them
 * only when that is wanted. Needs the `sys` permission
 * (`networkInterfaces`).
 *
 * @param interfaces The addresses to choose from; default this machine's.
 * @returns The addresses, as strings `Deno.listen` takes.
 *
 * @example Offering this machine's addresses as direct candidates
 * ```ts
 * import assert from "node:assert/strict";
 * import { localAddresses } from "@xmpp-e2e/streams/jingle";
 *
 * const addresses = localAddresses([
 *   { family: "IPv4", address: "127.0.0.1", scopeid: null },
 *   { family: "IPv4", address: "192.0.2.7", scopeid: null },
 *   { family: "IPv6", address: "fe80::1", scopeid: 2 },
 *   { family: "IPv6", address: "2001:db8::7", scopeid: 0 },
 * ]);
 * assert.deepEqual(addresses, ["192.0.2.7", "2001:db8::7"]);
 * // Then: new JingleStreams(client, { socks5: { directAddresses: addresses }, ... })
 * ```
 */
export function localAddresses(
  interfaces: readonly InterfaceAddress[] = Deno.networkInterfaces(),
): string[] {
  const v4: string[] = [];
  const v6: string[] = [];
  for (const { family, address } of interfaces) {
    if (family === "IPv4") {
      if (!/^(127\.|169\.254\.|0\.)/.test(address)) v4.push(address);
    } else {
      const lower = address.toLowerCase();
      if (
        lower !== "::1" && lower !== "::" && !/^fe[89ab]/.test(lower) &&
        !lower.startsWith("::ffff:")
      ) v6.push(lower);
    }
  }
  return [...new Set([...v4, ...v6])];
}
