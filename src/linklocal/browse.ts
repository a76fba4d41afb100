/**
 * Browsing for `_presence._tcp` services over multicast DNS (RFC 6762,
 * RFC 6763, XEP-0174): continuous PTR queries with RFC 6762's backoff and
 * known-answer suppression, SRV/TXT/A/AAAA resolution, a cache that expires
 * records by their TTL, goodbyes and cache flushes.
 *
 * @module
 */

/**
 * RxJS's types are documented by the rxjs package: `@ignore` tells
 * `deno doc --lint` not to ask this package to export them.
 * @ignore
 */
import { Observable } from "rxjs";
import {
  decodeMessage,
  type DnsQuestion,
  type DnsRecord,
  encodeQuery,
} from "./_dns.ts";
import {
  findInterfaces,
  isLinkLocal6,
  MDNS_PORT,
  type MdnsPacket,
  MdnsSocket,
} from "./_mdns_socket.ts";
import type { LinkLocalAddress, LinkLocalPeer, PeerEvent } from "./peer.ts";
import { parseTxt } from "./txt.ts";

/** The service type of XEP-0174. */
export const PRESENCE_SERVICE = "_presence._tcp.local";

/** Options of {@linkcode browse}. */
export interface BrowseOptions {
  /**
   * Interfaces to browse on (names, `eth0`). Default: every interface with
   * an address that is not loopback.
   */
  interfaces?: string[];
  /** Most peers kept; past it new ones are ignored. Default 512. */
  maxPeers?: number;
  /** Longest interval between two PTR queries, ms. Default one hour. */
  maxQueryIntervalMs?: number;
}

/** Records kept per name and type: past it, new ones are ignored. */
const MAX_PER_NAME = 16;
/** A goodbye (TTL 0) removes a record after one second (RFC 6762 10.1). */
const GOODBYE_MS = 1000;
/** Fractions of the TTL at which a record is queried again (RFC 6762 5.2). */
const REFRESH_AT = [0.8, 0.85, 0.9, 0.95];
/** Longest interval between two resolving queries of a peer. */
const MAX_RESOLVE_INTERVAL_MS = 60_000;
/** Known answers that fit one packet beside the question. */
const MAX_KNOWN_ANSWERS = 20;

type Timer = ReturnType<typeof setTimeout>;

interface Entry {
  record: DnsRecord;
  rdata: string;
  interface: string;
  received: number;
  expires: number;
  timers: Timer[];
}

const lower = (name: string) => name.toLowerCase().replace(/\.$/, "");

function rdataKey(record: DnsRecord, iface: string): string {
  switch (record.type) {
    case "PTR":
      return lower(record.data);
    case "SRV": {
      const d = record.data;
      return `${lower(d.target)} ${d.port} ${d.priority} ${d.weight}`;
    }
    case "TXT":
      return record.data.map((b) => Array.from(b).join(",")).join("|");
    case "A":
      return record.data;
    case "AAAA":
      return isLinkLocal6(record.data)
        ? `${record.data.toLowerCase()}%${iface}`
        : record.data.toLowerCase();
  }
}

/** The instance part of `user@machine._presence._tcp.local`. */
function instanceOf(fqdn: string): string | undefined {
  const suffix = "." + PRESENCE_SERVICE;
  const name = fqdn.replace(/\.$/, "");
  if (!name.toLowerCase().endsWith(suffix)) return undefined;
  const instance = name.slice(0, -suffix.length);
  return instance.length > 0 ? instance.replace(/\\(.)/g, "$1") : undefined;
}

const random = (low: number, high: number) =>
  low + Math.random() * (high - low);

/**
 * The browser behind {@linkcode browse}: one per subscription.
 */
class Browser {
  readonly #socket: MdnsSocket;
  readonly #emit: (event: PeerEvent) => void;
  readonly #maxPeers: number;
  readonly #maxInterval: number;
  readonly #cache = new Map<string, Entry[]>();
  readonly #emitted = new Map<string, LinkLocalPeer>();
  readonly #resolving = new Map<
    string,
    { timer: Timer | undefined; interval: number }
  >();
  #queryTimer: Timer | undefined;
  #queryInterval = 1000;
  #closed = false;

  constructor(
    socket: MdnsSocket,
    emit: (event: PeerEvent) => void,
    options: BrowseOptions,
  ) {
    this.#socket = socket;
    this.#emit = emit;
    this.#maxPeers = options.maxPeers ?? 512;
    this.#maxInterval = options.maxQueryIntervalMs ?? 3_600_000;
    // The first query after 20-120 ms (RFC 6762 5.2).
    this.#queryTimer = setTimeout(() => this.#query(), random(20, 120));
  }

  /** The continuous PTR query, with known answers, then backing off. */
  #query(): void {
    if (this.#closed) return;
    const now = Date.now();
    const known = (this.#cache.get(`PTR ${lower(PRESENCE_SERVICE)}`) ?? [])
      .filter((e) => e.record.ttl > 0 && (e.expires - now) > e.record.ttl * 500)
      .slice(0, MAX_KNOWN_ANSWERS)
      .map((e) => ({
        ...e.record,
        ttl: Math.floor((e.expires - now) / 1000),
      }));
    this.#send([{ name: PRESENCE_SERVICE, type: "PTR" }], known);
    this.#queryTimer = setTimeout(() => this.#query(), this.#queryInterval);
    this.#queryInterval = Math.min(this.#queryInterval * 2, this.#maxInterval);
  }

  #send(questions: DnsQuestion[], known: DnsRecord[] = []): void {
    if (this.#closed) return;
    void this.#socket.send(encodeQuery(questions, known));
  }

  /** A packet from the link. */
  receive(packet: MdnsPacket): void {
    if (this.#closed || packet.port !== MDNS_PORT) return; // RFC 6762 6
    const message = decodeMessage(packet.bytes);
    if (message === undefined || !message.response) return;
    const order = { PTR: 0, SRV: 1, TXT: 2, A: 3, AAAA: 4 };
    const records = [...message.records].sort((a, b) =>
      order[a.type] - order[b.type]
    );
    const dirty = new Set<string>();
    const now = Date.now();
    for (const record of records) {
      this.#take(record, packet.interface.name, now, dirty);
    }
    for (const instance of dirty) this.#evaluate(instance);
  }

  /** Whether a record belongs in the cache, and which peers it touches. */
  #relevant(record: DnsRecord): string[] {
    const name = lower(record.name);
    switch (record.type) {
      case "PTR":
        if (name !== lower(PRESENCE_SERVICE)) return [];
        return instanceOf(record.data) === undefined ? [] : [
          lower(record.data),
        ];
      case "SRV":
      case "TXT":
        return this.#has("PTR", PRESENCE_SERVICE, name) ? [name] : [];
      case "A":
      case "AAAA":
        return this.#instancesOnHost(name);
    }
  }

  #has(type: string, name: string, rdata: string): boolean {
    return (this.#cache.get(`${type} ${lower(name)}`) ?? []).some((e) =>
      e.rdata === rdata
    );
  }

  #instancesOnHost(host: string): string[] {
    const out: string[] = [];
    for (const instance of this.#instances()) {
      const srv = this.#newest(`SRV ${instance}`);
      if (srv?.type === "SRV" && lower(srv.data.target) === host) {
        out.push(instance);
      }
    }
    return out;
  }

  #instances(): string[] {
    return (this.#cache.get(`PTR ${lower(PRESENCE_SERVICE)}`) ?? []).map((e) =>
      e.rdata
    );
  }

  #take(
    record: DnsRecord,
    iface: string,
    now: number,
    dirty: Set<string>,
  ): void {
    const touched = this.#relevant(record);
    if (touched.length === 0) return;
    const key = `${record.type} ${lower(record.name)}`;
    const list = this.#cache.get(key) ?? [];
    const rdata = rdataKey(record, iface);
    if (record.flush) {
      // Cache flush (RFC 6762 10.2): other data older than a second goes.
      for (const e of list) {
        if (e.rdata !== rdata && now - e.received > 1000) {
          this.#schedule(key, e, now, GOODBYE_MS, false);
        }
      }
    }
    const existing = list.find((e) => e.rdata === rdata);
    if (existing !== undefined) {
      existing.record = record;
      existing.interface = iface;
      if (record.ttl === 0) {
        this.#schedule(key, existing, now, GOODBYE_MS, false);
      } else {
        existing.received = now;
        this.#schedule(key, existing, now, record.ttl * 1000, true);
      }
    } else {
      if (record.ttl === 0) return;
      const cap = record.type === "PTR" ? this.#maxPeers : MAX_PER_NAME;
      if (list.length >= cap) return;
      const entry: Entry = {
        record,
        rdata,
        interface: iface,
        received: now,
        expires: 0,
        timers: [],
      };
      list.push(entry);
      this.#cache.set(key, list);
      this.#schedule(key, entry, now, record.ttl * 1000, true);
    }
    for (const t of touched) dirty.add(t);
  }

  /** Expiry (and refresh queries) of an entry, from now. */
  #schedule(
    key: string,
    entry: Entry,
    now: number,
    lifeMs: number,
    refresh: boolean,
  ): void {
    for (const t of entry.timers) clearTimeout(t);
    entry.expires = now + lifeMs;
    entry.timers = [setTimeout(() => this.#expire(key, entry), lifeMs)];
    if (!refresh) return;
    for (const at of REFRESH_AT) {
      entry.timers.push(setTimeout(() => {
        const { name, type } = entry.record;
        this.#send([{ name, type }]);
      }, lifeMs * (at + random(0, 0.02))));
    }
  }

  #expire(key: string, entry: Entry): void {
    if (this.#closed) return;
    const touched = this.#relevant(entry.record);
    this.#drop(key, entry);
    for (const instance of touched) this.#evaluate(instance);
  }

  #drop(key: string, entry: Entry): void {
    for (const t of entry.timers) clearTimeout(t);
    const list = this.#cache.get(key);
    if (list === undefined) return;
    const i = list.indexOf(entry);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#cache.delete(key);
  }

  /** What a peer looks like now; events for what changed. */
  #evaluate(instance: string): void {
    const hasPtr = this.#has("PTR", PRESENCE_SERVICE, instance);
    if (!hasPtr) {
      for (const type of ["SRV", "TXT"]) {
        for (const e of [...(this.#cache.get(`${type} ${instance}`) ?? [])]) {
          this.#drop(`${type} ${instance}`, e);
        }
      }
      this.#dropOrphanHosts();
    }
    const srv = this.#newest(`SRV ${instance}`);
    const txt = this.#newest(`TXT ${instance}`);
    const previous = this.#emitted.get(instance);
    if (srv?.type !== "SRV") {
      if (previous !== undefined) this.#gone(instance, previous);
      if (hasPtr) this.#resolve(instance);
      return;
    }
    const host = lower(srv.data.target);
    const addresses = this.#addresses(host);
    if (txt?.type !== "TXT" || addresses.length === 0) {
      if (hasPtr) this.#resolve(instance);
      return;
    }
    this.#stopResolving(instance);
    const ptr =
      this.#cache.get(`PTR ${lower(PRESENCE_SERVICE)}`)!.find((e) =>
        e.rdata === instance
      )!.record;
    const peer: LinkLocalPeer = {
      name: instanceOf(ptr.data as string)!,
      host,
      port: srv.data.port,
      txt: parseTxt(txt.data),
      addresses,
    };
    if (previous === undefined) {
      this.#emitted.set(instance, peer);
      this.#emit({ type: "appeared", peer });
    } else if (JSON.stringify(previous) !== JSON.stringify(peer)) {
      this.#emitted.set(instance, peer);
      this.#emit({ type: "changed", peer });
    }
  }

  /** The record of a unique name received last (the others are flushed). */
  #newest(key: string): DnsRecord | undefined {
    let best: Entry | undefined;
    for (const e of this.#cache.get(key) ?? []) {
      if (best === undefined || e.received >= best.received) best = e;
    }
    return best?.record;
  }

  #gone(instance: string, peer: LinkLocalPeer): void {
    this.#emitted.delete(instance);
    this.#stopResolving(instance);
    this.#emit({ type: "gone", peer });
  }

  /** Address records no kept SRV points at any more. */
  #dropOrphanHosts(): void {
    for (const [key, list] of [...this.#cache]) {
      const [type, name] = key.split(" ") as [string, string];
      if (type !== "A" && type !== "AAAA") continue;
      if (this.#instancesOnHost(name).length > 0) continue;
      for (const e of [...list]) this.#drop(key, e);
    }
  }

  #addresses(host: string): LinkLocalAddress[] {
    const out: LinkLocalAddress[] = [];
    for (const type of ["A", "AAAA"] as const) {
      for (const e of this.#cache.get(`${type} ${host}`) ?? []) {
        const address = e.record.data as string;
        out.push({
          hostname: type === "AAAA" && isLinkLocal6(address)
            ? `${address}%${e.interface}`
            : address,
          family: type === "A" ? "IPv4" : "IPv6",
          interface: e.interface,
        });
      }
    }
    return out;
  }

  /** Asks for what a peer still lacks, backing off until it is complete. */
  #resolve(instance: string): void {
    if (this.#resolving.has(instance) || this.#closed) return;
    const state = {
      timer: undefined as Timer | undefined,
      interval: 1000,
    };
    const ask = () => {
      const srv = this.#newest(`SRV ${instance}`);
      const ptr = this.#cache.get(`PTR ${lower(PRESENCE_SERVICE)}`)?.find((
        e,
      ) => e.rdata === instance)?.record;
      if (ptr?.type !== "PTR") return this.#stopResolving(instance);
      const questions: DnsQuestion[] = [
        { name: ptr.data, type: "SRV" },
        { name: ptr.data, type: "TXT" },
      ];
      if (srv?.type === "SRV") {
        questions.push({ name: srv.data.target, type: "A" });
        questions.push({ name: srv.data.target, type: "AAAA" });
      }
      this.#send(questions);
      state.timer = setTimeout(ask, state.interval);
      state.interval = Math.min(state.interval * 2, MAX_RESOLVE_INTERVAL_MS);
    };
    // Wait a moment: the rest often follows in the same burst.
    state.timer = setTimeout(ask, random(20, 120));
    this.#resolving.set(instance, state);
  }

  #stopResolving(instance: string): void {
    const state = this.#resolving.get(instance);
    if (state === undefined) return;
    clearTimeout(state.timer);
    this.#resolving.delete(instance);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#queryTimer);
    for (const list of this.#cache.values()) {
      for (const e of list) for (const t of e.timers) clearTimeout(t);
    }
    this.#cache.clear();
    for (const state of this.#resolving.values()) clearTimeout(state.timer);
    this.#resolving.clear();
    this.#socket.close();
  }
}

/**
 * Browses the local link for XEP-0174 peers (`_presence._tcp`), for as
 * long as the subscription lasts: the sockets open on subscription and
 * close on unsubscription. Queries go on with RFC 6762's backoff (1 s,
 * 2 s, 4 s, ... up to an hour) carrying the answers already known, each
 * record is asked for again at 80 % of its TTL and forgotten when it
 * expires. Receiving on port 5353 needs `--allow-net`, and listing the
 * interfaces `--allow-sys`.
 *
 * @param options Interfaces and limits.
 * @returns The peers as they appear, change and go.
 * @throws {MdnsError} (as the Observable's error) When the sockets cannot
 *   be opened or fail.
 *
 * @example Watch who comes and goes
 * ```ts ignore
 * import { browse } from "@xmpp-e2e/streams/linklocal";
 *
 * const subscription = browse({ interfaces: ["eth0"] }).subscribe((e) =>
 *   console.log(e.type, e.peer.name, e.peer.txt.status, e.peer.addresses)
 * );
 * // later
 * subscription.unsubscribe();
 * ```
 */
export function browse(options: BrowseOptions = {}): Observable<PeerEvent> {
  return new Observable<PeerEvent>((subscriber) => {
    let browser: Browser | undefined;
    let done = false;
    (async () => {
      const interfaces = findInterfaces(options.interfaces);
      const holder: { browser?: Browser } = {};
      const socket = await MdnsSocket.open(
        interfaces,
        (packet) => holder.browser?.receive(packet),
        (error) => {
          holder.browser?.close();
          subscriber.error(error);
        },
      );
      if (done) return socket.close();
      browser = holder.browser = new Browser(
        socket,
        (event) => subscriber.next(event),
        options,
      );
    })().catch((error) => subscriber.error(error));
    return () => {
      done = true;
      browser?.close();
    };
  });
}
