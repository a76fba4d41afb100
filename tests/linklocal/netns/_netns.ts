/**
 * The link-local tests' surroundings: they run inside namespace xe2eA of
 * `scripts/linklocal/netns.sh` (started there by `deno task
 * test:linklocal`, which sets `XE2E_NETNS`), and reach the other side,
 * xe2eB, and the avahi-daemon in it, with `ip netns exec`. Anywhere else
 * they are ignored, with a line saying so.
 *
 * @module
 */

/** Splits text into lines (no `@std/streams` here). */
export class TextLineStream extends TransformStream<string, string> {
  constructor() {
    let rest = "";
    super({
      transform(chunk, controller) {
        const parts = (rest + chunk).split("\n");
        rest = parts.pop()!;
        for (const line of parts) controller.enqueue(line);
      },
      flush(controller) {
        if (rest !== "") controller.enqueue(rest);
      },
    });
  }
}

/** Our side's namespace and interface. */
export const A = "xe2eA";
/** The other side's namespace and interface. */
export const B = "xe2eB";
/** The D-Bus address avahi's clients need (scripts/linklocal/avahi.sh). */
export const AVAHI_BUS = "unix:path=/tmp/xe2e-avahi/system_bus_socket";
/** The package root, for the helper programs. */
export const ROOT = new URL("../../../", import.meta.url).pathname;

/**
 * Whether to ignore a file's tests; logs why when so.
 *
 * @param file The test file, for the message.
 * @returns `true` to ignore.
 */
export function skipUnlessNetns(file: string): boolean {
  if (Deno.env.get("XE2E_NETNS") === A) return false;
  console.warn(
    `${file}: ignored: runs inside the test network; run \`deno task test:linklocal\` as root`,
  );
  return true;
}

/** A program running in the other namespace, told lines and telling lines. */
export class Remote {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly seen: string[] = [];

  /**
   * Starts `args` in namespace `ns`.
   *
   * @param ns The namespace.
   * @param args The command.
   * @param env Extra environment.
   * @param merge Read its standard error as standard output.
   */
  constructor(
    ns: string,
    args: string[],
    env: Record<string, string> = {},
    merge = false,
  ) {
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    const command = merge
      ? ["sh", "-c", 'exec "$@" 2>&1', "sh", ...args]
      : args;
    this.#child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, "env", ...vars, ...command],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream())
      .pipeThrough(new TextLineStream()).getReader();
    this.#writer = this.#child.stdin.getWriter();
  }

  /**
   * Starts one of our helper programs (a Deno script) in namespace `ns`.
   *
   * @param ns The namespace.
   * @param script The script under tests/linklocal/netns/.
   * @param args Its arguments.
   * @returns The program.
   */
  static deno(ns: string, script: string, args: string[]): Remote {
    return new Remote(ns, [
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      `--config=${ROOT}deno.json`,
      `${ROOT}tests/linklocal/netns/${script}`,
      ...args,
    ]);
  }

  /**
   * Waits for a line that matches.
   *
   * @param match What to wait for.
   * @param timeoutMs How long.
   * @returns The line.
   */
  async line(match: (line: string) => boolean, timeoutMs = 15_000): Promise<
    string
  > {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `No matching line in ${timeoutMs} ms; saw ${
            JSON.stringify(this.seen)
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const next = await Promise.race([
        this.#lines.read(),
        new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), left);
        }),
      ]);
      clearTimeout(timer);
      if (next === "timeout") continue;
      if (next.done) {
        throw new Error(`The program ended; saw ${JSON.stringify(this.seen)}`);
      }
      this.seen.push(next.value);
      if (match(next.value)) return next.value;
    }
  }

  /**
   * Sends a line to the program.
   *
   * @param line The line.
   */
  async tell(line: string): Promise<void> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
  }

  /**
   * Waits for the program to end by itself.
   *
   * @returns Its status.
   */
  exited(): Promise<Deno.CommandStatus> {
    return this.#child.status;
  }

  /**
   * Ends the program (SIGTERM unless it ended) and waits for it.
   *
   * @param signal The signal.
   * @returns Its status.
   */
  async stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    try {
      await this.#writer.close();
    } catch {
      // Already closed.
    }
    try {
      this.#child.kill(signal);
    } catch {
      // Already ended.
    }
    const status = await this.#child.status;
    await this.#lines.cancel().catch(() => {});
    return status;
  }
}

/**
 * Runs a command to its end in a namespace.
 *
 * @param ns The namespace.
 * @param args The command.
 * @returns Its standard output.
 */
export async function runIn(ns: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("ip", {
    args: [
      "netns",
      "exec",
      ns,
      "env",
      `DBUS_SYSTEM_BUS_ADDRESS=${AVAHI_BUS}`,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}
