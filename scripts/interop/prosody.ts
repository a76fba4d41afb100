/**
 * A throwaway Prosody for interop tests: installs the Debian package when it
 * is missing, writes a config, a leaf certificate for `pronto` and an account
 * `romeo` into a temp dir, and starts Prosody in the foreground on a free
 * loopback port.
 *
 * Prosody facts this relies on (Debian bookworm, Prosody 0.12):
 *
 * - The binary is `prosody`; `--config FILE` picks the config (the env var
 *   `PROSODY_CONFIG` is only read by prosodyctl's helpers). `-F` keeps it in
 *   the foreground, though that only matters to `mod_posix`, which is off here.
 * - `mod_posix` refuses to start as root ("Danger, Will Robinson!") unless
 *   `run_as_root = true`; it is autoloaded on POSIX, so it is put in
 *   `modules_disabled`. Without it there is no daemonizing, no pidfile and no
 *   signal handling: SIGTERM ends the process at once, which is all we need.
 * - `prosodyctl`, run as root, switches to the `prosody` user (who cannot
 *   write into our root-owned temp dir) unless `run_as_root = true`, so the
 *   config sets it. (Without it, `register` logs a storage error and still
 *   exits 0, hence the check that the account file exists.)
 * - In 0.12.3 mod_posix's root refusal is itself broken: `prosody.shutdown`
 *   fails (`main_thread` is nil) and the server runs on without posix.
 *
 * Run it as a script to get a server by hand (Ctrl-C stops it):
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-net --allow-env scripts/interop/prosody.ts
 * ```
 *
 * @module
 */

import { makeLeafCert, run } from "./cert.ts";

/** A running Prosody from {@linkcode startProsody}. */
export interface Prosody {
  /** Its c2s port on 127.0.0.1 (STARTTLS, TLS required). */
  port: number;
  /** The certificate it presents for `pronto`, PEM: trust this one. */
  certPem: string;
  /** Path of that certificate, for tools that want a file (`openssl -CAfile`). */
  certFile: string;
  /** The one virtual host. */
  host: "pronto";
  /** The registered account's localpart. */
  user: "romeo";
  /** The account's password. */
  password: string;
  /** The temp dir with config, data, certificate and log. */
  dir: string;
  /** The log so far (info level), for diagnostics. */
  log(): Promise<string>;
  /** Kills Prosody, waits for it to exit and removes the temp dir. */
  stop(): Promise<void>;
}

const HOST = "pronto";
const USER = "romeo";
const PASSWORD = "r0m30!";
const START_TIMEOUT_MS = 15_000;

/**
 * Installs `prosody` (and `openssl`) with apt-get when `dpkg -s` says they
 * are absent. Runs `apt-get update` only when the first install try fails.
 *
 * @throws {Error} When not root and something is missing, or apt-get fails.
 */
export async function ensureInstalled(): Promise<void> {
  const missing: string[] = [];
  for (const pkg of ["prosody", "openssl"]) {
    if (!(await installed(pkg))) missing.push(pkg);
  }
  if (missing.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new Error(
      `Cannot install ${missing.join(", ")}: not root; ` +
        `run apt-get install ${missing.join(" ")} first`,
    );
  }
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = ["install", "-y", "--no-install-recommends", ...missing];
  try {
    await run("apt-get", install, env);
  } catch {
    await run("apt-get", ["update"], env);
    await run("apt-get", install, env);
  }
}

async function installed(pkg: string): Promise<boolean> {
  const out = await new Deno.Command("dpkg", {
    args: ["-s", pkg],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).output();
  return out.success &&
    /^Status: install ok installed$/m.test(
      new TextDecoder().decode(out.stdout),
    );
}

/**
 * A port that was free on 127.0.0.1 a moment ago: bound with port 0, then
 * closed. Another process could take it in between; nothing here does.
 *
 * @returns The port.
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** A Lua string literal (JSON's escapes are valid Lua ones). */
function lua(value: string): string {
  return JSON.stringify(value);
}

/**
 * The Prosody config.
 *
 * @param dir The temp dir.
 * @param port The c2s port.
 * @param certFile The certificate path.
 * @param keyFile The key path.
 * @param options See {@linkcode ProsodyOptions}.
 * @returns The config text (Lua).
 */
export function prosodyConfig(
  dir: string,
  port: number,
  certFile: string,
  keyFile: string,
  options: ProsodyOptions = {},
): string {
  const protocol = options.tlsProtocol === undefined
    ? ""
    : `; protocol = ${lua(options.tlsProtocol)}`;
  return `-- Written by scripts/interop/prosody.ts
run_as_root = true
daemonize = false
pidfile = ${lua(`${dir}/prosody.pid`)}
data_path = ${lua(`${dir}/data`)}
certificates = ${lua(dir)}
plugin_paths = { }

modules_enabled = { "tls"; "saslauth"; "disco"; "roster"; "ping" }
-- posix is autoloaded and refuses root; s2s and its cert auth are autoloaded too.
modules_disabled = { "posix"; "s2s"; "s2s_auth_certs" }

interfaces = { "127.0.0.1" }
local_interfaces = { "127.0.0.1" }
c2s_ports = { ${port} }
c2s_direct_tls_ports = { }
s2s_ports = { }
s2s_direct_tls_ports = { }
component_ports = { }
http_ports = { }
https_ports = { }

c2s_require_encryption = true
allow_registration = false
authentication = "internal_hashed"
storage = "internal"

log = { info = ${lua(`${dir}/prosody.log`)} }

VirtualHost ${lua(HOST)}
  ssl = { certificate = ${lua(certFile)}; key = ${lua(keyFile)}${protocol} }
`;
}

/** How {@linkcode startProsody} sets Prosody up. */
export interface ProsodyOptions {
  /**
   * LuaSec's `protocol` for the host's TLS, such as `"tlsv1_2"` (TLS 1.2
   * only, where Prosody 0.12 binds SCRAM-SHA-1-PLUS with tls-unique).
   * Default: Prosody's (TLS 1.2 and up).
   */
  tlsProtocol?: string;
}

/**
 * Installs (if needed) and starts a Prosody for `pronto` with the account
 * `romeo`, on a free port of 127.0.0.1; resolves once the port accepts
 * connections.
 *
 * @param options See {@linkcode ProsodyOptions}.
 * @returns The running server; call `stop()` when done.
 * @throws {Error} When install, setup or start fails, with Prosody's log.
 */
export async function startProsody(
  options: ProsodyOptions = {},
): Promise<Prosody> {
  await ensureInstalled();
  for (let attempt = 1;; attempt++) {
    const dir = await Deno.makeTempDir({ prefix: "xmpp-e2e-prosody-" });
    try {
      return await startIn(dir, options);
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      // The free port was taken in between: try another one.
      if (!(error instanceof PortTaken) || attempt === 3) throw error;
    }
  }
}

/** Prosody could not bind the port that {@linkcode freePort} found. */
class PortTaken extends Error {}

async function startIn(
  dir: string,
  options: ProsodyOptions,
): Promise<Prosody> {
  await Deno.mkdir(`${dir}/data`);
  const cert = await makeLeafCert(dir, HOST);
  const port = freePort();
  const configFile = `${dir}/prosody.cfg.lua`;
  const logFile = `${dir}/prosody.log`;
  await Deno.writeTextFile(
    configFile,
    prosodyConfig(dir, port, cert.certFile, cert.keyFile, options),
  );
  await run("prosodyctl", [
    "--config",
    configFile,
    "register",
    USER,
    HOST,
    PASSWORD,
  ]);
  // prosodyctl can exit 0 after a storage error: check the account is there.
  const account = `${dir}/data/${HOST}/accounts/${USER}.dat`;
  if (!(await Deno.stat(account).then(() => true, () => false))) {
    throw new Error(`prosodyctl register did not create ${account}`);
  }

  const child = new Deno.Command("prosody", {
    args: ["--config", configFile, "-F"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Drain both pipes so Prosody never blocks on a full one.
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const log = () => Deno.readTextFile(logFile).catch(() => "(no log)");

  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      if (!exited) {
        try {
          child.kill("SIGTERM");
        } catch {
          // Already gone.
        }
        const timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Already gone.
          }
        }, 5_000);
        await status;
        clearTimeout(timer);
      }
      await Promise.all([stdout, stderr]);
      await Deno.remove(dir, { recursive: true });
    })();

  try {
    await waitForPort(port, () => exited, async () => {
      // Prosody only logs an error and goes on when it cannot bind: make
      // sure the listener on the port is ours.
      const text = await log();
      if (text.includes(`Failed to open server port ${port}`)) {
        throw new PortTaken(`Prosody could not bind port ${port}`);
      }
      return text.includes(`Activated service 'c2s' on [127.0.0.1]:${port}`);
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = exited ? (await status).code : undefined;
    const logText = await log();
    await stop().catch(() => {});
    throw new (error instanceof PortTaken ? PortTaken : Error)(
      `Prosody did not start (${message}; exit code ${code ?? "none"})\n` +
        `stdout: ${await stdout}\nstderr: ${await stderr}\nlog: ${logText}`,
    );
  }
  return {
    port,
    certPem: cert.certPem,
    certFile: cert.certFile,
    host: HOST,
    user: USER,
    password: PASSWORD,
    dir,
    log,
    stop,
  };
}

/**
 * Waits until the server says it listens and 127.0.0.1:port accepts a
 * connection.
 *
 * @param port The port.
 * @param gone Whether the server process has exited (then waiting stops).
 * @param ready Whether the server's log says it listens on the port.
 * @throws {Error} On timeout or when the server exits.
 */
async function waitForPort(
  port: number,
  gone: () => boolean,
  ready: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (gone()) throw new Error("Prosody exited");
    if (Date.now() > deadline) {
      throw new Error(`port ${port} not open after ${START_TIMEOUT_MS} ms`);
    }
    if (!(await ready())) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.ConnectionRefused)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

if (import.meta.main) {
  const prosody = await startProsody();
  console.log(
    `Prosody for ${prosody.host} on 127.0.0.1:${prosody.port}; ` +
      `account ${prosody.user}@${prosody.host} / ${prosody.password}; ` +
      `dir ${prosody.dir}. Ctrl-C stops it.`,
  );
  const done = () => {
    prosody.stop().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", done);
  Deno.addSignalListener("SIGTERM", done);
}
