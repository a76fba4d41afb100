/**
 * Child process of `bench/attack_report.ts`: runs one attack against a
 * listener with the raw peers of `_attackers.ts`, from source addresses
 * 127.0.0.2 and up.
 *
 * Argument: one JSON {@linkcode Plan}. Prints JSON lines: `{"limits"}`
 * (its open-file limits, raised to the hard limit when the soft one is too
 * low for the plan), `{"progress"}` every second, and `{"landed"}` once
 * every connection was opened (or every peer negotiated). On "stop" (a line on
 * standard input, or its end) it hangs up every socket, prints `{"left"}`
 * and exits.
 *
 * @module
 */

import type * as net from "node:net";
import {
  bigMessage,
  connect,
  flood,
  floodConn,
  hangUp,
  iqGets,
  negotiateDeno,
  negotiateRaw,
  sourceAddress,
  startTlsRaw,
  streamHeader,
  type Target,
  trickle,
  unreadBytes,
} from "./_attackers.ts";

/** What to run. */
export interface Plan {
  /** The attack. */
  mode: string;
  /** The listener. */
  target: Target;
  /** Connections (floods of connections) or peers (floods of stanzas). */
  count: number;
  /** How many source addresses to spread over. */
  addresses: number;
}

const plan = JSON.parse(Deno.args[0]!) as Plan;
const { target } = plan;
const encoder = new TextEncoder();

const counts = {
  connected: 0,
  connectFailed: 0,
  // Got as far as the attack needs (header sent, TLS up, stream open).
  reached: 0,
  stepFailed: 0,
  // Closed by the listener (or the system) while the attack went on.
  cut: 0,
  reconnects: 0,
  bytes: 0,
  open: 0,
};
const sockets = new Set<net.Socket>();
const conns = new Set<Deno.Conn>();
let stopping = false;
const started = performance.now();

async function fdLimits(): Promise<{ soft: number; hard: number }> {
  const run = async (script: string) =>
    new TextDecoder().decode(
      (await new Deno.Command("sh", { args: ["-c", script] }).output()).stdout,
    ).trim();
  const [soft, hard] = (await run("ulimit -Sn; ulimit -Hn")).split("\n").map(
    (v) => v === "unlimited" ? Infinity : Number(v),
  );
  return { soft: soft!, hard: hard! };
}

/** Raises this process's soft limit to the hard one when `need` is more. */
async function raiseFdLimit(need: number): Promise<void> {
  const before = await fdLimits();
  let raised = false;
  if (before.soft < need && Number.isFinite(before.hard)) {
    const { success } = await new Deno.Command("prlimit", {
      args: [`--pid=${Deno.pid}`, `--nofile=${before.hard}:${before.hard}`],
    }).output().catch(() => ({ success: false }));
    raised = success;
  }
  const after = raised ? await fdLimits() : before;
  console.log(JSON.stringify({ limits: { need, before, after, raised } }));
}

/** Keeps `socket` counted until it closes; counts a close we did not ask. */
function hold(socket: net.Socket): Promise<void> {
  sockets.add(socket);
  counts.open++;
  return new Promise((resolve) => {
    socket.once("close", () => {
      sockets.delete(socket);
      counts.open--;
      if (!stopping) counts.cut++;
      resolve();
    });
  });
}

async function dial(n: number): Promise<net.Socket | undefined> {
  try {
    const socket = await connect(target, {
      localAddress: sourceAddress(n, plan.addresses),
      timeoutMs: 10_000,
    });
    counts.connected++;
    return socket;
  } catch {
    counts.connectFailed++;
    return undefined;
  }
}

/** Runs `open(n)` for n < count, at most `parallel` connecting at once. */
async function crowd(
  count: number,
  parallel: number,
  open: (n: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(parallel, count) }, async () => {
      while (!stopping && next < count) await open(next++);
    }),
  );
}

// What each connection does once connected (run in the background, so that
// connecting goes on while the listener makes the first ones wait).
const scripts: Record<string, (socket: net.Socket, n: number) => void> = {
  silent: () => counts.reached++,
  header: (socket) => {
    socket.write(streamHeader(target.to));
    counts.reached++;
  },
  "tls-stall": (socket) => {
    // The listener lets 64 negotiate at once: the others may wait long.
    startTlsRaw(socket, target, 600_000).then(
      (secure) => {
        counts.reached++;
        sockets.add(secure);
        secure.once("close", () => sockets.delete(secure));
      },
      () => counts.stepFailed++,
    );
  },
  trickle: (socket) => {
    counts.reached++;
    trickle(socket, streamHeader(target.to), 2_000, () => counts.bytes++);
  },
};

async function connectionFlood(): Promise<void> {
  const script = scripts[plan.mode]!;
  await crowd(plan.count, 200, async (n) => {
    const socket = await dial(n);
    if (socket === undefined) return;
    void hold(socket);
    script(socket, n);
  });
}

/** Each slot trickles a header; when cut, it connects again. */
async function trickleReconnect(): Promise<void> {
  const slot = async (n: number, first: net.Socket | undefined) => {
    let socket = first;
    while (!stopping) {
      if (socket === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        socket = await dial(n);
        continue;
      }
      if (socket !== first) counts.reconnects++;
      counts.reached++;
      const closed = hold(socket);
      await trickle(
        socket,
        streamHeader(target.to),
        2_000,
        () => counts.bytes++,
      );
      await closed;
      socket = stopping ? undefined : await dial(n);
    }
  };
  await crowd(plan.count, 200, async (n) => {
    void slot(n, await dial(n));
  });
}

/** `count` peers negotiate, then run `after` on their raw TLS socket. */
async function negotiated(
  parallel: number,
  after: (socket: net.Socket, n: number) => Promise<unknown>,
): Promise<void> {
  await crowd(plan.count, parallel, async (n) => {
    try {
      const secure = await negotiateRaw(target, {
        localAddress: sourceAddress(n, plan.addresses),
        timeoutMs: 60_000,
      });
      counts.connected++;
      counts.reached++;
      void hold(secure);
      void after(secure, n);
    } catch {
      counts.stepFailed++;
    }
  });
}

const attacks: Record<string, () => Promise<void>> = {
  silent: connectionFlood,
  header: connectionFlood,
  "tls-stall": connectionFlood,
  trickle: connectionFlood,
  "trickle-reconnect": trickleReconnect,
  // Over Deno.startTls, the one TLS client here that truly stops reading
  // (so from 127.0.0.1: Deno.connect binds no source address).
  "iq-flood": () => {
    const batch = encoder.encode(iqGets(512, target.to));
    return crowd(plan.count, plan.count, async () => {
      try {
        const conn = await negotiateDeno(target, 60_000);
        counts.connected++;
        counts.reached++;
        counts.open++;
        conns.add(conn);
        void floodConn(conn, batch, () => stopping, (b) => counts.bytes += b)
          .then(() => {
            conns.delete(conn);
            counts.open--;
            if (!stopping) counts.cut++;
          });
      } catch {
        counts.stepFailed++;
      }
    });
  },
  "message-flood": () => {
    const big = encoder.encode(bigMessage(200_000, target.to));
    return negotiated(
      plan.count,
      (socket) => flood(socket, big, () => stopping, (b) => counts.bytes += b),
    );
  },
  "stanza-trickle": () => {
    const stanza = `<message to='${target.to}' id='slow'><body>` +
      "x".repeat(10_000);
    return negotiated(
      32,
      (socket) => trickle(socket, stanza, 5_000, () => counts.bytes++),
    );
  },
};

/** Bytes received but never read, as the sockets report them. */
function unread(): number {
  let bytes = 0;
  for (const socket of sockets) bytes += unreadBytes(socket);
  return bytes;
}

function progress(key: string): void {
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({
    [key]: {
      ...counts,
      unread: unread(),
      seconds,
      bytesPerSecond: counts.bytes / seconds,
      rss: Deno.memoryUsage().rss,
    },
  }));
}

function stop(): void {
  if (stopping) return;
  stopping = true;
  for (const socket of [...sockets]) hangUp(socket);
  for (const conn of [...conns]) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
  }
  progress("left");
  Deno.exit(0);
}

const attack = attacks[plan.mode];
if (attack === undefined) throw new Error(`Unknown attack ${plan.mode}`);
await raiseFdLimit(plan.count + 100);
setInterval(() => progress("progress"), 1_000);
(async () => {
  for await (const _ of Deno.stdin.readable) break;
  stop();
})();
attack().then(() => progress("landed"), (error) => console.error(error));
