/**
 * Where the `xmpp-e2e` command keeps what it must remember: its own
 * certificate and key (`identity.pem`, made on first run, readable by the
 * user only) and the peers it trusts (`known_peers.json`, a `KnownPeers`
 * store shared safely by concurrent runs).
 *
 * The directory is, in this order: `--config-dir`, `$XMPP_E2E_CONFIG_DIR`,
 * `$XDG_CONFIG_HOME/xmpp-e2e`, `~/.config/xmpp-e2e` (`%APPDATA%\xmpp-e2e`
 * on Windows without `HOME`).
 *
 * @module
 */

import {
  fingerprint256,
  generateCertificate,
  KnownPeers,
  pemToDer,
} from "../../mod.ts";
import { UsageError } from "./exit.ts";

/** This end's certificate and key (PEM), and the certificate's fingerprint. */
export interface Identity {
  /** The certificate, PEM. */
  cert: string;
  /** The private key, PKCS#8 PEM. */
  key: string;
  /** SHA-256 of the certificate, `"AB:CD:..."`. */
  fingerprint256: string;
}

/** How long a certificate made on first run is valid: ten years. */
const IDENTITY_DAYS = 3650;
const CERT_PEM = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/;
const KEY_PEM = /-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----/;

/**
 * The configuration directory to use.
 *
 * @param flag The `--config-dir` given, if any.
 * @returns An absolute or relative directory path.
 * @throws {UsageError} When no directory can be found (no `HOME`).
 */
export function configDir(flag: string | undefined): string {
  if (flag !== undefined && flag !== "") return flag;
  const env = (name: string) => {
    const value = Deno.env.get(name);
    return value === undefined || value === "" ? undefined : value;
  };
  const explicit = env("XMPP_E2E_CONFIG_DIR");
  if (explicit !== undefined) return explicit;
  const xdg = env("XDG_CONFIG_HOME");
  if (xdg !== undefined) return join(xdg, "xmpp-e2e");
  const home = env("HOME");
  if (home !== undefined) return join(home, ".config", "xmpp-e2e");
  const appData = env("APPDATA");
  if (appData !== undefined) return join(appData, "xmpp-e2e");
  throw new UsageError(
    "Cannot find a configuration directory: set HOME, XDG_CONFIG_HOME or XMPP_E2E_CONFIG_DIR, or give --config-dir",
  );
}

/**
 * Reads this end's identity, making it on first run. Two runs that start
 * at once agree on one identity: it is written to a private temporary file
 * and linked into place only if none is there yet.
 *
 * @param dir The configuration directory (made if missing).
 * @param name The name to put in a new certificate (the domain of the
 *   address it is first used with; trust on first use ignores it).
 * @returns The identity, and whether it was made now.
 */
export async function loadIdentity(
  dir: string,
  name: string,
): Promise<{ identity: Identity; created: boolean }> {
  const path = join(dir, "identity.pem");
  const existing = await readIdentity(path);
  if (existing !== undefined) return { identity: existing, created: false };
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const made = await generateCertificate({
    names: [name],
    days: IDENTITY_DAYS,
  });
  const temporary = join(dir, `.identity.pem.${crypto.randomUUID()}`);
  await Deno.writeTextFile(temporary, `${made.keyPem}\n${made.certPem}\n`, {
    mode: 0o600,
    createNew: true,
  });
  try {
    await Deno.link(temporary, path);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  } finally {
    await Deno.remove(temporary).catch(() => {});
  }
  const identity = await readIdentity(path);
  if (identity === undefined) throw new Error(`Cannot read ${path}`);
  return {
    identity,
    created: identity.fingerprint256 === made.fingerprint256,
  };
}

/**
 * Opens the store of known peers.
 *
 * @param dir The configuration directory.
 * @param approve Called for a peer seen for the first time (it is trusted
 *   when this resolves true).
 * @returns The store, kept in `known_peers.json`.
 */
export async function openKnownPeers(
  dir: string,
  approve?: (peer: string, fingerprint256: string) => boolean,
): Promise<KnownPeers> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  return await KnownPeers.open({
    file: join(dir, "known_peers.json"),
    ...(approve ? { approve } : {}),
  });
}

async function readIdentity(path: string): Promise<Identity | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const cert = CERT_PEM.exec(text)?.[0];
  const key = KEY_PEM.exec(text)?.[0];
  if (cert === undefined || key === undefined) {
    throw new Error(
      `Cannot read ${path}: it holds no certificate and private key (move it away to make a new identity)`,
    );
  }
  const fingerprint = await fingerprint256(pemToDer(cert));
  return { cert: `${cert}\n`, key: `${key}\n`, fingerprint256: fingerprint };
}

/** Joins path segments with the platform's separator. */
export function join(...parts: string[]): string {
  const sep = Deno.build.os === "windows" ? "\\" : "/";
  return parts.join(sep);
}
