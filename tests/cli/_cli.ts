/**
 * Runs the `xmpp-e2e` command as a real process, the way `deno task cli`
 * does (the flags are read from deno.json's task), with pipes on its
 * standard input, output and error.
 *
 * @module
 */

const root = new URL("../../", import.meta.url);
const config = JSON.parse(
  await Deno.readTextFile(new URL("deno.json", root)),
) as { tasks: Record<string, string> };
/** `deno task cli`, split: ["run", flags..., "src/cli/main.ts"]. */
const TASK = config.tasks.cli!.split(" ").slice(1);

/** A running command. */
export interface Cli {
  /** Writes a line to its standard input. */
  writeLine(line: string): Promise<void>;
  /** Closes its standard input (end of input). */
  endInput(): Promise<void>;
  /** Resolves with the first match of `pattern` in its standard output. */
  stdout(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves with the first match of `pattern` in its standard error. */
  stderr(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Sends it a signal. */
  kill(signal: Deno.Signal): void;
  /** Resolves when it exited, with its code and everything it printed. */
  done(): Promise<{ code: number; out: string; err: string }>;
}

/** Text read from a pipe so far, and who waits for what in it. */
class Collected {
  text = "";
  ended = false;
  #waiters: {
    pattern: RegExp;
    resolve: (m: RegExpMatchArray) => void;
    reject: (e: Error) => void;
  }[] = [];
  readonly finished: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>, name: string) {
    this.finished = (async () => {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        this.text += chunk;
        this.#check();
      }
      this.ended = true;
      for (const waiter of this.#waiters.splice(0)) {
        waiter.reject(
          new Error(`${name} ended without ${waiter.pattern}:\n${this.text}`),
        );
      }
    })();
  }

  wait(pattern: RegExp): Promise<RegExpMatchArray> {
    const found = this.text.match(pattern);
    if (found) return Promise.resolve(found);
    if (this.ended) {
      return Promise.reject(new Error(`no ${pattern} in:\n${this.text}`));
    }
    return new Promise((resolve, reject) =>
      this.#waiters.push({ pattern, resolve, reject })
    );
  }

  #check(): void {
    for (const waiter of [...this.#waiters]) {
      const found = this.text.match(waiter.pattern);
      if (found) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        waiter.resolve(found);
      }
    }
  }
}

/**
 * Starts `xmpp-e2e` with the given arguments.
 *
 * @param args The arguments.
 * @param configDir The configuration directory (given with --config-dir
 *   unless `env` is used instead).
 * @param env Extra environment variables.
 * @returns The running command.
 */
export function cli(
  args: string[],
  configDir?: string,
  env: Record<string, string> = {},
): Cli {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...TASK,
      ...args,
      ...(configDir === undefined ? [] : ["--config-dir", configDir]),
    ],
    cwd: root,
    env: { NO_COLOR: "1", ...env },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = new Collected(child.stdout, "stdout");
  const err = new Collected(child.stderr, "stderr");
  const input = child.stdin.getWriter();
  let inputOpen = true;
  const encoder = new TextEncoder();
  const endInput = async () => {
    if (!inputOpen) return;
    inputOpen = false;
    await input.close().catch(() => {});
  };
  return {
    writeLine: (line) => input.write(encoder.encode(`${line}\n`)),
    endInput,
    stdout: (pattern) => out.wait(pattern),
    stderr: (pattern) => err.wait(pattern),
    kill: (signal) => child.kill(signal),
    async done() {
      const [status] = await Promise.all([
        child.status,
        out.finished,
        err.finished,
      ]);
      await endInput();
      return { code: status.code, out: out.text, err: err.text };
    },
  };
}

/**
 * Starts `xmpp-e2e listen` on a free port and waits until it listens.
 *
 * @param address The address to listen as.
 * @param configDir Its configuration directory.
 * @returns The command and its port.
 */
export async function listening(
  address: string,
  configDir: string,
): Promise<{ listener: Cli; port: string }> {
  const listener = cli(["listen", "--as", address, "--port", "0"], configDir);
  const [, port] = await listener.stderr(/Listening on 127\.0\.0\.1:(\d+)/);
  return { listener, port: port! };
}

/** The fingerprint a run says is its own. */
export const OWN_FINGERPRINT =
  /Our certificate: SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/;
