/**
 * Child processes of `bench/attack_report.ts`: spawning a Deno script
 * (under `prlimit` when asked), reading its JSON lines, keeping its last
 * lines of standard error, and sampling its RSS and open file descriptors
 * from outside.
 *
 * The sampling is done by a small `bash` loop reading `/proc/PID/status`
 * and `/proc/PID/fd`: Deno 2.9 asks for `--allow-all` to read `/proc`
 * (even `/proc/self/fd`), and a sampler outside the measured process keeps
 * measuring when that process's event loop is stuck.
 *
 * @module
 */

/** Whether `command` runs here. */
export async function has(command: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", {
      args: ["-c", `command -v ${command}`],
      stdout: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Lines of a byte stream, as they come. */
export async function* lines(
  stream: ReadableStream<Uint8Array>,
): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    rest += text;
    let at: number;
    while ((at = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, at);
      rest = rest.slice(at + 1);
    }
  }
  if (rest !== "") yield rest;
}

/** A running child with its JSON lines and the tail of its stderr. */
export class Child {
  readonly process: Deno.ChildProcess;
  readonly pid: number;
  /** The last lines of standard error. */
  readonly stderr: string[] = [];
  /** Set once it exited. */
  status: Deno.CommandStatus | undefined;
  readonly exited: Promise<Deno.CommandStatus>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;

  /**
   * Spawns `deno run` on `script`.
   *
   * @param script The script's URL.
   * @param permissions `--allow-*` flags.
   * @param args The script's arguments.
   * @param onLine Called with each JSON line of standard output.
   * @param nofile Run under `prlimit --nofile=N:N`.
   */
  constructor(
    script: URL,
    permissions: string[],
    args: string[],
    onLine: (message: Record<string, unknown>) => void,
    nofile?: number,
  ) {
    const deno = [
      Deno.execPath(),
      "run",
      ...permissions,
      script.pathname,
      ...args,
    ];
    const command = nofile === undefined
      ? deno
      : ["prlimit", `--nofile=${nofile}:${nofile}`, ...deno];
    // prlimit execs the command: the pid is the Deno process's own.
    const child = new Deno.Command(command[0]!, {
      args: command.slice(1),
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.process = child;
    this.pid = child.pid;
    this.#stdin = child.stdin.getWriter();
    this.exited = child.status.then((status) => this.status = status);
    (async () => {
      for await (const line of lines(child.stdout)) {
        try {
          onLine(JSON.parse(line));
        } catch {
          this.#keep(`(stdout) ${line}`);
        }
      }
    })();
    (async () => {
      for await (const line of lines(child.stderr)) this.#keep(line);
    })();
  }

  #keep(line: string): void {
    this.stderr.push(line);
    if (this.stderr.length > 20) this.stderr.shift();
  }

  /** Writes a line to its standard input (ignored once it exited). */
  async say(line: string): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(line + "\n")).catch(
      () => {},
    );
  }

  /** Kills it (if it still runs) and waits for its end. */
  async kill(signal: Deno.Signal = "SIGKILL"): Promise<Deno.CommandStatus> {
    if (this.status === undefined) {
      try {
        this.process.kill(signal);
      } catch {
        // It ended meanwhile.
      }
    }
    await this.#stdin.close().catch(() => {});
    return await this.exited;
  }
}

/** One look at a process from outside. */
export interface Sample {
  /** RSS in bytes. */
  rss: number;
  /** Open file descriptors. */
  fds: number;
  /** CPU time used so far (user and system), in seconds. */
  cpu: number;
}

const SAMPLER = `
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
while :; do
  r=-1; n=-1; c=0
  if [ -r /proc/$1/status ]; then
    while read -r k v _; do [ "$k" = "VmRSS:" ] && r=$v && break; done < /proc/$1/status
    f=(/proc/$1/fd/*); n=\${#f[@]}
    read -r -a st < /proc/$1/stat && c=$(( st[13] + st[14] ))
  fi
  echo "$r $n $c $hz"
  [ "$r" = -1 ] && exit 0
  if read -r -t $2 _; then :; elif [ $? -le 128 ]; then exit 0; fi
done`;

const LOOK = `
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
r=-1; n=-1; c=0
if [ -r /proc/$1/status ]; then
  while read -r k v _; do [ "$k" = "VmRSS:" ] && r=$v && break; done < /proc/$1/status
  f=(/proc/$1/fd/*); n=\${#f[@]}
  read -r -a st < /proc/$1/stat && c=$(( st[13] + st[14] ))
fi
echo "$r $n $c $hz"`;

/**
 * One look at `pid` by a fresh `bash`, apart from any running sampler: a
 * sampler loop was seen to fall silent after a flood of half a million
 * connections, so the recovery figures are read this way.
 *
 * @param pid The process.
 * @returns Its sample, or undefined when it is gone.
 */
export async function look(pid: number): Promise<Sample | undefined> {
  const { stdout } = await new Deno.Command("bash", {
    args: ["-c", LOOK, "look", String(pid)],
    stdout: "piped",
  }).output();
  const [rss, fds, ticks, hz] = new TextDecoder().decode(stdout).trim()
    .split(" ").map(Number);
  return rss! >= 0
    ? { rss: rss! * 1024, fds: fds!, cpu: ticks! / hz! }
    : undefined;
}

/**
 * Samples `pid`'s RSS and open descriptors every `ms`, until it is gone or
 * `stop()` is called.
 *
 * @param pid The process.
 * @param ms The period.
 * @param onSample Called with each sample.
 * @returns A function that stops sampling.
 */
export function sample(
  pid: number,
  ms: number,
  onSample: (sample: Sample) => void,
): () => Promise<void> {
  const sampler = new Deno.Command("bash", {
    args: ["-c", SAMPLER, "sampler", String(pid), String(ms / 1000)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const done = (async () => {
    for await (const line of lines(sampler.stdout)) {
      const [rss, fds, ticks, hz] = line.trim().split(" ").map(Number);
      if (rss! >= 0) {
        onSample({ rss: rss! * 1024, fds: fds!, cpu: ticks! / hz! });
      }
    }
  })();
  return async () => {
    await sampler.stdin.close().catch(() => {});
    await done;
    await sampler.status;
  };
}
