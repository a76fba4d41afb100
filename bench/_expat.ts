/**
 * A reference row for `bench:report`: C expat through python3's `pyexpat`
 * (namespaces on, no handlers), on the same corpus bytes in the same chunk
 * size, timed inside python so that moving the bytes to it is not counted.
 * One python3 process per corpus answers one timed pass per request, so the
 * row is interleaved with the others within each round. A first pass with
 * handlers counts the depth-1 elements, so that the row is checked against
 * the corpus like every other. Skipped when python3 (or pyexpat) is absent.
 *
 * @module
 */

const SCRIPT = `
import sys, time, pyexpat
size, chunk, expected = (int(a) for a in sys.argv[1:4])
data = sys.stdin.buffer.read(size)
if len(data) != size:
    sys.exit("short input")
chunks = [data[i:i + chunk] for i in range(0, size, chunk)]
depth = 0
count = 0
def start(name, attrs):
    global depth, count
    depth += 1
def end(name):
    global depth, count
    depth -= 1
    if depth == 1:
        count += 1
p = pyexpat.ParserCreate(namespace_separator=" ")
p.StartElementHandler = start
p.EndElementHandler = end
for c in chunks:
    p.Parse(c, False)
p.Parse(b"", True)
if count != expected:
    sys.exit("expat saw %d of %d stanzas" % (count, expected))
print("ready", pyexpat.EXPAT_VERSION, flush=True)
for line in sys.stdin.buffer:
    t = time.perf_counter()
    p = pyexpat.ParserCreate(namespace_separator=" ")
    for c in chunks:
        p.Parse(c, False)
    p.Parse(b"", True)
    ms = (time.perf_counter() - t) * 1e3
    print(size / 1e3 / ms, flush=True)
`;

/** One python3 process holding one corpus, timing expat on request. */
export class Expat {
  /** Its row in the table. */
  static readonly ROW =
    "reference: C expat (pyexpat, namespaces on, no handlers)";
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #lines: AsyncIterator<string>;
  /** The expat version python3 reports. */
  version = "";

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#stdin = child.stdin.getWriter();
    this.#lines = lines(child.stdout);
  }

  /**
   * Starts python3 with `bytes` and checks that expat finds `stanzas`.
   *
   * @param bytes The corpus.
   * @param chunk The chunk size.
   * @param stanzas The number of depth-1 elements in it.
   * @returns The reference, or `undefined` when python3 cannot run it.
   */
  static async start(
    bytes: Uint8Array,
    chunk: number,
    stanzas: number,
  ): Promise<Expat | undefined> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("python3", {
        args: ["-c", SCRIPT, `${bytes.length}`, `${chunk}`, `${stanzas}`],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
    } catch {
      return undefined; // no python3
    }
    const expat = new Expat(child);
    await expat.#stdin.write(bytes);
    const ready = await expat.#lines.next();
    if (ready.done || !ready.value.startsWith("ready")) {
      await expat.close();
      return undefined; // no pyexpat, or it failed the count
    }
    expat.version = ready.value.split(" ")[1] ?? "";
    return expat;
  }

  /**
   * Times one pass over the whole corpus.
   *
   * @returns MB/s.
   */
  async pass(): Promise<number> {
    await this.#stdin.write(new TextEncoder().encode("pass\n"));
    const line = await this.#lines.next();
    if (line.done) throw new Error("python3 stopped");
    return Number(line.value);
  }

  /** Ends the process. */
  async close(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await this.#lines.return?.();
    await this.#child.status;
  }
}

async function* lines(stream: ReadableStream<Uint8Array>) {
  const decoder = new TextDecoder();
  let text = "";
  for await (const chunk of stream) {
    text += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = text.indexOf("\n")) >= 0) {
      yield text.slice(0, end);
      text = text.slice(end + 1);
    }
  }
}
