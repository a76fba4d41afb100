// The multicast DNS sockets of a browser: one UDP socket per family bound
// to port 5353 on the wildcard address (on Linux a socket bound to an
// interface's unicast address receives no multicast), sharing the port
// with other responders (reuseAddr), member of 224.0.0.251 and ff02::fb on
// each chosen interface. Each packet is told with the interface it came
// from, found from its source address (the sockets do not say).

import dgram from "node:dgram";
import { Buffer } from "node:buffer";

/** The mDNS port and groups (RFC 6762 section 3). */
export const MDNS_PORT = 5353;
const GROUP_V4 = "224.0.0.251";
const GROUP_V6 = "ff02::fb";

/** A network interface mDNS runs on. */
export interface MdnsInterface {
  /** Its name (`eth0`), the zone of its IPv6 link-local addresses. */
  name: string;
  /** Its IPv4 addresses, with their netmasks. */
  ipv4: { address: string; netmask: string }[];
  /** Whether it has an IPv6 address (so ff02::fb is joined on it). */
  ipv6: boolean;
  /** Its IPv6 addresses. */
  ipv6Addresses: string[];
}

/** A packet received, with where it came from. */
export interface MdnsPacket {
  bytes: Uint8Array;
  address: string;
  port: number;
  family: "IPv4" | "IPv6";
  /** The interface whose subnet the source is on. */
  interface: MdnsInterface;
}

/** The error of a browser's or responder's sockets. */
export class MdnsError extends Error {
  /**
   * Makes the error.
   *
   * @param message What failed.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MdnsError";
  }
}

/**
 * The interfaces to run on: the named ones, or every one with an address
 * that is not loopback. Reading them needs `--allow-sys`.
 *
 * @param names Interface names, or undefined for all.
 * @returns The interfaces.
 * @throws {MdnsError} When a named interface does not exist or none is left.
 */
export function findInterfaces(names?: string[]): MdnsInterface[] {
  const byName = new Map<string, MdnsInterface>();
  for (const i of Deno.networkInterfaces()) {
    if (i.address === "127.0.0.1" || i.address === "::1") continue;
    if (names !== undefined && !names.includes(i.name)) continue;
    const entry = byName.get(i.name) ??
      { name: i.name, ipv4: [], ipv6: false, ipv6Addresses: [] };
    if (i.family === "IPv4") {
      entry.ipv4.push({ address: i.address, netmask: i.netmask });
    } else {
      entry.ipv6 = true;
      entry.ipv6Addresses.push(i.address);
    }
    byName.set(i.name, entry);
  }
  for (const name of names ?? []) {
    if (!byName.has(name)) {
      throw new MdnsError(
        `Cannot use interface ${name}: it does not exist or has no address`,
      );
    }
  }
  if (byName.size === 0) {
    throw new MdnsError("Cannot run mDNS: no interface with an address");
  }
  return [...byName.values()];
}

function ipv4ToNumber(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** Whether an IPv4 address is on one of an interface's subnets. */
export function onSubnet(address: string, iface: MdnsInterface): boolean {
  const a = ipv4ToNumber(address);
  return iface.ipv4.some(({ address: own, netmask }) => {
    const mask = ipv4ToNumber(netmask);
    return ((a & mask) >>> 0) === ((ipv4ToNumber(own) & mask) >>> 0);
  });
}

/** Whether an IPv6 address is link-local (fe80::/10). */
export function isLinkLocal6(address: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(address);
}

/** One socket per family, on the chosen interfaces. */
export class MdnsSocket {
  readonly interfaces: MdnsInterface[];
  readonly #v4: dgram.Socket | undefined;
  readonly #v6: dgram.Socket | undefined;
  readonly #onPacket: (packet: MdnsPacket) => void;
  #closed = false;
  /** Sends one at a time: each sets the multicast interface first. */
  #sending: Promise<void> = Promise.resolve();

  private constructor(
    interfaces: MdnsInterface[],
    v4: dgram.Socket | undefined,
    v6: dgram.Socket | undefined,
    onPacket: (packet: MdnsPacket) => void,
  ) {
    this.interfaces = interfaces;
    this.#v4 = v4;
    this.#v6 = v6;
    this.#onPacket = onPacket;
    v4?.on(
      "message",
      (msg, rinfo) => this.#receive(msg, rinfo.address, rinfo.port, "IPv4"),
    );
    v6?.on(
      "message",
      (msg, rinfo) => this.#receive(msg, rinfo.address, rinfo.port, "IPv6"),
    );
  }

  /**
   * Binds and joins the groups.
   *
   * @param interfaces Where to run.
   * @param onPacket Called with each packet from one of those interfaces.
   * @param onError Called once if a socket fails later.
   * @returns The sockets.
   * @throws {MdnsError} When binding or joining fails.
   */
  static async open(
    interfaces: MdnsInterface[],
    onPacket: (packet: MdnsPacket) => void,
    onError: (error: MdnsError) => void,
  ): Promise<MdnsSocket> {
    const wants4 = interfaces.some((i) => i.ipv4.length > 0);
    const wants6 = interfaces.some((i) => i.ipv6);
    const opened: dgram.Socket[] = [];
    try {
      const v4 = wants4 ? await bind("udp4", "0.0.0.0") : undefined;
      if (v4) opened.push(v4);
      const v6 = wants6 ? await bind("udp6", "::") : undefined;
      if (v6) opened.push(v6);
      for (const iface of interfaces) {
        const own = iface.ipv4[0]?.address;
        if (v4 && own !== undefined) v4.addMembership(GROUP_V4, own);
        if (v6 && iface.ipv6) v6.addMembership(GROUP_V6, `::%${iface.name}`);
      }
      v4?.setMulticastTTL(255);
      v6?.setMulticastTTL(255);
      const socket = new MdnsSocket(interfaces, v4, v6, onPacket);
      let failed = false;
      for (const s of opened) {
        s.on("error", (cause) => {
          if (failed || socket.#closed) return;
          failed = true;
          onError(new MdnsError("The mDNS socket failed", { cause }));
        });
      }
      return socket;
    } catch (cause) {
      for (const s of opened) s.close();
      throw new MdnsError(
        `Cannot open the mDNS sockets on ${
          interfaces.map((i) => i.name).join(", ")
        }: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause },
      );
    }
  }

  #receive(
    msg: Buffer,
    address: string,
    port: number,
    family: "IPv4" | "IPv6",
  ): void {
    if (this.#closed) return;
    const bare = address.split("%")[0]!;
    const iface = family === "IPv4"
      ? this.interfaces.find((i) => onSubnet(bare, i))
      : (this.interfaces.find((i) => i.ipv6Addresses.includes(bare)) ??
        (isLinkLocal6(bare) ? this.#zoneOf(address) : undefined));
    if (iface === undefined) return; // not on a link of ours (RFC 6762 11)
    this.#onPacket({
      bytes: new Uint8Array(msg),
      address: bare,
      port,
      family,
      interface: iface,
    });
  }

  /** The interface of an IPv6 link-local source: its zone, else the only one. */
  #zoneOf(address: string): MdnsInterface | undefined {
    const zone = address.split("%")[1];
    const v6 = this.interfaces.filter((i) => i.ipv6);
    if (zone !== undefined) return v6.find((i) => i.name === zone);
    return v6.length === 1 ? v6[0] : undefined;
  }

  /**
   * Sends a packet to both groups on every interface.
   *
   * @param bytes The UDP payload.
   * @returns Resolves once handed to the system (failures are dropped: mDNS
   *   repeats itself).
   */
  send(bytes: Uint8Array): Promise<void> {
    const next = this.#sending.then(() => this.#sendAll(bytes));
    this.#sending = next;
    return next;
  }

  async #sendAll(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return;
    const buffer = Buffer.from(bytes);
    for (const iface of this.interfaces) {
      const own = iface.ipv4[0]?.address;
      if (this.#v4 && own !== undefined) {
        await sendOn(this.#v4, own, buffer, GROUP_V4);
      }
      if (this.#v6 && iface.ipv6) {
        await sendOn(this.#v6, `::%${iface.name}`, buffer, GROUP_V6);
      }
      if (this.#closed) return;
    }
  }

  /** Closes both sockets. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [this.#v4, this.#v6]) {
      try {
        s?.close();
      } catch {
        // Already closed.
      }
    }
  }
}

function bind(type: "udp4" | "udp6", address: string): Promise<dgram.Socket> {
  const socket = dgram.createSocket({
    type,
    reuseAddr: true,
    ...(type === "udp6" ? { ipv6Only: true } : {}),
  });
  return new Promise((resolve, reject) => {
    socket.once("error", (error) => {
      socket.close();
      reject(error);
    });
    socket.bind(MDNS_PORT, address, () => {
      socket.removeAllListeners("error");
      resolve(socket);
    });
  });
}

function sendOn(
  socket: dgram.Socket,
  iface: string,
  buffer: Buffer,
  group: string,
): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.setMulticastInterface(iface);
      socket.send(buffer, MDNS_PORT, group, () => resolve());
    } catch {
      resolve();
    }
  });
}
