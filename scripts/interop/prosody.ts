/**
 * A throwaway Prosody for interop tests: installs the Debian package when it
 * is missing, writes a config, a leaf certificate for `pronto` and accounts
 * (`romeo` by default) into a temp dir, and starts Prosody in the foreground
 * on a free loopback port. On request it also runs the SOCKS5 Bytestreams
 * proxy (`mod_proxy65`) as the component `proxy.pronto` on another free
 * loopback port, and Prosody's rate limits (`mod_limits`) at their shipped
 * defaults or lifted.
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
 * - mod_proxy65 (0.12.3) is a global module: its listener
 *   (`proxy65_ports`, `proxy65_interfaces`) is global config, the component
 *   only answers disco and the bytestreams iqs. mod_disco lists a
 *   subdomain component such as `proxy.pronto` in the host's disco#items by
 *   itself. On the wire it wants the greeting and the 47-byte CONNECT each
 *   in one read, echoes the hash in its reply, never checks the hash on
 *   connect (the first connection with a hash is the target, the second the
 *   initiator), and activates only when the activation's `from`, sid and
 *   target hash to a hash both parties connected with (`item-not-found`
 *   when nobody did, `not-allowed` when only one did).
 * - mod_proxy65 relays with `server.link()`, which in 0.12.3's default
 *   network backend (epoll) can hold a few KiB of a burst: it pauses the
 *   sending side while the other drains, reads 4,096 bytes at a time
 *   through LuaSocket, whose own buffer holds up to 8 KiB, and on resume
 *   waits for the socket to become readable again, which it never does for
 *   bytes already in LuaSocket's buffer. The tail of a burst then waits
 *   until the next bytes come the same way (seen here: 2,304 bytes of a
 *   4 MB burst, released by one more byte; and the last 3 of 3,000 message
 *   stanzas of an XML stream inside the bytestream, in 2 runs of 3, which a
 *   whitespace keepalive, `keepaliveMs: 200` on both ends, released every
 *   time). `networkBackend: "select"`
 *   (deprecated upstream) holds nothing back, but reads all the socket has
 *   at once and closes a connection whose one read passes 25 MB, which a
 *   fast sender reaches with bursts of some 30 MB: keep bursts smaller.
 * - `stopProxy()` unloads mod_proxy65 through the admin socket
 *   (`prosodyctl shell`, mod_admin_shell + mod_admin_socket): unloading it
 *   from `*` too removes its listener, so its port refuses connections,
 *   while c2s runs on.
 * - mod_limits is not autoloaded; the Debian config enables it with
 *   `c2s = { rate = "10kb/s" }`, `s2sin = { rate = "30kb/s" }`, which is
 *   what `rateLimits: "default"` sets.
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
import { type E2EStream, initiate } from "../../src/e2e.ts";
import { bind } from "../../src/negotiation/bind.ts";
import { sasl } from "../../src/negotiation/sasl.ts";

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
  /** The first registered account's localpart (`romeo` by default). */
  user: string;
  /** That account's password. */
  password: string;
  /** Every registered account, in the order asked for. */
  users: ProsodyUser[];
  /** The SOCKS5 proxy, when started with `proxy65: true`. */
  proxy: ProsodyProxy | undefined;
  /**
   * Stops the SOCKS5 proxy alone (unloads mod_proxy65): its port refuses
   * connections from then on, c2s runs on. Idempotent.
   *
   * @throws {Error} When started without `proxy65`, or the unload fails.
   */
  stopProxy(): Promise<void>;
  /** The temp dir with config, data, certificate and log. */
  dir: string;
  /** The log so far (info level, or debug with `debugLog`), for diagnostics. */
  log(): Promise<string>;
  /** Kills Prosody, waits for it to exit and removes the temp dir. */
  stop(): Promise<void>;
}

/** A registered account. */
export interface ProsodyUser {
  /** The localpart. */
  username: string;
  /** Its password. */
  password: string;
  /** The bare JID, `username@pronto`. */
  jid: string;
}

/** The SOCKS5 Bytestreams proxy (`mod_proxy65`). */
export interface ProsodyProxy {
  /** The component's JID. */
  jid: "proxy.pronto";
  /** Where it listens for SOCKS5. */
  host: "127.0.0.1";
  /** Its SOCKS5 port. */
  port: number;
}

const HOST = "pronto";
const PROXY_JID = "proxy.pronto";
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

function passwordOf(username: string): string {
  return username === USER ? PASSWORD : `${username}-pa55!`;
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
 * @param proxyPort The SOCKS5 proxy's port, with `proxy65`.
 * @returns The config text (Lua).
 */
export function prosodyConfig(
  dir: string,
  port: number,
  certFile: string,
  keyFile: string,
  options: ProsodyOptions = {},
  proxyPort?: number,
): string {
  const protocol = options.tlsProtocol === undefined
    ? ""
    : `; protocol = ${lua(options.tlsProtocol)}`;
  const modules = ["tls", "saslauth", "disco", "roster", "ping"];
  let extra = "";
  if (options.rateLimits !== undefined) {
    modules.push("limits");
    const [c2s, s2sin] = options.rateLimits === "default"
      ? ["10kb/s", "30kb/s"]
      : ["10gb/s", "10gb/s"];
    extra += `limits = {
  c2s = { rate = ${lua(c2s)} };
  s2sin = { rate = ${lua(s2sin)} };
}
`;
  }
  if (options.proxy65) {
    if (proxyPort === undefined) {
      throw new TypeError("Cannot write the config: proxy65 needs a port");
    }
    modules.push("admin_shell", "admin_socket");
    extra += `admin_socket = ${lua(`${dir}/prosody.sock`)}
proxy65_ports = { ${proxyPort} }
proxy65_interfaces = { "127.0.0.1" }
`;
  }
  const component = options.proxy65
    ? `
Component ${lua(PROXY_JID)} "proxy65"
  proxy65_address = "127.0.0.1"
`
    : "";
  const backend = options.networkBackend === undefined
    ? ""
    : `network_backend = ${lua(options.networkBackend)}\n`;
  return `-- Written by scripts/interop/prosody.ts
run_as_root = true
${backend}daemonize = false
pidfile = ${lua(`${dir}/prosody.pid`)}
data_path = ${lua(`${dir}/data`)}
certificates = ${lua(dir)}
plugin_paths = { }

modules_enabled = { ${modules.map(lua).join("; ")} }
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

log = { ${options.debugLog ? "debug" : "info"} = ${lua(`${dir}/prosody.log`)} }
${extra}
VirtualHost ${lua(HOST)}
  ssl = { certificate = ${lua(certFile)}; key = ${lua(keyFile)}${protocol} }
${component}`;
}

/** How {@linkcode startProsody} sets Prosody up. */
export interface ProsodyOptions {
  /**
   * LuaSec's `protocol` for the host's TLS, such as `"tlsv1_2"` (TLS 1.2
   * only, where Prosody 0.12 binds SCRAM-SHA-1-PLUS with tls-unique).
   * Default: Prosody's (TLS 1.2 and up).
   */
  tlsProtocol?: string;
  /**
   * The accounts to register (localparts), each with its own password (see
   * `users` on the result). Default `["romeo"]`.
   */
  users?: string[];
  /**
   * Run the SOCKS5 Bytestreams proxy (`mod_proxy65`) as the component
   * `proxy.pronto`, on a free port of 127.0.0.1. Default `false`.
   */
  proxy65?: boolean;
  /**
   * Prosody's rate limits (`mod_limits`): `"default"` as the Debian config
   * ships them (c2s 10 kB/s), `"lifted"` (10 GB/s). Default: mod_limits is
   * not loaded (no limits).
   */
  rateLimits?: "default" | "lifted";
  /**
   * Prosody's `network_backend`. Default: Prosody's own (`epoll`), whose
   * relay in mod_proxy65 can hold the tail of a burst (see the module
   * notes); `"select"` holds nothing back, but closes on a read of more
   * than 25 MB.
   */
  networkBackend?: "epoll" | "select";
  /** Log at debug level, not info. Default `false`. */
  debugLog?: boolean;
}

/**
 * Installs (if needed) and starts a Prosody for `pronto` with the accounts
 * asked for (`romeo` by default), on a free port of 127.0.0.1; resolves once
 * the port (and the proxy's, with `proxy65`) accepts connections.
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
  const names = options.users ?? [USER];
  if (names.length === 0 || new Set(names).size !== names.length) {
    throw new TypeError(
      "Cannot start Prosody: users must be distinct, one at least",
    );
  }
  for (const name of names) {
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(name)) {
      throw new TypeError(`Cannot start Prosody: bad localpart ${name}`);
    }
  }
  const users = names.map((username) => ({
    username,
    password: passwordOf(username),
    jid: `${username}@${HOST}`,
  }));
  await Deno.mkdir(`${dir}/data`);
  const cert = await makeLeafCert(dir, HOST);
  const port = freePort();
  let proxyPort = options.proxy65 ? freePort() : undefined;
  while (proxyPort === port) proxyPort = freePort();
  const configFile = `${dir}/prosody.cfg.lua`;
  const logFile = `${dir}/prosody.log`;
  await Deno.writeTextFile(
    configFile,
    prosodyConfig(dir, port, cert.certFile, cert.keyFile, options, proxyPort),
  );
  for (const user of users) {
    await run("prosodyctl", [
      "--config",
      configFile,
      "register",
      user.username,
      HOST,
      user.password,
    ]);
    // prosodyctl can exit 0 after a storage error: check the account is there.
    const account = `${dir}/data/${HOST}/accounts/${user.username}.dat`;
    if (!(await Deno.stat(account).then(() => true, () => false))) {
      throw new Error(`prosodyctl register did not create ${account}`);
    }
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
    if (proxyPort !== undefined) {
      await waitForPort(proxyPort, () => exited, async () => {
        const text = await log();
        if (text.includes(`Failed to open server port ${proxyPort}`)) {
          throw new PortTaken(`Prosody could not bind port ${proxyPort}`);
        }
        return text.includes(
          `Activated service 'proxy65' on [127.0.0.1]:${proxyPort}`,
        );
      });
    }
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
  let proxyStopped: Promise<void> | undefined;
  const stopProxy = () =>
    proxyStopped ??= (async () => {
      if (proxyPort === undefined) {
        throw new Error("Cannot stop the proxy: Prosody runs none");
      }
      await run("prosodyctl", [
        "--config",
        configFile,
        "shell",
        "module",
        "unload",
        "proxy65",
      ]);
      await waitForClosed(proxyPort);
    })();
  const first = users[0]!;
  return {
    port,
    certPem: cert.certPem,
    certFile: cert.certFile,
    host: HOST,
    user: first.username,
    password: first.password,
    users,
    proxy: proxyPort === undefined
      ? undefined
      : { jid: PROXY_JID, host: "127.0.0.1", port: proxyPort },
    stopProxy,
    dir,
    log,
    stop,
  };
}

/**
 * Waits until 127.0.0.1:port refuses connections.
 *
 * @param port The port.
 * @throws {Error} When it still accepts after a few seconds.
 */
async function waitForClosed(port: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionRefused) return;
      throw error;
    }
    if (Date.now() > deadline) {
      throw new Error(`port ${port} still open after the proxy was unloaded`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
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
  const prosody = await startProsody({
    users: ["romeo", "juliet"],
    proxy65: true,
  });
  const accounts = prosody.users.map((u) => `${u.jid} / ${u.password}`);
  console.log(
    `Prosody for ${prosody.host} on 127.0.0.1:${prosody.port}; ` +
      `accounts ${accounts.join(", ")}; ` +
      `proxy ${prosody.proxy?.jid} on 127.0.0.1:${prosody.proxy?.port}; ` +
      `dir ${prosody.dir}. Ctrl-C stops it.`,
  );
  const done = () => {
    prosody.stop().then(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", done);
  Deno.addSignalListener("SIGTERM", done);
}

/**
 * Logs user `index` of `prosody` in (SCRAM over STARTTLS) and binds
 * `resource`: a client stream such as the Jingle and SOCKS5 tests run over.
 *
 * @param prosody The server.
 * @param index Which of its users.
 * @param resource The resource to bind.
 * @param options Another port to dial (a relay in front of Prosody), an iq
 *   deadline.
 * @returns The bound client stream.
 */
export function login(
  prosody: Prosody,
  index: number,
  resource: string,
  options: { port?: number | undefined; iqTimeoutMs?: number } = {},
): Promise<E2EStream> {
  const user = prosody.users[index]!;
  return initiate({
    to: prosody.host,
    hostname: "127.0.0.1",
    port: options.port ?? prosody.port,
    caCerts: [prosody.certPem],
    features: [
      sasl({ client: { username: user.username, password: user.password } }),
      bind({ resource }),
    ],
    ...(options.iqTimeoutMs === undefined
      ? {}
      : { iqTimeoutMs: options.iqTimeoutMs }),
  });
}
