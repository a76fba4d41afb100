/**
 * A trust-on-first-use store of known peers: the SHA-256 fingerprint of each
 * peer's certificate, remembered the first time the peer is approved and
 * checked on every later connection.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";

const FINGERPRINT_WITH_COLONS = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;
const FINGERPRINT_BARE = /^[0-9A-F]{64}$/;

/**
 * Thrown when a known peer presents a certificate whose fingerprint is not
 * the one stored for it: possibly an attack, possibly a renewed certificate.
 *
 * @example Catching a changed certificate
 * ```ts
 * import { KnownPeers, PeerChangedError } from "./known_peers.ts";
 * import assert from "node:assert/strict";
 *
 * const peers = await KnownPeers.open();
 * await peers.set("example.org", "AA".repeat(32));
 * await assert.rejects(
 *   peers.verify("example.org", "BB".repeat(32)),
 *   (error: unknown) =>
 *     error instanceof PeerChangedError && error.peer === "example.org",
 * );
 * ```
 */
export class PeerChangedError extends Error {
  /** The error's name. */
  override readonly name: string = "PeerChangedError";
  /** The peer (lower-cased) whose certificate changed. */
  readonly peer: string;
  /** The stored fingerprint ("AB:CD:..."). */
  readonly expected: string;
  /** The fingerprint presented now ("AB:CD:..."). */
  readonly actual: string;

  /**
   * Makes the error.
   *
   * @example
   * ```ts
   * import { PeerChangedError } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const error = new PeerChangedError("a.example", "x", "y");
   * assert.match(error.message, /^SECURITY: the certificate of a\.example/);
   * ```
   *
   * @param peer The peer.
   * @param expected The stored fingerprint.
   * @param actual The presented fingerprint.
   */
  constructor(peer: string, expected: string, actual: string) {
    super(
      `SECURITY: the certificate of ${peer} changed: expected SHA-256 ${expected}, got ${actual}; if this change is expected, remove the peer from the store`,
    );
    this.peer = peer;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Thrown when a peer seen for the first time is not approved: the approve
 * callback resolved false, or there is no approve callback.
 *
 * @example Refusing unknown peers by default
 * ```ts
 * import { KnownPeers, PeerRejectedError } from "./known_peers.ts";
 * import assert from "node:assert/strict";
 *
 * const peers = await KnownPeers.open();
 * await assert.rejects(
 *   peers.verify("example.org", "AA".repeat(32)),
 *   PeerRejectedError,
 * );
 * ```
 */
export class PeerRejectedError extends Error {
  /** The error's name. */
  override readonly name: string = "PeerRejectedError";
  /** The peer (lower-cased) that was refused. */
  readonly peer: string;
  /** Its fingerprint ("AB:CD:..."). */
  readonly fingerprint: string;

  /**
   * Makes the error.
   *
   * @example
   * ```ts
   * import { PeerRejectedError } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const error = new PeerRejectedError("a.example", "x");
   * assert.equal(error.fingerprint, "x");
   * ```
   *
   * @param peer The peer.
   * @param fingerprint Its fingerprint.
   * @param reason Why it was refused, appended to the message.
   */
  constructor(
    peer: string,
    fingerprint: string,
    reason = "the approve callback refused it",
  ) {
    super(
      `Unknown peer ${peer} with certificate SHA-256 ${fingerprint} was not trusted: ${reason}`,
    );
    this.peer = peer;
    this.fingerprint = fingerprint;
  }
}

/** Options of {@linkcode KnownPeers.open}. */
export interface KnownPeersOptions {
  /**
   * JSON file to load and save (created on first save; written atomically:
   * a temporary file in the same directory, then a rename). Omit to keep the
   * store in memory only.
   */
  file?: string;
  /**
   * Asked about a peer seen for the first time; resolve true to trust it
   * from now on. Default: unknown peers are refused (no silent trust).
   */
  approve?: (
    peer: string,
    fingerprint256: string,
  ) => boolean | Promise<boolean>;
}

/** The file format. */
interface KnownPeersFile {
  version: 1;
  peers: Record<string, string>;
}

/**
 * Normalises a SHA-256 fingerprint to upper-case hex pairs joined by colons.
 *
 * @param fingerprint "ab:cd:..." or "abcd..." in any case.
 * @returns "AB:CD:...".
 * @throws {TypeError} When it is not 32 hex byte pairs.
 */
function normalizeFingerprint(fingerprint: string): string {
  const upper = String(fingerprint).trim().toUpperCase();
  if (FINGERPRINT_WITH_COLONS.test(upper)) return upper;
  if (FINGERPRINT_BARE.test(upper)) return upper.match(/../g)!.join(":");
  throw new TypeError(
    `Not a SHA-256 fingerprint (32 hex byte pairs): ${
      JSON.stringify(fingerprint)
    }`,
  );
}

/**
 * Normalises a peer name into a store key.
 *
 * @param peer A bare JID or domain.
 * @returns It lower-cased.
 * @throws {TypeError} When it is empty.
 */
function normalizePeer(peer: string): string {
  if (typeof peer !== "string" || peer.trim() === "") {
    throw new TypeError(`Not a peer name: ${JSON.stringify(peer)}`);
  }
  return peer.trim().toLowerCase();
}

/**
 * A trust-on-first-use store of known peers, in memory or in a JSON file
 * (`{ "version": 1, "peers": { "<peer>": "<fingerprint>" } }`).
 *
 * @example Trust on first use
 * ```ts
 * import { KnownPeers } from "./known_peers.ts";
 * import assert from "node:assert/strict";
 *
 * const asked: string[] = [];
 * const peers = await KnownPeers.open({
 *   approve: (peer) => {
 *     asked.push(peer);
 *     return true;
 *   },
 * });
 * const fingerprint = "AB".repeat(32);
 * await peers.verify("Example.org", fingerprint); // asks, then remembers
 * await peers.verify("example.org", fingerprint); // silent
 * assert.deepEqual(asked, ["example.org"]);
 * ```
 */
export class KnownPeers {
  readonly #file: string | undefined;
  readonly #approve: KnownPeersOptions["approve"];
  #peers: Map<string, string>;
  /** Approvals under way, by peer, so that approve is asked once. */
  readonly #pending = new Map<
    string,
    { fingerprint: string; approved: Promise<boolean> }
  >();
  /** Serialises changes, so that saves are written in order. */
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    file: string | undefined,
    approve: KnownPeersOptions["approve"],
    peers: Map<string, string>,
  ) {
    this.#file = file;
    this.#approve = approve;
    this.#peers = peers;
  }

  /**
   * Opens a store, loading its file if there is one.
   *
   * @example In memory
   * ```ts
   * import { KnownPeers } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * assert.deepEqual(peers.entries(), []);
   * ```
   *
   * @example In a file
   * ```ts
   * import { KnownPeers } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const dir = await Deno.makeTempDir();
   * try {
   *   const file = `${dir}/known_peers.json`;
   *   const first = await KnownPeers.open({ file });
   *   await first.set("example.org", "AB".repeat(32));
   *   const again = await KnownPeers.open({ file });
   *   await again.verify("example.org", "AB".repeat(32));
   *   assert.equal(again.entries().length, 1);
   * } finally {
   *   await Deno.remove(dir, { recursive: true });
   * }
   * ```
   *
   * @param options The file, if any, and the approve callback.
   * @returns The store.
   * @throws {Error} When the file exists but is not a valid store (it is left
   * untouched).
   */
  static async open(options: KnownPeersOptions = {}): Promise<KnownPeers> {
    const { file, approve } = options;
    const peers = file === undefined ? new Map() : await load(file);
    return new KnownPeers(file, approve, peers);
  }

  /**
   * Checks a peer's certificate fingerprint. A known peer with the same
   * fingerprint passes; a known peer with another fingerprint fails loudly
   * (approve is not asked); an unknown peer is passed to approve, and stored
   * (and saved) when approved. Concurrent calls for the same unknown peer
   * ask approve once.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open({ approve: () => true });
   * await peers.verify("example.org", "ab".repeat(32));
   * assert.equal(peers.get("example.org"), Array(32).fill("AB").join(":"));
   * ```
   *
   * @param peer A bare JID or domain (compared case-insensitively).
   * @param fingerprint256 The certificate's SHA-256 fingerprint, "AB:CD:..."
   * or without colons, in any case.
   * @returns A promise that resolves when the peer is trusted.
   * @throws {PeerChangedError} When the peer is known with another fingerprint.
   * @throws {PeerRejectedError} When the peer is unknown and not approved.
   * @throws {TypeError} When the peer or fingerprint is malformed.
   */
  async verify(peer: string, fingerprint256: string): Promise<void> {
    const key = normalizePeer(peer);
    const fingerprint = normalizeFingerprint(fingerprint256);
    const known = this.#peers.get(key);
    if (known !== undefined) {
      if (known !== fingerprint) {
        throw new PeerChangedError(key, known, fingerprint);
      }
      return;
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      await pending.approved;
      const stored = this.#peers.get(key);
      if (stored === undefined && pending.fingerprint !== fingerprint) {
        return await this.verify(key, fingerprint);
      }
      if (stored === undefined) {
        throw new PeerRejectedError(key, fingerprint);
      }
      if (stored !== fingerprint) {
        throw new PeerChangedError(key, stored, fingerprint);
      }
      return;
    }
    const approve = this.#approve;
    if (approve === undefined) {
      throw new PeerRejectedError(
        key,
        fingerprint,
        "no approve callback was given",
      );
    }
    const approved = (async () => {
      if (!await approve(key, fingerprint)) return false;
      await this.#change((peers) => peers.set(key, fingerprint));
      return true;
    })();
    this.#pending.set(key, { fingerprint, approved });
    try {
      if (!await approved) throw new PeerRejectedError(key, fingerprint);
    } finally {
      this.#pending.delete(key);
    }
  }

  /**
   * The stored fingerprint of a peer.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * assert.equal(peers.get("example.org"), undefined);
   * ```
   *
   * @param peer A bare JID or domain (compared case-insensitively).
   * @returns Its fingerprint ("AB:CD:..."), or undefined when unknown.
   */
  get(peer: string): string | undefined {
    return this.#peers.get(normalizePeer(peer));
  }

  /**
   * Adds or replaces a peer explicitly, and saves the file.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * await peers.set("example.org", "AB".repeat(32));
   * assert.ok(peers.get("EXAMPLE.ORG"));
   * ```
   *
   * @param peer A bare JID or domain.
   * @param fingerprint256 Its SHA-256 fingerprint, with or without colons.
   * @returns A promise that resolves once stored and saved.
   * @throws {TypeError} When the peer or fingerprint is malformed.
   */
  async set(peer: string, fingerprint256: string): Promise<void> {
    const key = normalizePeer(peer);
    const fingerprint = normalizeFingerprint(fingerprint256);
    await this.#change((peers) => peers.set(key, fingerprint));
  }

  /**
   * Removes a peer, and saves the file.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * await peers.set("example.org", "AB".repeat(32));
   * assert.equal(await peers.delete("example.org"), true);
   * assert.equal(await peers.delete("example.org"), false);
   * ```
   *
   * @param peer A bare JID or domain.
   * @returns Whether the peer was known.
   */
  async delete(peer: string): Promise<boolean> {
    const key = normalizePeer(peer);
    let deleted = false;
    await this.#change((peers) => {
      deleted = peers.delete(key);
      return deleted;
    });
    return deleted;
  }

  /**
   * All entries, sorted by peer.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "./known_peers.ts";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * await peers.set("b.example", "BB".repeat(32));
   * await peers.set("a.example", "AA".repeat(32));
   * assert.deepEqual(peers.entries().map(([peer]) => peer), [
   *   "a.example",
   *   "b.example",
   * ]);
   * ```
   *
   * @returns [peer, fingerprint] pairs.
   */
  entries(): [string, string][] {
    return [...this.#peers].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  }

  /**
   * Applies a change to a copy of the peers, saves it, then commits it, one
   * change at a time. A failed save leaves the store as it was.
   *
   * @param mutate Changes the copy; returns false when nothing changed.
   * @returns A promise that resolves once saved and committed.
   */
  #change(mutate: (peers: Map<string, string>) => unknown): Promise<void> {
    const run = this.#queue.then(async () => {
      const next = new Map(this.#peers);
      if (mutate(next) === false) return;
      if (this.#file !== undefined) await save(this.#file, next);
      this.#peers = next;
    });
    this.#queue = run.catch(() => {});
    return run;
  }
}

/**
 * Loads a store file.
 *
 * @param file Its path.
 * @returns Its peers; empty when the file does not exist.
 * @throws {Error} When the file is not a valid store.
 */
async function load(file: string): Promise<Map<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return new Map();
    throw error;
  }
  const malformed = (why: string, cause?: unknown) =>
    new Error(
      `Malformed known peers file ${file}: ${why}; fix or remove it`,
      cause === undefined ? undefined : { cause },
    );
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw malformed("not JSON", error);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw malformed("not a JSON object");
  }
  const { version, peers } = data as Record<string, unknown>;
  if (version !== 1) {
    throw malformed(`unsupported version ${JSON.stringify(version)}`);
  }
  if (typeof peers !== "object" || peers === null || Array.isArray(peers)) {
    throw malformed(`"peers" is not an object`);
  }
  const map = new Map<string, string>();
  for (const [peer, fingerprint] of Object.entries(peers)) {
    let key: string, value: string;
    try {
      key = normalizePeer(peer);
      value = normalizeFingerprint(fingerprint as string);
    } catch (error) {
      throw malformed(`bad entry ${JSON.stringify(peer)}`, error);
    }
    const previous = map.get(key);
    if (previous !== undefined && previous !== value) {
      throw malformed(`conflicting entries for ${key}`);
    }
    map.set(key, value);
  }
  return map;
}

/**
 * Saves a store file atomically: writes a temporary file in the same
 * directory, then renames it over the file.
 *
 * @param file Its path.
 * @param peers The peers to save.
 * @returns A promise that resolves once renamed.
 */
async function save(file: string, peers: Map<string, string>): Promise<void> {
  const data: KnownPeersFile = {
    version: 1,
    peers: Object.fromEntries(
      [...peers].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0),
    ),
  };
  const temp = join(
    dirname(file),
    `.${basename(file)}.${crypto.randomUUID()}.tmp`,
  );
  try {
    await Deno.writeTextFile(temp, JSON.stringify(data, null, 2) + "\n", {
      mode: 0o600,
    });
    await Deno.rename(temp, file);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
