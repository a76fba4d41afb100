/**
 * The file under a {@linkcode KnownPeers} store: its format, strict reading,
 * a lock shared by every process, and crash-safe replacement.
 *
 * The store file is only ever replaced whole (a temporary file in the same
 * directory, synced, renamed over it, then the directory synced), so a
 * reader sees one complete version or another and needs no lock. Writers
 * serialise on an exclusive advisory lock on a sidecar file,
 * `.<name>.lock`, which is created once and never removed (removing it would
 * let two writers lock two different files). A temporary file is written
 * only under that lock, so one seen by a lock holder belongs to a writer
 * that died, and is removed.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { JidPartError, normalizeJid } from "./_jid_normalize.ts";
import { JsonSyntaxError, parseStrictJson } from "./_strict_json.ts";

const FINGERPRINT_WITH_COLONS = /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/;
const FINGERPRINT_BARE = /^[0-9A-F]{64}$/;
const UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}";
/**
 * How long after its last write a file's stamp is not trusted to reveal a
 * change: a replacement written within the file system's timestamp
 * granularity (up to 2 s on FAT) may reuse the inode, size and mtime.
 */
const RACY_MS = 2_000;

/**
 * Thrown when a known peers file exists but is not a valid store: not JSON,
 * an object key given twice, the wrong shape or version, a malformed entry,
 * or two spellings of one peer with different fingerprints. The file is
 * left untouched; fix or remove it.
 *
 * @example Refusing a file that pins one peer twice
 * ```ts
 * import { KnownPeers, KnownPeersFileError } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * try {
 *   const file = `${dir}/known_peers.json`;
 *   const a = "AA".repeat(32), b = "BB".repeat(32);
 *   await Deno.writeTextFile(
 *     file,
 *     `{"version": 1, "peers": {"a.example": "${a}", "a.example": "${b}"}}`,
 *   );
 *   await assert.rejects(
 *     KnownPeers.open({ file }),
 *     (error: unknown) =>
 *       error instanceof KnownPeersFileError && error.file === file &&
 *       error.reason.startsWith(`duplicate key "a.example"`),
 *   );
 * } finally {
 *   await Deno.remove(dir, { recursive: true });
 * }
 * ```
 */
export class KnownPeersFileError extends Error {
  /** The error's name. */
  override readonly name: string = "KnownPeersFileError";
  /** The file's path. */
  readonly file: string;
  /** What is wrong with it, e.g. `unsupported version 2`. */
  readonly reason: string;

  /**
   * Makes the error.
   *
   * @example
   * ```ts
   * import { KnownPeersFileError } from "@xmpp-e2e/streams/transport";
   * import assert from "node:assert/strict";
   *
   * const error = new KnownPeersFileError("peers.json", "not JSON");
   * assert.equal(
   *   error.message,
   *   "Malformed known peers file peers.json: not JSON; fix or remove it",
   * );
   * ```
   *
   * @param file The file's path.
   * @param reason What is wrong with it.
   * @param options The underlying error, if any, as `cause`.
   */
  constructor(file: string, reason: string, options?: ErrorOptions) {
    super(
      `Malformed known peers file ${file}: ${reason}; fix or remove it`,
      options,
    );
    this.file = file;
    this.reason = reason;
  }
}

/**
 * Normalises a SHA-256 fingerprint to upper-case hex pairs joined by colons.
 *
 * @param fingerprint "ab:cd:..." or "abcd..." in any case.
 * @returns "AB:CD:...".
 * @throws {TypeError} When it is not 32 hex byte pairs.
 */
export function normalizeFingerprint(fingerprint: string): string {
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
 * Normalises a peer name into a store key. A name that is a JID (a bare JID
 * or a domain, as peers are named) takes the normalised form every JID
 * comparison uses (RFC 7622: localpart case-folded, width-mapped and NFC,
 * domain lower-cased and IDNA-mapped to U-labels), so `KSTO@nws.noaa.gov`
 * and `ksto@nws.noaa.gov`, or `例え.テスト` and `xn--r8jz45g.xn--zckzah`,
 * are one key. Any other name (one a JID cannot be) is only lower-cased,
 * as every name was before, so that stored files still load.
 *
 * @param peer A bare JID or domain.
 * @returns Its key.
 * @throws {TypeError} When it is empty.
 */
export function normalizePeer(peer: string): string {
  if (typeof peer !== "string" || peer.trim() === "") {
    throw new TypeError(`Not a peer name: ${JSON.stringify(peer)}`);
  }
  const name = peer.trim();
  try {
    return normalizeJid(name);
  } catch (error) {
    if (!(error instanceof JidPartError)) throw error;
    return name.toLowerCase();
  }
}

/**
 * What identifies one version of the file: a different stamp means another
 * version. `racy` marks a stamp too recent to be trusted for that.
 */
export interface FileStamp {
  dev: number | null;
  ino: number | null;
  size: number;
  mtime: number | null;
  racy: boolean;
}

/** What `readStore` read: the peers, and the version they came from. */
export interface StoreVersion {
  peers: Map<string, string>;
  /** The file's text, or undefined when it does not exist. */
  text: string | undefined;
  /** The stamp, or undefined when it does not exist. */
  stamp: FileStamp | undefined;
}

/**
 * Makes a stamp from a stat.
 *
 * @param info The stat.
 * @returns The stamp.
 */
function stampOf(info: Deno.FileInfo): FileStamp {
  const mtime = info.mtime?.getTime() ?? null;
  return {
    dev: info.dev,
    ino: info.ino,
    size: info.size,
    mtime,
    racy: mtime === null || Date.now() - mtime < RACY_MS,
  };
}

/**
 * Whether a stat shows the version a stamp was taken of.
 *
 * @param stamp The stamp of the version loaded, undefined if there was none.
 * @param info The stat now, undefined if the file does not exist.
 * @returns False when the file must be read again.
 */
function isCurrent(
  stamp: FileStamp | undefined,
  info: Deno.FileInfo | undefined,
): boolean {
  if (info === undefined) return stamp === undefined;
  if (stamp === undefined || stamp.racy) return false;
  const now = stampOf(info);
  return now.dev === stamp.dev && now.ino === stamp.ino &&
    now.size === stamp.size && now.mtime === stamp.mtime;
}

/**
 * Whether the file may have changed since a stamp (or its absence) was
 * taken.
 *
 * @param file The path.
 * @param stamp The stamp of the version loaded, undefined if there was none.
 * @returns True when it must be read again.
 */
export async function changedSince(
  file: string,
  stamp: FileStamp | undefined,
): Promise<boolean> {
  let info: Deno.FileInfo | undefined;
  try {
    info = await Deno.stat(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return !isCurrent(stamp, info);
}

/**
 * Same as {@linkcode changedSince}, synchronously.
 *
 * @param file The path.
 * @param stamp The stamp of the version loaded, undefined if there was none.
 * @returns True when it must be read again.
 */
export function changedSinceSync(
  file: string,
  stamp: FileStamp | undefined,
): boolean {
  let info: Deno.FileInfo | undefined;
  try {
    info = Deno.statSync(file);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return !isCurrent(stamp, info);
}

/**
 * Reads and checks the store file. The stat comes first: the file is only
 * ever replaced whole, so the text is of that version or a later one, and a
 * later one shows as a changed stamp next time.
 *
 * @param file The path.
 * @param known The version loaded before: when the text is the same, its
 * peers are reused.
 * @returns The version; empty when the file does not exist.
 * @throws {KnownPeersFileError} When the file is not a valid store.
 */
export async function readStore(
  file: string,
  known?: StoreVersion,
): Promise<StoreVersion> {
  let stamp: FileStamp, text: string;
  try {
    stamp = stampOf(await Deno.stat(file));
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return EMPTY();
    throw error;
  }
  return { peers: reuseOrParse(file, text, known), text, stamp };
}

/**
 * Same as {@linkcode readStore}, synchronously.
 *
 * @param file The path.
 * @param known The version loaded before: when the text is the same, its
 * peers are reused.
 * @returns The version; empty when the file does not exist.
 * @throws {KnownPeersFileError} When the file is not a valid store.
 */
export function readStoreSync(
  file: string,
  known?: StoreVersion,
): StoreVersion {
  let stamp: FileStamp, text: string;
  try {
    stamp = stampOf(Deno.statSync(file));
    text = Deno.readTextFileSync(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return EMPTY();
    throw error;
  }
  return { peers: reuseOrParse(file, text, known), text, stamp };
}

function reuseOrParse(
  file: string,
  text: string,
  known: StoreVersion | undefined,
): Map<string, string> {
  return known !== undefined && known.text === text
    ? known.peers
    : parseStore(file, text);
}

const EMPTY = (): StoreVersion => ({
  peers: new Map(),
  text: undefined,
  stamp: undefined,
});

/**
 * Checks the text of a store file.
 *
 * @param file The path, for errors.
 * @param text The text.
 * @returns Its peers.
 * @throws {KnownPeersFileError} When it is not a valid store.
 */
export function parseStore(file: string, text: string): Map<string, string> {
  let data: unknown;
  try {
    data = parseStrictJson(text);
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    const reason = error.message.startsWith("Duplicate key")
      ? error.message.replace("Duplicate", "duplicate")
      : `not JSON (${error.message})`;
    throw new KnownPeersFileError(file, reason, { cause: error });
  }
  if (!isObject(data)) {
    throw new KnownPeersFileError(file, "not a JSON object");
  }
  const { version, peers } = data;
  if (version !== 1) {
    throw new KnownPeersFileError(
      file,
      `unsupported version ${JSON.stringify(version)}`,
    );
  }
  if (!isObject(peers)) {
    throw new KnownPeersFileError(file, `"peers" is not an object`);
  }
  const map = new Map<string, string>();
  for (const [peer, fingerprint] of Object.entries(peers)) {
    let key: string, value: string;
    try {
      if (typeof fingerprint !== "string") {
        throw new TypeError(`Not a string: ${JSON.stringify(fingerprint)}`);
      }
      key = normalizePeer(peer);
      value = normalizeFingerprint(fingerprint);
    } catch (error) {
      throw new KnownPeersFileError(
        file,
        `bad entry ${JSON.stringify(peer)}`,
        { cause: error },
      );
    }
    const previous = map.get(key);
    if (previous !== undefined && previous !== value) {
      throw new KnownPeersFileError(file, `conflicting entries for ${key}`);
    }
    map.set(key, value);
  }
  return map;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The text of a store file.
 *
 * @param peers The peers.
 * @returns Pretty JSON, peers sorted, with a final newline.
 */
export function formatStore(peers: Map<string, string>): string {
  const sorted = [...peers].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
  return JSON.stringify(
    { version: 1, peers: Object.fromEntries(sorted) },
    null,
    2,
  ) + "\n";
}

/**
 * Runs `fn` holding the exclusive lock of a store, shared by every process
 * (an advisory `flock`-style lock on `.<name>.lock`, released by the system
 * if the process dies). Stale temporary files are removed first.
 *
 * @param file The store's path.
 * @param fn What to do under the lock.
 * @returns What `fn` returns.
 */
export async function withLock<T>(
  file: string,
  fn: () => Promise<T>,
): Promise<T> {
  const lock = await Deno.open(
    join(dirname(file), `.${basename(file)}.lock`),
    { read: true, write: true, create: true, mode: 0o600 },
  );
  try {
    await lock.lock(true);
    try {
      await removeStaleTemps(file);
      return await fn();
    } finally {
      await lock.unlock();
    }
  } finally {
    lock.close();
  }
}

/**
 * Removes the temporary files of writers that died mid-write; only safe
 * under the lock. Only names this module makes, `.<name>.<uuid>.tmp`, are
 * removed.
 *
 * @param file The store's path.
 * @returns A promise that resolves once they are gone.
 */
async function removeStaleTemps(file: string): Promise<void> {
  const dir = dirname(file);
  const pattern = new RegExp(
    `^\\.${escapeRegExp(basename(file))}\\.${UUID}\\.tmp$`,
  );
  for await (const entry of Deno.readDir(dir)) {
    if (!pattern.test(entry.name)) continue;
    await Deno.remove(join(dir, entry.name)).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Replaces the store file durably; call under the lock. Writes a temporary
 * file in the same directory, syncs it, renames it over the store, then
 * syncs the directory so that the rename survives a power cut.
 *
 * @param file The store's path.
 * @param text The new text.
 * @returns The stamp of the new version.
 */
export async function writeStore(
  file: string,
  text: string,
): Promise<FileStamp> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${crypto.randomUUID()}.tmp`);
  let stamp: FileStamp;
  try {
    const handle = await Deno.open(temp, {
      write: true,
      createNew: true,
      mode: 0o600,
    });
    try {
      const bytes = new TextEncoder().encode(text);
      for (let done = 0; done < bytes.length;) {
        done += await handle.write(bytes.subarray(done));
      }
      await handle.sync();
      stamp = stampOf(await handle.stat());
    } finally {
      handle.close();
    }
    await Deno.rename(temp, file);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
  await syncDirectory(dir);
  return stamp;
}

/**
 * Syncs a directory, so that a rename in it is durable. Where the platform
 * cannot (Windows does not open directories as files; some file systems
 * refuse to sync one), that refusal alone is ignored.
 *
 * @param dir The directory.
 * @returns A promise that resolves once synced.
 */
async function syncDirectory(dir: string): Promise<void> {
  let handle: Deno.FsFile;
  try {
    handle = await Deno.open(dir, { read: true });
  } catch (error) {
    if (cannotSyncDirectories(error)) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!cannotSyncDirectories(error)) throw error;
  } finally {
    handle.close();
  }
}

/**
 * Whether an error says that the platform cannot sync a directory: EINVAL or
 * ENOTSUP from `fsync`, or, on Windows only, access denied.
 *
 * @param error The error.
 * @returns True for those.
 */
function cannotSyncDirectories(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "EINVAL" || code === "ENOTSUP" || code === "EOPNOTSUPP") {
    return true;
  }
  return Deno.build.os === "windows" &&
    error instanceof Deno.errors.PermissionDenied;
}
