/**
 * A trust-on-first-use store of known peers: the SHA-256 fingerprint of each
 * peer's certificate, remembered the first time the peer is approved and
 * checked on every later connection.
 *
 * A store kept in a file is safe to share between processes: every change
 * is made under an exclusive lock on a sidecar file (`.<name>.lock`) and
 * applied to the file as it is then, so no process loses another's entries
 * or replaces another's pin; reads follow the file as other processes change
 * it. Each save is a synced temporary file renamed over the store (then the
 * directory is synced), so a crash or power cut leaves either the old or the
 * new version, never a mix; temporary files left by a killed writer are
 * removed by the next one.
 *
 * @module
 */

import {
  changedSince,
  changedSinceSync,
  formatStore,
  KnownPeersFileError,
  normalizeFingerprint,
  normalizePeer,
  readStore,
  readStoreSync,
  type StoreVersion,
  withLock,
  writeStore,
} from "./_known_peers_file.ts";

import { CertificateError } from "./cert_policy.ts";

export { KnownPeersFileError };

/**
 * Thrown when a known peer presents a certificate whose fingerprint is not
 * the one stored for it: possibly an attack, possibly a renewed certificate.
 * A {@linkcode CertificateError} with reason `"peer-changed"`, so that a
 * refusal by the store reads like any other certificate refusal.
 *
 * @example Catching a changed certificate
 * ```ts
 * import { KnownPeers, PeerChangedError } from "@xmpp-e2e/streams/transport";
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
export class PeerChangedError extends CertificateError {
  /** The error's name. */
  override readonly name: string = "PeerChangedError";
  /** The peer (its store key: a JID normalised) whose certificate changed. */
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
   * import { PeerChangedError } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const error = new PeerChangedError("a.example", "x", "y");
   * assert.match(error.message, /^SECURITY: the certificate of a\.example/);
   * assert.equal(error.reason, "peer-changed");
   * assert.equal(error.fingerprint256, "y");
   * ```
   *
   * @param peer The peer.
   * @param expected The stored fingerprint.
   * @param actual The presented fingerprint.
   */
  constructor(peer: string, expected: string, actual: string) {
    super(
      "peer-changed",
      `SECURITY: the certificate of ${peer} changed: expected SHA-256 ${expected}, got ${actual}; if this change is expected, remove the peer from the store`,
      { fingerprint256: actual },
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
 * import { KnownPeers, PeerRejectedError } from "@xmpp-e2e/streams/transport";
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
  /** The peer (its store key: a JID normalised) that was refused. */
  readonly peer: string;
  /** Its fingerprint ("AB:CD:..."). */
  readonly fingerprint: string;

  /**
   * Makes the error.
   *
   * @example
   * ```ts
   * import { PeerRejectedError } from "@xmpp-e2e/streams/transport";
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
   * JSON file to load and save, shared safely with other processes (created
   * on first save, with a lock file `.<name>.lock` beside it that stays).
   * Omit to keep the store in memory only.
   */
  file?: string;
  /**
   * Asked about a peer seen for the first time; resolve true to trust it
   * from now on. Default: unknown peers are refused (no silent trust). No
   * lock is held while it runs, so it may take its time (ask a person).
   */
  approve?: (
    peer: string,
    fingerprint256: string,
  ) => boolean | Promise<boolean>;
}

/** An approval under way. */
interface Pending {
  fingerprint: string;
  /** True once approved and pinned, false when refused. */
  approved: Promise<boolean>;
}

/**
 * A trust-on-first-use store of known peers, in memory or in a JSON file
 * (`{ "version": 1, "peers": { "<peer>": "<fingerprint>" } }`).
 *
 * Across processes (and stores) sharing the file:
 * - a change (an approval, {@linkcode KnownPeers.set},
 *   {@linkcode KnownPeers.delete}) takes an exclusive lock on the sidecar
 *   file `.<name>.lock`, reads the file again and applies itself to what it
 *   read, so concurrent changes are never lost; the lock is held only for
 *   that, never while approve runs;
 * - a peer pinned by any process is checked against that pin by every
 *   other: an approval that finds, under the lock, the peer pinned with
 *   another fingerprint fails with {@linkcode PeerChangedError} and
 *   changes nothing;
 * - {@linkcode KnownPeers.verify}, {@linkcode KnownPeers.get} and
 *   {@linkcode KnownPeers.entries} take no lock but read the file again
 *   whenever it changed (its inode, size or modification time, or always
 *   while the file is under two seconds old, when those cannot tell yet).
 *
 * On a crash (a killed process, a power cut), the file holds either the
 * version before the change under way or the one after, and a change whose
 * promise resolved is on disk: the new version is written to a temporary
 * file, synced, renamed over the store, and the directory is synced (where
 * the platform can). The next open or change removes temporary files a
 * killed writer left behind. The lock is advisory: it keeps `KnownPeers`
 * stores in order, not editors.
 *
 * @example Trust on first use
 * ```ts
 * import { KnownPeers } from "@xmpp-e2e/streams/transport";
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
 *
 * @example Two stores sharing a file see each other's pins
 * ```ts
 * import { KnownPeers, PeerChangedError } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const file = `${dir}/known_peers.json`;
 *   const here = await KnownPeers.open({ file, approve: () => true });
 *   const there = await KnownPeers.open({ file, approve: () => true });
 *   await there.verify("example.org", "AA".repeat(32));
 *   await assert.rejects(
 *     here.verify("example.org", "BB".repeat(32)),
 *     PeerChangedError,
 *   );
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class KnownPeers {
  readonly #file: string | undefined;
  readonly #approve: KnownPeersOptions["approve"];
  /** The version of the file last read or written (or the memory store). */
  #version: StoreVersion = {
    peers: new Map(),
    text: undefined,
    stamp: undefined,
  };
  /** Counts changes of #version, so that a slow read cannot undo a newer. */
  #generation = 0;
  /** Approvals under way, by peer, so that approve is asked once. */
  readonly #pending = new Map<string, Pending>();
  /** Serialises changes, so that they are applied in order. */
  #queue: Promise<unknown> = Promise.resolve();
  /** Serialises reads of the file. */
  #reads: Promise<unknown> = Promise.resolve();

  private constructor(
    file: string | undefined,
    approve: KnownPeersOptions["approve"],
  ) {
    this.#file = file;
    this.#approve = approve;
  }

  /**
   * Opens a store, loading its file if there is one, and removing temporary
   * files that a killed writer left beside it.
   *
   * @example In memory
   * ```ts
   * import { KnownPeers } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * assert.deepEqual(peers.entries(), []);
   * ```
   *
   * @example In a file
   * ```ts
   * import { KnownPeers } from "@xmpp-e2e/streams/transport";
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
   * @throws {KnownPeersFileError} When the file exists but is not a valid
   * store (it is left untouched).
   */
  static async open(options: KnownPeersOptions = {}): Promise<KnownPeers> {
    const { file, approve } = options;
    const store = new KnownPeers(file, approve);
    if (file !== undefined) {
      try {
        await withLock(file, () => Promise.resolve());
      } catch (error) {
        // A store in a missing or read-only directory can still be read;
        // a change will fail with the same error.
        if (!cannotLock(error)) throw error;
      }
      store.#assign(await readStore(file));
    }
    return store;
  }

  /**
   * Checks a peer's certificate fingerprint against the store as it is now
   * (another process may have changed the file). A known peer with the same
   * fingerprint passes; a known peer with another fingerprint fails loudly
   * (approve is not asked); an unknown peer is passed to approve, then, when
   * approved, pinned under the file's lock unless another process pinned it
   * meanwhile, in which case the two fingerprints are compared as for a
   * known peer. Concurrent calls for the same unknown peer ask approve once.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open({ approve: () => true });
   * await peers.verify("example.org", "ab".repeat(32));
   * assert.equal(peers.get("example.org"), Array(32).fill("AB").join(":"));
   * ```
   *
   * @param peer A bare JID or domain (compared as JIDs are, RFC 7622).
   * @param fingerprint256 The certificate's SHA-256 fingerprint, "AB:CD:..."
   * or without colons, in any case.
   * @returns A promise that resolves when the peer is trusted.
   * @throws {PeerChangedError} When the peer is known with another fingerprint.
   * @throws {PeerRejectedError} When the peer is unknown and not approved.
   * @throws {KnownPeersFileError} When the file has become malformed.
   * @throws {TypeError} When the peer or fingerprint is malformed.
   */
  async verify(peer: string, fingerprint256: string): Promise<void> {
    const key = normalizePeer(peer);
    const fingerprint = normalizeFingerprint(fingerprint256);
    // No await for a store in memory: approve is asked synchronously.
    if (this.#file !== undefined) await this.#refresh(this.#file);
    const known = this.#version.peers.get(key);
    if (known !== undefined) {
      if (known !== fingerprint) {
        throw new PeerChangedError(key, known, fingerprint);
      }
      return;
    }
    const pending = this.#pending.get(key);
    if (pending !== undefined) {
      if (pending.fingerprint === fingerprint) {
        if (!await pending.approved) {
          throw new PeerRejectedError(key, fingerprint);
        }
        return;
      }
      await pending.approved.catch(() => {});
      return await this.verify(key, fingerprint);
    }
    const approve = this.#approve;
    if (approve === undefined) {
      throw new PeerRejectedError(
        key,
        fingerprint,
        "no approve callback was given",
      );
    }
    const entry = { fingerprint } as Pending;
    entry.approved = this.#approveAndPin(approve, key, fingerprint).finally(
      () => {
        if (this.#pending.get(key) === entry) this.#pending.delete(key);
      },
    );
    this.#pending.set(key, entry);
    if (!await entry.approved) throw new PeerRejectedError(key, fingerprint);
  }

  /**
   * The stored fingerprint of a peer, as the file holds it now.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * assert.equal(peers.get("example.org"), undefined);
   * ```
   *
   * @param peer A bare JID or domain (compared as JIDs are, RFC 7622).
   * @returns Its fingerprint ("AB:CD:..."), or undefined when unknown.
   * @throws {KnownPeersFileError} When the file has become malformed.
   */
  get(peer: string): string | undefined {
    const key = normalizePeer(peer);
    return this.#current().get(key);
  }

  /**
   * Adds or replaces a peer explicitly, and saves the file (under its lock,
   * keeping every other entry as the file holds it).
   *
   * @example
   * ```ts
   * import { KnownPeers } from "@xmpp-e2e/streams/transport";
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
   * @throws {KnownPeersFileError} When the file has become malformed.
   */
  async set(peer: string, fingerprint256: string): Promise<void> {
    const key = normalizePeer(peer);
    const fingerprint = normalizeFingerprint(fingerprint256);
    await this.#change((peers) => {
      if (peers.get(key) === fingerprint) return false;
      peers.set(key, fingerprint);
      return true;
    });
  }

  /**
   * Removes a peer, and saves the file (under its lock, keeping every other
   * entry as the file holds it).
   *
   * @example
   * ```ts
   * import { KnownPeers } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const peers = await KnownPeers.open();
   * await peers.set("example.org", "AB".repeat(32));
   * assert.equal(await peers.delete("example.org"), true);
   * assert.equal(await peers.delete("example.org"), false);
   * ```
   *
   * @param peer A bare JID or domain.
   * @returns Whether the peer was known (in the file, when it was read under
   * the lock).
   * @throws {KnownPeersFileError} When the file has become malformed.
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
   * All entries, sorted by peer, as the file holds them now.
   *
   * @example
   * ```ts
   * import { KnownPeers } from "@xmpp-e2e/streams/transport";
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
   * @throws {KnownPeersFileError} When the file has become malformed.
   */
  entries(): [string, string][] {
    return [...this.#current()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  }

  /**
   * Asks approve about an unknown peer, then pins it. No lock is held while
   * approve runs; the pin is decided under the lock, against the file then.
   *
   * @param approve The callback.
   * @param key The peer.
   * @param fingerprint Its fingerprint.
   * @returns True once pinned (or found pinned with the same fingerprint),
   * false when refused.
   * @throws {PeerChangedError} When it was pinned meanwhile with another.
   */
  async #approveAndPin(
    approve: NonNullable<KnownPeersOptions["approve"]>,
    key: string,
    fingerprint: string,
  ): Promise<boolean> {
    if (!await approve(key, fingerprint)) return false;
    await this.#change((peers) => {
      const known = peers.get(key);
      if (known === fingerprint) return false;
      if (known !== undefined) {
        throw new PeerChangedError(key, known, fingerprint);
      }
      peers.set(key, fingerprint);
      return true;
    });
    return true;
  }

  /**
   * The peers as the file holds them now, read again (synchronously) if it
   * changed.
   *
   * @returns The peers; not to be modified.
   */
  #current(): Map<string, string> {
    const file = this.#file;
    if (file !== undefined && changedSinceSync(file, this.#version.stamp)) {
      this.#assign(readStoreSync(file, this.#version));
    }
    return this.#version.peers;
  }

  /**
   * Reads the file again if it changed, one read at a time.
   *
   * @param file The file.
   * @returns A promise that resolves once #version is as recent as the file
   * was at some moment after the call.
   */
  #refresh(file: string): Promise<void> {
    const run = this.#reads.then(async () => {
      const generation = this.#generation;
      if (!await changedSince(file, this.#version.stamp)) return;
      const read = await readStore(file, this.#version);
      // A change or a synchronous read committed meanwhile is as recent.
      if (generation === this.#generation) this.#assign(read);
    });
    this.#reads = run.catch(() => {});
    return run;
  }

  /**
   * Applies a change, one at a time. For a file: under the lock, reads the
   * file again, applies the change to what it read, and saves it. A change
   * that fails before the rename leaves the file as it was (one that fails
   * syncing the directory after it is in the file, and is read back).
   *
   * @param mutate Changes the peers given; returns whether it changed them.
   * @returns A promise that resolves once saved and committed.
   */
  #change(mutate: (peers: Map<string, string>) => boolean): Promise<void> {
    const run = this.#queue.then(async () => {
      const file = this.#file;
      if (file === undefined) {
        const next = new Map(this.#version.peers);
        if (mutate(next)) this.#assign({ ...this.#version, peers: next });
        return;
      }
      await withLock(file, async () => {
        const read = await readStore(file, this.#version);
        this.#assign(read);
        const next = new Map(read.peers);
        if (!mutate(next)) return;
        const text = formatStore(next);
        const stamp = await writeStore(file, text);
        this.#assign({ peers: next, text, stamp });
      });
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  #assign(version: StoreVersion): void {
    this.#version = version;
    this.#generation++;
  }
}

/**
 * Whether the lock of a store cannot be taken because its directory is
 * missing or read-only, or Deno may not write there.
 *
 * @param error The error.
 * @returns True for those.
 */
function cannotLock(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound ||
    error instanceof Deno.errors.PermissionDenied ||
    error instanceof Deno.errors.NotCapable ||
    (error as { code?: unknown } | null)?.code === "EROFS";
}
