/**
 * Memory per idle negotiated stream on the recipient's side alone: this
 * process listens; a child process opens N streams and keeps them idle.
 * Prints heap, external, native and RSS per stream for plaintext and TLS;
 * then every TLS stream carries traffic (a burst of 1 KiB stanzas, a pause,
 * one more) and, idle again, what it holds more than before is printed.
 *
 *     deno task bench:idle [--plain=N] [--tls=N] [--batch=N] [--warm=N]
 *
 * To see what makes the RSS no stream holds, two options change the set-up
 * (the figures are then not the ones the targets speak of): `--batch=N`
 * has the initiators open N streams at a time (100 unless told), and
 * `--warm=N` opens and closes N streams before the baseline is taken, so
 * that what the process sets up once for its first streams is not counted.
 *
 * Each mode is measured in its own recipient process, after full GCs.
 * Opening the streams grows V8's young generation (the space new objects
 * are made in) to tens of MiB, once per process whatever the number of
 * streams, and a full GC leaves it grown; so RSS per stream is measured
 * after a GC that also shrinks it back (V8's memory-reducing collection),
 * and the RSS with the grown young generation, and its size, are printed
 * beside it. Native memory in use is glibc's count (`mallinfo2`, through
 * FFI), "n/a" where there is none: after a burst RSS also keeps what the
 * allocator freed but holds for reuse, which no stream holds.
 *
 * @module
 */

import * as v8 from "node:v8";
import { type E2EStream, listen } from "../src/e2e.ts";
import { generateCertificate } from "../src/transport/certificate.ts";
import { option } from "./_options.ts";

type Gc = (options?: {
  type: "major";
  execution: "sync";
  flavor: "last-resort";
}) => void;
const gc = (globalThis as { gc?: Gc }).gc;

/** A full GC that also shrinks the young generation and frees its pages. */
function reducingGc(): void {
  gc?.({ type: "major", execution: "sync", flavor: "last-resort" });
}

// glibc's allocator statistics, when this process may load libc: the
// native memory in use, which RSS blurs with what the allocator keeps free.
const libc = (() => {
  // Only the measuring child is given FFI: ask, so that nothing prompts.
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
    return undefined;
  }
  try {
    return Deno.dlopen("libc.so.6", {
      mallinfo2: {
        parameters: [],
        result: { struct: Array(10).fill("usize") },
      },
    });
  } catch {
    return undefined;
  }
})();

/** Bytes of native memory in use (glibc's uordblks + hblkhd), or NaN. */
function nativeInUse(): number {
  if (libc === undefined) return NaN;
  const fields = new BigUint64Array(libc.symbols.mallinfo2().buffer);
  return Number(fields[7]) + Number(fields[4]);
}

/** Memory figures of this process. */
function memory() {
  return { ...Deno.memoryUsage(), native: nativeInUse() };
}

/** Stanzas of 1 KiB each stream sends at once in the traffic step. */
const BURST = 64;

function youngGeneration(): number {
  return v8.getHeapSpaceStatistics()
    .filter((s) => s.space_name.startsWith("new_"))
    .reduce((sum, s) => sum + s.space_size, 0);
}

/**
 * Traffic on idle streams: a burst on every stream, a pause, one more
 * stanza. Once all of it arrived and the streams are idle again, returns
 * the memory figures, to compare with those from before any traffic.
 */
async function carry(
  streams: E2EStream[],
  child: Deno.ChildProcess,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<ReturnType<typeof memory>> {
  const received = Promise.all(
    streams.map((s) =>
      new Promise<void>((resolve) => {
        let seen = 0;
        const subscription = s.stanzas$.subscribe(() => {
          if (++seen < BURST + 1) return;
          subscription.unsubscribe();
          resolve();
        });
      })
    ),
  );
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode("traffic\n"));
  writer.releaseLock();
  await received;
  await reader.read(); // "sent"
  await new Promise((resolve) => setTimeout(resolve, 300));
  reducingGc();
  return memory();
}

/** Initiators in a child process: `count` streams, `batch` at a time. */
function initiators(
  port: number,
  count: number,
  mode: "plain" | "tls",
  certFile: string,
  batch: number,
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      new URL("./_idle_initiators.ts", import.meta.url).pathname,
      String(port),
      String(count),
      mode,
      certFile,
      String(BURST),
      String(batch),
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
}

/** Opens `count` streams from a child and closes them again. */
async function openAndClose(
  listener: Awaited<ReturnType<typeof listen>>,
  count: number,
  mode: "plain" | "tls",
  certFile: string,
): Promise<void> {
  const child = initiators(listener.addr.port, count, mode, certFile, 100);
  const streams: E2EStream[] = [];
  while (streams.length < count) streams.push((await listener.accept())!);
  const reader = child.stdout.getReader();
  await reader.read(); // "ready"
  reader.releaseLock();
  const closed = Promise.all(streams.map((s) => s.closed));
  await child.stdin.close();
  await closed;
  await child.stdout.cancel();
  await child.status;
}

/** One measure, in this (fresh) process. */
async function idle(
  mode: "plain" | "tls",
  count: number,
  batch: number,
  warm: number,
): Promise<Row> {
  const certificate = await generateCertificate({ names: ["pronto"] });
  const dir = await Deno.makeTempDir();
  const certFile = `${dir}/pronto.pem`;
  await Deno.writeTextFile(certFile, certificate.certPem);
  const listener = await listen({
    from: "pronto",
    tls: mode === "tls" ? "required" : "off",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    negotiationTimeoutMs: 120_000,
    // Every initiator comes from one child at 127.0.0.1 and stays: admission
    // control would rightly refuse that from one address.
    maxPending: count,
    maxPendingPerAddress: count,
    maxConnections: count + 16,
  });
  if (warm > 0) await openAndClose(listener, warm, mode, certFile);
  gc?.();
  const grownBefore = Deno.memoryUsage();
  reducingGc();
  const before = memory();
  const youngBefore = youngGeneration();
  const child = initiators(listener.addr.port, count, mode, certFile, batch);
  const streams: E2EStream[] = [];
  while (streams.length < count) streams.push((await listener.accept())!);
  const reader = child.stdout.getReader();
  await reader.read(); // "ready"
  for (let i = 0; i < 3; i++) gc?.();
  const grown = Deno.memoryUsage();
  const young = youngGeneration() - youngBefore;
  reducingGc();
  const after = memory();
  const traffic = mode === "tls" ? await carry(streams, child, reader) : after;
  reader.releaseLock();
  const closed = Promise.all(streams.map((s) => s.closed));
  await child.stdin.close();
  const results = await closed;
  await child.stdout.cancel();
  await child.status;
  await listener.close();
  await Deno.remove(dir, { recursive: true });
  return {
    mode,
    count,
    heap: (after.heapUsed - before.heapUsed) / count,
    rss: (after.rss - before.rss) / count,
    rssGrown: (grown.rss - grownBefore.rss) / count,
    young,
    external: (after.external - before.external) / count,
    native: (after.native - before.native) / count,
    traffic: {
      heap: (traffic.heapUsed - after.heapUsed) / count,
      external: (traffic.external - after.external) / count,
      native: (traffic.native - after.native) / count,
      rss: (traffic.rss - after.rss) / count,
    },
    clean: results.filter((r) => r.clean).length,
  };
}

interface Row {
  mode: string;
  count: number;
  heap: number;
  rss: number;
  rssGrown: number;
  young: number;
  external: number;
  native: number;
  /** What an idle stream holds after traffic more than before any. */
  traffic: { heap: number; external: number; native: number; rss: number };
  clean: number;
}

const batch = option("batch", 100);
const warm = Deno.args.some((a) => a.startsWith("--warm="))
  ? option("warm", 1)
  : 0;

// Each measure runs in a fresh recipient process: RSS only grows for the
// first streams of a process (later ones reuse memory freed before).
const mode = Deno.args.find((a) => a.startsWith("--mode="))?.slice(7);
if (mode === "plain" || mode === "tls") {
  console.log(
    JSON.stringify(await idle(mode, option("count", 1), batch, warm)),
  );
  Deno.exit(0);
}

const permissions = [
  "--allow-net",
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-env",
  "--allow-ffi",
];

async function measure(mode: "plain" | "tls", count: number): Promise<Row> {
  const { stdout, success } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...permissions,
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      `--mode=${mode}`,
      `--count=${count}`,
      `--batch=${batch}`,
      ...(warm > 0 ? [`--warm=${warm}`] : []),
    ],
    stderr: "inherit",
  }).output();
  if (!success) throw new Error(`the ${mode} run failed`);
  return JSON.parse(new TextDecoder().decode(stdout).trim().split("\n").pop()!);
}

const rows = [
  await measure("plain", option("plain", 10_000)),
  await measure("tls", option("tls", 1_000)),
];
const kib = (bytes: number) =>
  Number.isNaN(bytes) ? "n/a" : `${(bytes / 1024).toFixed(1)} KiB`;
console.log("# Memory per idle negotiated stream, recipient side\n");
if (batch !== 100 || warm > 0) {
  console.log(
    `Set-up changed: initiators open ${batch} streams at a time` +
      (warm > 0 ? `; ${warm} opened and closed before the baseline` : "") +
      ". The targets below speak of the default set-up.\n",
  );
}
console.log(
  "| streams | heap per stream | external per stream | native in use per " +
    "stream | RSS per stream | RSS per stream, young generation grown | " +
    "young generation grown | clean closes |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.count.toLocaleString("en")} ${r.mode} | ${kib(r.heap)} | ${
      kib(r.external)
    } | ${kib(r.native)} | ${kib(r.rss)} | ${kib(r.rssGrown)} | ${
      (r.young / 1024 / 1024).toFixed(1)
    } MiB | ${r.clean} / ${r.count} |`,
  );
}
const tls = rows.find((r) => r.mode === "tls")!;
const t = tls.traffic;
console.log(
  `\n# After traffic: what an idle TLS stream holds more than before any ` +
    `(${BURST} stanzas of 1 KiB at once, a pause, one more)\n`,
);
console.log("| streams | heap | external | native in use | RSS |");
console.log("| --- | --- | --- | --- | --- |");
console.log(
  `| ${tls.count.toLocaleString("en")} tls | ${kib(t.heap)} | ${
    kib(t.external)
  } | ${kib(t.native)} | ${kib(t.rss)} |`,
);
const held = t.heap + t.external + t.native;
console.log(
  `\nTarget: at most 48 KiB RSS per idle TLS stream: ${
    tls.rss <= 48 * 1024 ? "met" : "not met"
  } (${kib(tls.rss)}).`,
);
console.log(
  `Target: an idle TLS stream after traffic holds within 2 KiB of one ` +
    `that never carried any (heap + external + native in use): ${
      Number.isNaN(held)
        ? "not measured (no glibc)"
        : Math.abs(held) <= 2048
        ? "met"
        : "not met"
    } (${kib(held)}).`,
);
