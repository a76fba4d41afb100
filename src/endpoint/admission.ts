// Admission control of a listener: which connection may negotiate, which
// is refused at once, which gives way when the listener is full. Pure
// bookkeeping (no sockets, no timers), so that it can be tested alone.

import { isIP } from "node:net";

/** The limits of {@linkcode Admission}. */
export interface AdmissionLimits {
  /** Most connections negotiating at once (not open yet). */
  maxPending: number;
  /** Most connections negotiating at once from one source address. */
  maxPendingPerAddress: number;
  /** Most connections in all, negotiating and open. */
  maxConnections: number;
}

/** One connection as admission sees it. */
export interface Admitted {
  /** The source address's key (see {@linkcode addressKey}). */
  readonly key: string;
  /** When negotiation last moved on (or the connection came), in ms. */
  progress: number;
  /** Negotiating (true) or open, or cut and closing (false). */
  pending: boolean;
}

// How far past `maxConnections` connections that were cut to make room, and
// are still closing (each holds its file until it has), may take the total
// before a new connection is refused instead of one more being cut.
const CLOSING_ALLOWANCE = 64;

/** What admission decides about a new connection. */
export type Decision =
  | { admit: true; evict: Admitted | undefined }
  | { admit: false; why: "per-address" | "capacity" };

/**
 * The bookkeeping of a listener's connections. A new connection is refused
 * at once when its address already negotiates `maxPendingPerAddress`
 * connections, or when the listener is full of open streams. When it is
 * full of connections still negotiating, one of them gives way: from the
 * address that holds the most negotiating connections, the one whose
 * negotiation moved last the longest ago. So many silent connections from
 * one place, or a flood from many, hold no place a peer that negotiates
 * needs: a fresh connection is never the one that goes, and a stalled one
 * always goes before it.
 */
export class Admission {
  readonly #limits: AdmissionLimits; // a copy: lower() changes it
  readonly #byKey = new Map<string, Set<Admitted>>();
  #pending = 0;
  #total = 0;

  /**
   * Makes the bookkeeping.
   *
   * @param limits The caps.
   */
  constructor(limits: AdmissionLimits) {
    this.#limits = { ...limits };
  }

  /** The cap on connections in all, as it stands. */
  get maxConnections(): number {
    return this.#limits.maxConnections;
  }

  /**
   * The process ran out of file descriptors: connections in all are capped
   * below what there is now (`total - margin`, at least 1), for good, and
   * the stalest negotiating connections that must go to get there are
   * returned (to be cut and removed).
   *
   * @param margin How far under the current total to go.
   * @returns The connections to cut.
   */
  lower(margin: number): Admitted[] {
    const max = Math.max(1, this.#total - margin);
    if (max < this.#limits.maxConnections) this.#limits.maxConnections = max;
    const victims: Admitted[] = [];
    const taken = new Set<Admitted>();
    while (this.#total - victims.length > this.#limits.maxConnections) {
      const victim = this.#victim(taken);
      if (victim === undefined) break;
      taken.add(victim);
      victims.push(victim);
    }
    return victims;
  }

  /** Connections negotiating now. */
  get pending(): number {
    return this.#pending;
  }

  /** Connections now, negotiating and open. */
  get total(): number {
    return this.#total;
  }

  /**
   * Decides about a connection from `key`; an admitted one must then be
   * {@linkcode Admission.add}ed, and an evicted one cut, marked
   * {@linkcode Admission.leave}ing, and {@linkcode Admission.remove}d once
   * closed.
   *
   * @param key The source address's key.
   * @returns Admit (perhaps in place of one that must go), or refuse.
   */
  decide(key: string): Decision {
    const limits = this.#limits;
    const mine = this.#byKey.get(key);
    let pendingHere = 0;
    for (const entry of mine ?? []) if (entry.pending) pendingHere++;
    if (pendingHere >= limits.maxPendingPerAddress) {
      return { admit: false, why: "per-address" };
    }
    const full = this.#pending >= limits.maxPending ||
      this.#total >= limits.maxConnections;
    if (!full) return { admit: true, evict: undefined };
    const victim = this.#victim();
    // A victim keeps its place in all until it has closed (see leave()): so
    // cutting one to admit one takes the total past the cap, by at most the
    // allowance, and the files the process holds stay bounded.
    if (
      victim === undefined ||
      this.#total >= limits.maxConnections + CLOSING_ALLOWANCE
    ) return { admit: false, why: "capacity" };
    return { admit: true, evict: victim };
  }

  /**
   * A negotiating connection was cut (it gave way) and is closing: it no
   * longer negotiates nor gives way again, but keeps its place in all, its
   * file still open, until it is {@linkcode Admission.remove}d.
   *
   * @param entry Its entry.
   */
  leave(entry: Admitted): void {
    if (!entry.pending || !this.#byKey.get(entry.key)?.has(entry)) return;
    entry.pending = false;
    this.#pending--;
  }

  /**
   * Counts a connection in.
   *
   * @param key The source address's key.
   * @param now The time, in ms.
   * @returns Its entry, to mark progress on, open, and remove.
   */
  add(key: string, now: number): Admitted {
    const entry: Admitted = { key, progress: now, pending: true };
    let set = this.#byKey.get(key);
    if (set === undefined) this.#byKey.set(key, set = new Set());
    set.add(entry);
    this.#pending++;
    this.#total++;
    return entry;
  }

  /**
   * A connection finished negotiating: it is open, and no longer gives way.
   *
   * @param entry Its entry.
   */
  open(entry: Admitted): void {
    if (!entry.pending || !this.#byKey.get(entry.key)?.has(entry)) return;
    entry.pending = false;
    this.#pending--;
  }

  /**
   * Counts a connection out (it closed, failed, or was cut). Idempotent.
   *
   * @param entry Its entry.
   */
  remove(entry: Admitted): void {
    const set = this.#byKey.get(entry.key);
    if (set === undefined || !set.delete(entry)) return;
    if (set.size === 0) this.#byKey.delete(entry.key);
    if (entry.pending) this.#pending--;
    this.#total--;
  }

  /** The negotiating connection that gives way, if any negotiates. */
  #victim(skip?: Set<Admitted>): Admitted | undefined {
    let victim: Admitted | undefined;
    let most = 0;
    for (const set of this.#byKey.values()) {
      let count = 0;
      let stalest: Admitted | undefined;
      for (const entry of set) {
        if (!entry.pending || skip?.has(entry)) continue;
        count++;
        if (stalest === undefined || entry.progress < stalest.progress) {
          stalest = entry;
        }
      }
      if (stalest === undefined) continue;
      if (
        count > most ||
        (count === most && stalest.progress < victim!.progress)
      ) {
        most = count;
        victim = stalest;
      }
    }
    return victim;
  }
}

/**
 * The key under which connections from one place are counted: an IPv4
 * address as it is (IPv4-mapped IPv6 too), an IPv6 address by its /64
 * prefix (one host or network usually holds a whole /64), anything else
 * (a name, an unknown peer) as given.
 *
 * @param hostname The source address.
 * @returns The key.
 */
export function addressKey(hostname: string | undefined): string {
  if (hostname === undefined) return "?";
  const zone = hostname.indexOf("%");
  const address = zone < 0 ? hostname : hostname.slice(0, zone);
  const version = isIP(address);
  if (version === 4) return address;
  if (version !== 6) return hostname;
  const lower = address.toLowerCase();
  if (lower.startsWith("::ffff:") && isIP(lower.slice(7)) === 4) {
    return lower.slice(7); // IPv4-mapped
  }
  const groups = expandIpv6(lower);
  return groups.slice(0, 4).join(":") + "::/64";
}

/** The eight 16-bit groups of an IPv6 address, without leading zeros. */
function expandIpv6(address: string): string[] {
  let head = address;
  let tail = "";
  const gap = address.indexOf("::");
  if (gap >= 0) {
    head = address.slice(0, gap);
    tail = address.slice(gap + 2);
  }
  const split = (part: string) => {
    if (part === "") return [];
    const groups = part.split(":");
    const last = groups[groups.length - 1]!;
    if (last.includes(".")) {
      // An IPv4 tail: two groups.
      const [a, b, c, d] = last.split(".").map(Number) as number[];
      groups.splice(
        -1,
        1,
        ((a! << 8) | b!).toString(16),
        ((c! << 8) | d!).toString(16),
      );
    }
    return groups.map((g) => parseInt(g, 16).toString(16));
  };
  const front = split(head);
  const back = split(tail);
  const zeros = Array(Math.max(0, 8 - front.length - back.length)).fill("0");
  return [...front, ...(gap >= 0 ? zeros : []), ...back];
}

/**
 * A default for `maxConnections`: most of the process's open-file limit
 * (its soft limit, from `/proc/self/limits`, which Deno lets a program read
 * only with all permissions; never prompted for), leaving room for the
 * rest of the process; 800 when the limit cannot be read, under the usual
 * soft limit of 1,024.
 *
 * @returns The default.
 */
export function defaultMaxConnections(): number {
  const soft = openFileLimit();
  if (soft === undefined) return FALLBACK_MAX_CONNECTIONS;
  return Math.max(16, Math.floor(soft * 0.8) - 32);
}

/** {@linkcode defaultMaxConnections} when the limit cannot be read. */
export const FALLBACK_MAX_CONNECTIONS = 800;

function openFileLimit(): number | undefined {
  const path = "/proc/self/limits";
  try {
    if (Deno.build.os !== "linux") return undefined;
    const state = Deno.permissions.querySync({ name: "read", path }).state;
    if (state !== "granted") return undefined;
    const text = Deno.readTextFileSync(path);
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (match === null || match[1] === "unlimited") return undefined;
    return Number(match[1]);
  } catch {
    return undefined;
  }
}
