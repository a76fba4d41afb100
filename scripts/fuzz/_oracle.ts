/**
 * What the differential fuzzers share: their `--name=value` arguments, and
 * a reference implementation in a python3 process that answers one line per
 * request. Private module.
 *
 * @module
 */

/**
 * The script's `--name=value` arguments (a bare `--name` is `"true"`).
 *
 * @returns Name to value.
 */
export function scriptArgs(): Map<string, string> {
  return new Map(
    Deno.args.map((arg) => {
      const [key, value] = arg.replace(/^--/, "").split("=", 2);
      return [key!, value ?? "true"];
    }),
  );
}

/**
 * The `--inputs` and `--seed` of a differential run (the seed from the clock
 * when not given).
 *
 * @param args The script's arguments.
 * @returns How many inputs, and the run's seed.
 */
export function runOptions(
  args: Map<string, string>,
): { inputs: number; seed: number } {
  return {
    inputs: Number(args.get("inputs") ?? 100_000),
    seed: Number(args.get("seed") ?? Date.now() % 1_000_000_007) >>> 0,
  };
}

/**
 * A python3 process running `script`, which prints `ready <version>` once
 * it has what it needs (anything else: it has not) and then one line per
 * request.
 */
export class Oracle {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #stdout: ReadableStreamDefaultReader<string>;
  #buffered = "";
  /** What the script said after `ready`: the reference's version. */
  version = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#stdout = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
  }

  /**
   * Starts the script with the first of `pythons` that is installed and
   * has what the script needs.
   *
   * @param script The python source.
   * @param pythons Interpreters to try, in order.
   * @returns The oracle, or undefined when none will do.
   */
  static async start(
    script: string,
    pythons: readonly string[] = ["python3"],
  ): Promise<Oracle | undefined> {
    for (const python of pythons) {
      let child: Deno.ChildProcess;
      try {
        child = new Deno.Command(python, {
          args: ["-c", script],
          stdin: "piped",
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      const oracle = new Oracle(child);
      const greeting = await oracle.line().catch(() => "");
      if (greeting.startsWith("ready")) {
        oracle.version = greeting.slice(6);
        return oracle;
      }
      await oracle.close();
    }
    return undefined;
  }

  /**
   * The next line the script printed.
   *
   * @returns The line, without its line feed.
   */
  async line(): Promise<string> {
    for (;;) {
      const end = this.#buffered.indexOf("\n");
      if (end >= 0) {
        const line = this.#buffered.slice(0, end);
        this.#buffered = this.#buffered.slice(end + 1);
        return line;
      }
      const { value, done } = await this.#stdout.read();
      if (done) throw new Error("python3 ended before answering");
      this.#buffered += value;
    }
  }

  /**
   * Writes to the script's input.
   *
   * @param bytes What to write.
   */
  async write(bytes: Uint8Array): Promise<void> {
    await this.#stdin.write(bytes);
  }

  /** Ends the script's input and waits for it to exit. */
  async close(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await this.#stdout.cancel().catch(() => {});
    await this.#child.status;
  }
}
