/**
 * What browsing tells about the peers on the local link.
 *
 * @module
 */

/** An address a peer can be reached at. */
export interface LinkLocalAddress {
  /**
   * The address to dial: IPv4 (`169.254.7.2`), or IPv6 with its zone when
   * it is link-local (`fe80::1%eth0`).
   */
  hostname: string;
  /** The address family. */
  family: "IPv4" | "IPv6";
  /** The interface it was seen on. */
  interface: string;
}

/** A `_presence._tcp` service instance, resolved. */
export interface LinkLocalPeer {
  /** The service instance name, `user@machine`: the peer's address. */
  name: string;
  /** The host its SRV record points at (`machine.local`). */
  host: string;
  /** The port its SRV record gives. */
  port: number;
  /** Its TXT record, keys lower-cased (`txtvers`, `status`, `msg`, ...). */
  txt: Record<string, string>;
  /** Its addresses, IPv4 first. */
  addresses: LinkLocalAddress[];
}

/**
 * A change on the link: a peer `appeared` (resolved for the first time),
 * `changed` (its TXT record, port or addresses), or is `gone` (it said
 * goodbye, or its records expired).
 */
export interface PeerEvent {
  /** What happened. */
  type: "appeared" | "changed" | "gone";
  /** The peer, as it is now (as it was last, when gone). */
  peer: LinkLocalPeer;
}
