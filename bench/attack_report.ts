/**
 * Hostile load: floods a listener with hostile peers and prints what a
 * legitimate peer lives through meanwhile, and what the listener's memory
 * and file descriptors do. It measures; it asserts nothing.
 *
 *     deno task bench:attack [--mode=a,b,...] [--connections=N] [--seconds=S]
 *       [--peers=N] [--slow-peers=N] [--addresses=N] [--recover=S]
 *       [--interval=MS] [--listen-options=JSON] [--short]
 *
 * Three processes per attack, so that each RSS is clean:
 *
 * - the listener (`_attack_listener.ts`), run under `prlimit --nofile=1024`
 *   when `prlimit` is there; its RSS and descriptors are sampled from
 *   outside every 100 ms, and it is killed if its RSS passes 4 GiB;
 * - the attackers (`_attackers_main.ts`), from 127.0.0.2 and up;
 * - this one, the legitimate peer, from 127.0.0.1: every `--interval` ms
 *   (500) an `initiate()`, a message, its echo, a close, each within 10 s.
 *
 * Attacks (`--mode`, all by default):
 *
 * | mode                | what the attackers do                                                 |
 * | ------------------- | --------------------------------------------------------------------- |
 * | `silent`            | open `--connections` (3,000) connections, send nothing               |
 * | `header`            | the same, each sending a stream header, then nothing                  |
 * | `tls-stall`         | header, STARTTLS, TLS handshake, then nothing                         |
 * | `trickle`           | a header one byte every 2 s                                           |
 * | `trickle-reconnect` | the same, connecting again whenever cut                               |
 * | `iq-flood`          | `--peers` (4) negotiated peers send iq gets, never reading            |
 * | `message-flood`     | `--peers` peers send 200 KB messages; the application never reads them |
 * | `stanza-trickle`    | `--slow-peers` (200) negotiated peers send a stanza a byte every 5 s   |
 * | `hangup`            | as `message-flood`, then the peers hang up (at 2 GiB or `--seconds`)  |
 *
 * `--short` is a smoke run: 200 connections, 2 peers, 50 slow peers, 5 s,
 * 10 s to recover.
 *
 * @module
 */

import { Child, has, look, type Sample, sample } from "./_attack_processes.ts";

type Memory = Omit<Sample, "cpu">;
import {
  type Attempt,
  type Listening,
  percentile,
  probe,
  PROBE_FROM,
} from "./_attack_probe.ts";
import type { Plan } from "./_attackers_main.ts";
import { option } from "./_options.ts";

const SHORT = Deno.args.includes("--short");
const flag = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const CONNECTIONS = option("connections", SHORT ? 200 : 3_000);
const PEERS = option("peers", SHORT ? 2 : 4);
const SLOW_PEERS = option("slow-peers", SHORT ? 50 : 200);
const SECONDS = option("seconds", SHORT ? 5 : 25);
const RECOVER = option("recover", SHORT ? 10 : 30);
const INTERVAL = option("interval", 500);
const ADDRESSES = option("addresses", 10);
const LISTEN_OPTIONS = flag("listen-options");
const PROBE_MS = 10_000;
const GIB = 1024 ** 3;
const WATCHDOG = 4 * GIB;
const NOFILE = 1024;
const KILLED = "cut by the watchdog's kill";

interface Attack {
  what: string;
  app: "echo" | "ignore";
  attacker: string;
  count: number;
  // The attackers leave once the listener's RSS passes this.
  leaveAtRss?: number;
}

const ATTACKS: Record<string, Attack> = {
  silent: {
    what: `${CONNECTIONS} connections, silent`,
    app: "echo",
    attacker: "silent",
    count: CONNECTIONS,
  },
  header: {
    what: `${CONNECTIONS} connections, a header then silence`,
    app: "echo",
    attacker: "header",
    count: CONNECTIONS,
  },
  "tls-stall": {
    what: `${CONNECTIONS} connections, silent after the TLS handshake`,
    app: "echo",
    attacker: "tls-stall",
    count: CONNECTIONS,
  },
  trickle: {
    what: `${CONNECTIONS} connections, a header byte every 2 s`,
    app: "echo",
    attacker: "trickle",
    count: CONNECTIONS,
  },
  "trickle-reconnect": {
    what: `${CONNECTIONS} connections, a header byte every 2 s, reconnecting`,
    app: "echo",
    attacker: "trickle-reconnect",
    count: CONNECTIONS,
  },
  "iq-flood": {
    what: `${PEERS} negotiated peers flooding iq gets, never reading`,
    app: "echo",
    attacker: "iq-flood",
    count: PEERS,
  },
  "message-flood": {
    what: `${PEERS} negotiated peers flooding 200 KB messages, unread`,
    app: "ignore",
    attacker: "message-flood",
    count: PEERS,
  },
  "stanza-trickle": {
    what: `${SLOW_PEERS} negotiated peers, a stanza byte every 5 s`,
    app: "echo",
    attacker: "stanza-trickle",
    count: SLOW_PEERS,
  },
  hangup: {
    what: `${PEERS} message flooders hang up (at 2 GiB or the end)`,
    app: "ignore",
    attacker: "message-flood",
    count: PEERS,
    leaveAtRss: 2 * GIB,
  },
};

const modes = flag("mode")?.split(",") ?? Object.keys(ATTACKS);
for (const mode of modes) {
  if (!(mode in ATTACKS)) {
    throw new Error(
      `Unknown --mode ${mode}; known: ${Object.keys(ATTACKS).join(", ")}`,
    );
  }
}

interface Result {
  mode: string;
  attack: Attack;
  attempts: Attempt[];
  baseline: Memory;
  peak: Memory;
  after: Memory;
  // CPU seconds from spawning the attackers to their leaving, and that time.
  cpu: { listener: number; attackers: number; wall: number };
  peakHeap: number;
  // ms after the attackers left until within 10% of the baseline (RSS,
  // descriptors) or no stream left (streams).
  back: { rss?: number; fds?: number; streams?: number };
  peakLive: number;
  liveAfter: number;
  // From spawning the attackers to their being in place.
  landing: number;
  attackMs: number;
  attacker: Record<string, number> | undefined;
  attackerPeakRss: number;
  // Most bytes the attackers' sockets held unread at once (sampled each second).
  attackerPeakUnread: number;
  limits: unknown;
  finalProbe: Omit<Attempt, "at"> | undefined;
  stats: unknown;
  // How the listener process ended before we stopped it, if it did.
  exit: string | undefined;
  // The listener's last lines of standard error.
  stderr: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
const seconds = (ms: number | undefined) =>
  ms === undefined ? "—" : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
const prlimit = await has("prlimit");

async function run(mode: string): Promise<Result> {
  const attack = ATTACKS[mode]!;
  const ready = Promise.withResolvers<Listening>();
  let live = { value: 0, at: 0 };
  let peakLive = 0;
  let peakHeap = 0;
  let stats: unknown;
  const listener = new Child(
    new URL("./_attack_listener.ts", import.meta.url),
    ["--allow-net", "--allow-read", "--allow-env"],
    [
      `--app=${attack.app}`,
      `--probe-from=${PROBE_FROM}`,
      ...(LISTEN_OPTIONS ? [`--listen-options=${LISTEN_OPTIONS}`] : []),
    ],
    (line) => {
      if (line.ready) return ready.resolve(line.ready as Listening);
      live = { value: line.live as number, at: performance.now() };
      peakHeap = Math.max(peakHeap, line.heapUsed as number);
      peakLive = Math.max(peakLive, live.value);
      stats = line.stats;
    },
    prlimit ? NOFILE : undefined,
  );
  listener.exited.then(() => ready.reject(new Error("The listener exited")));

  let current: Sample & { at: number } = { rss: 0, fds: 0, cpu: 0, at: 0 };
  let measuring = false;
  const peak: Memory = { rss: 0, fds: 0 };
  let killedAt: number | undefined;
  const leave = Promise.withResolvers<void>();
  const stopSampling = sample(listener.pid, 100, (s) => {
    current = { ...s, at: performance.now() };
    if (measuring) {
      peak.rss = Math.max(peak.rss, s.rss);
      peak.fds = Math.max(peak.fds, s.fds);
      if (attack.leaveAtRss !== undefined && s.rss > attack.leaveAtRss) {
        leave.resolve();
      }
    }
    if (s.rss > WATCHDOG && killedAt === undefined) {
      killedAt = performance.now();
      void listener.kill();
      leave.resolve();
    }
  });

  const listening = await ready.promise;
  const pending: Promise<unknown>[] = [];
  for (let i = 0; i < 2; i++) await probe(listening, PROBE_MS, pending);
  await Promise.all(pending.splice(0));
  await sleep(1_000);
  const baseline = { rss: current.rss, fds: current.fds };
  const baselineLive = live.value;

  let limits: unknown;
  let attacker: Record<string, number> | undefined;
  let attackerPeakRss = 0;
  let attackerPeakUnread = 0;
  const landed = Promise.withResolvers<number>();
  const plan: Plan = {
    mode: attack.attacker,
    target: {
      hostname: "127.0.0.1",
      port: listening.port,
      caCert: listening.certPem,
    },
    count: attack.count,
    addresses: ADDRESSES,
  };
  const attackers = new Child(
    new URL("./_attackers_main.ts", import.meta.url),
    ["--allow-net", "--allow-run=sh,prlimit"],
    [JSON.stringify(plan)],
    (line) => {
      if (line.limits) limits = line.limits;
      const progress = line.progress ?? line.landed ?? line.left;
      if (progress) {
        attacker = progress as Record<string, number>;
        attackerPeakUnread = Math.max(attackerPeakUnread, attacker.unread!);
      }
      if (line.landed) landed.resolve(performance.now());
    },
  );
  let attackersCpu = 0;
  const stopAttackerSampling = sample(attackers.pid, 500, (s) => {
    attackerPeakRss = Math.max(attackerPeakRss, s.rss);
    attackersCpu = s.cpu;
  });
  const listenerCpu = current.cpu;

  // The legitimate peer comes once the attackers are in place (connections
  // opened, peers negotiated), or after 20 s.
  measuring = true;
  const spawned = performance.now();
  await Promise.race([landed.promise, sleep(20_000), leave.promise]);
  const start = performance.now();
  const landing = start - spawned;
  const attempts: Attempt[] = [];
  const running: Promise<void>[] = [];
  let leaving = false;
  leave.promise.then(() => leaving = true);
  while (
    !leaving && listener.status === undefined &&
    performance.now() - start < SECONDS * 1000
  ) {
    const at = performance.now() - start;
    running.push(
      probe(listening, PROBE_MS, pending).then((r) => {
        // An attempt the watchdog's kill cut is not the listener's answer.
        const cut = r.error !== undefined && killedAt !== undefined &&
          start + at + r.ms >= killedAt;
        attempts.push({ at, ...r, ...(cut ? { error: KILLED } : {}) });
      }),
    );
    await Promise.race([sleep(INTERVAL), leave.promise]);
  }
  // The attackers stay until every attempt started under attack settled
  // (unless the listener is gone, or they were to leave at once).
  if (!leaving) await Promise.race([Promise.all(running), leave.promise]);
  const attackMs = performance.now() - start;
  const cpu = {
    listener: current.cpu - listenerCpu,
    attackers: attackersCpu,
    wall: (performance.now() - spawned) / 1000,
  };
  await attackers.say("stop");
  await Promise.race([attackers.exited, sleep(10_000)]);
  await attackers.kill();
  await stopAttackerSampling();
  const left = performance.now();

  const back: Result["back"] = {};
  while (
    listener.status === undefined && performance.now() - left < RECOVER * 1000
  ) {
    const now = await look(listener.pid);
    if (now !== undefined) {
      const at = performance.now() - left;
      current = { ...now, at: performance.now() };
      if (back.rss === undefined && now.rss <= baseline.rss * 1.1) {
        back.rss = at;
      }
      if (back.fds === undefined && now.fds <= baseline.fds * 1.1) {
        back.fds = at;
      }
    }
    if (live.at > left && back.streams === undefined) {
      if (live.value <= baselineLive) back.streams = live.at - left;
    }
    if (Object.keys(back).length === 3) break;
    await sleep(100);
  }
  measuring = false;
  await Promise.all(running);
  const after = { rss: current.rss, fds: current.fds };
  const liveAfter = live.value;
  const finalProbe = listener.status === undefined
    ? await probe(listening, PROBE_MS, pending)
    : undefined;

  let exit: string | undefined;
  if (killedAt !== undefined) {
    exit = `killed by the watchdog at 4 GiB, ${
      seconds(killedAt - start)
    } into the attack`;
  } else if (listener.status !== undefined) {
    const { code, signal } = listener.status;
    exit = `exited by itself (code ${code}${
      signal ? `, signal ${signal}` : ""
    }); last stderr:\n    ${listener.stderr.slice(-8).join("\n    ")}`;
  }
  await listener.kill();
  await stopSampling();
  await Promise.race([Promise.all(pending), sleep(5_000)]);
  return {
    mode,
    attack,
    attempts,
    baseline,
    peak,
    after,
    back,
    peakLive,
    peakHeap,
    cpu,
    liveAfter,
    landing,
    attackMs,
    attacker,
    attackerPeakRss,
    attackerPeakUnread,
    limits,
    finalProbe,
    stats,
    exit,
    stderr: listener.stderr.slice(-8),
  };
}

function summary(r: Result) {
  // Attempts the watchdog's kill cut are left out.
  const counted = r.attempts.filter((a) => a.error !== KILLED);
  const ok = counted.filter((a) => a.error === undefined);
  const times = ok.map((a) => a.ms).sort((a, b) => a - b);
  const rate = counted.length === 0
    ? "—"
    : `${(100 * ok.length / counted.length).toFixed(0)}%`;
  return {
    counted,
    ok,
    rate,
    p50: seconds(percentile(times, 50)),
    p99: seconds(percentile(times, 99)),
    max: seconds(times.at(-1)),
  };
}

function print(r: Result): void {
  const s = summary(r);
  console.log(`\n## ${r.mode}: ${r.attack.what}\n`);
  const a = r.attacker;
  if (a !== undefined) {
    console.log(
      `attackers (in place after ${seconds(r.landing)}): ` +
        `${a.connected} connected (${a.connectFailed} failed), ` +
        `${a.reached} got as far as the attack goes (${a.stepFailed} did not), ` +
        `${a.cut} cut by the listener, ${a.reconnects} reconnects, ` +
        `${a.open} still open when leaving; ` +
        `${Math.round(a.bytesPerSecond!).toLocaleString("en")} B/s sent; ` +
        `RSS peak ${mib(r.attackerPeakRss)}, ` +
        `unread in their sockets: up to ${mib(r.attackerPeakUnread)}`,
    );
  }
  const limits = r.limits as {
    need: number;
    before: { soft: number; hard: number };
    after: { soft: number };
    raised: boolean;
  } | undefined;
  if (limits !== undefined) {
    console.log(
      `attackers' open files: need ${limits.need}, soft limit ${limits.before.soft} ` +
        `(hard ${limits.before.hard})${
          limits.raised ? `, raised to ${limits.after.soft}` : ""
        }`,
    );
  }
  console.log(
    `legitimate peer: ${s.counted.length} attempts in ${seconds(r.attackMs)}${
      s.counted.length < r.attempts.length
        ? ` (and ${r.attempts.length - s.counted.length} ${KILLED})`
        : ""
    }, ${s.rate} ok; dial to echo p50 ${s.p50}, p99 ${s.p99}, max ${s.max}`,
  );
  const errors = new Map<string, number>();
  for (const { error } of s.counted) {
    if (error !== undefined) errors.set(error, (errors.get(error) ?? 0) + 1);
  }
  for (const [error, count] of errors) console.log(`  ${count} × ${error}`);
  console.log(
    `listener RSS: ${mib(r.baseline.rss)} → peak ${mib(r.peak.rss)} → ${
      mib(r.after.rss)
    }; within 10% after ${seconds(r.back.rss)}`,
  );
  console.log(`listener heap: peak ${mib(r.peakHeap)}`);
  console.log(
    `listener fds: ${r.baseline.fds} → peak ${r.peak.fds} → ${r.after.fds}; ` +
      `within 10% after ${seconds(r.back.fds)}`,
  );
  console.log(
    `live streams: peak ${r.peakLive}, ${r.liveAfter} left at the end; ` +
      `none left after ${seconds(r.back.streams)}`,
  );
  const f = r.finalProbe;
  console.log(
    `a new peer after the attack: ${
      f === undefined
        ? "—"
        : f.error === undefined
        ? `ok in ${seconds(f.ms)}`
        : f.error
    }`,
  );
  console.log(
    `listener.stats: ${
      r.stats === undefined ? "(not in this version)" : JSON.stringify(r.stats)
    }`,
  );
  console.log(
    `CPU while the attackers were there (${seconds(r.cpu.wall * 1000)}, ` +
      `2 cores): listener ${seconds(r.cpu.listener * 1000)}, ` +
      `attackers ${seconds(r.cpu.attackers * 1000)}`,
  );
  console.log(`listener process: ${r.exit ?? "ran throughout"}`);
  if (r.exit === undefined && r.stderr.length > 0) {
    console.log(`listener stderr:\n    ${r.stderr.join("\n    ")}`);
  }
}

console.log(
  `# Hostile load: ${
    SHORT ? "short run, " : ""
  }${SECONDS} s per attack, legitimate attempt every ${INTERVAL} ms; ` +
    `listener ${
      prlimit ? `under ulimit -n ${NOFILE}` : "(prlimit missing: own ulimit)"
    }, watchdog at 4 GiB`,
);
const results: Result[] = [];
for (const mode of modes) {
  const result = await run(mode);
  print(result);
  results.push(result);
}

console.log(
  "\n| attack | legitimate peer ok | p50 / p99 / max | listener RSS " +
    "base → peak → after | fds base → peak → after | back within 10% " +
    "(RSS / fds) / no stream left | listener process |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
for (const r of results) {
  const s = summary(r);
  console.log(
    `| ${r.mode} | ${s.ok.length}/${s.counted.length} (${s.rate}) | ${s.p50} / ${s.p99} / ${s.max} | ${
      mib(r.baseline.rss)
    } → ${mib(r.peak.rss)} → ${
      mib(r.after.rss)
    } | ${r.baseline.fds} → ${r.peak.fds} → ${r.after.fds} | ${
      seconds(r.back.rss)
    } / ${seconds(r.back.fds)} / ${seconds(r.back.streams)} | ${
      r.exit === undefined ? "ran" : r.exit.split(";")[0]
    } |`,
  );
}
