/**
 * When the interop tests are ignored: when `XMPP_E2E_SKIP_INTEROP=1`, or when
 * the run lacks the permissions they need (plain `deno task test` grants no
 * `--allow-sys`, which installing the peers needs; `deno task test:interop` grants all). Either
 * way a line says so, so a skip is never silent.
 *
 * @module
 */

const NEEDED: Deno.PermissionDescriptor[] = [
  { name: "run" },
  { name: "write" },
  { name: "read" },
  { name: "net" },
  { name: "env" },
  { name: "sys" },
];

/**
 * Whether to ignore the interop tests of a file; logs why when so.
 *
 * @param file The test file, for the message.
 * @returns `true` to ignore.
 */
export function skipInterop(file: string): boolean {
  const missing = NEEDED.filter((p) =>
    Deno.permissions.querySync(p).state !== "granted"
  ).map((p) => `--allow-${p.name}`);
  if (missing.length > 0) {
    console.warn(
      `${file}: ignored: needs ${missing.join(" ")}; ` +
        "run `deno task test:interop`",
    );
    return true;
  }
  if (Deno.env.get("XMPP_E2E_SKIP_INTEROP") === "1") {
    console.warn(`${file}: ignored because XMPP_E2E_SKIP_INTEROP=1`);
    return true;
  }
  return false;
}
