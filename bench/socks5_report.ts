/**
 * Throughput of SOCKS5 bytestreams, raw bytes one way: through our own
 * streamhost (a direct candidate) and through Prosody's proxy
 * (mod_proxy65) on its default network backend and on `select`, each with
 * Prosody's rate limits at their defaults and lifted; beside each, plain
 * loopback TCP measured in the same round, and the ratio (median over
 * rounds). Also the set-up time through the proxy: discovery, both
 * connections, activation.
 *
 * Prosody 0.12's default (epoll) relay can hold the last few KiB of a burst
 * until more bytes come the same way, so every variant is timed to the
 * moment the receiver has all but the last 8 KiB; the sender then sends one
 * more byte per stall, which releases what was held.
 *
 *     deno task bench:socks5 [--mb=N] [--rounds=N]
 *
 * @module
 */

import type { E2EStream } from "../src/e2e.ts";
import {
  activateProxy,
  connectSocks5,
  discoverProxies,
  socks5DestinationAddress,
  Socks5Server,
} from "../src/jingle/mod.ts";
import {
  login,
  type ProsodyOptions,
  startProsody,
} from "../scripts/interop/prosody.ts";
import { option } from "./_options.ts";

const MB = option("mb", 16);
const ROUNDS = option("rounds", 3);
const SIZE = MB * 1024 * 1024;
const TAIL = 8 * 1024;
const CHUNK = 64 * 1024;

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

/**
 * Seconds until `to` received all but the tail of SIZE bytes from `from`.
 * Past the tail, a read that waits 100 ms gets one more byte sent after the
 * rest (the nudge that releases what an epoll relay holds); any read that
 * waits 5 s fails the round.
 */
async function timeOneWay(from: Deno.Conn, to: Deno.Conn): Promise<number> {
  const payload = new Uint8Array(CHUNK).fill(0x5a);
  const start = performance.now();
  const sending = (async () => {
    for (let sent = 0; sent < SIZE; sent += CHUNK) {
      await writeAll(from, payload.subarray(0, Math.min(CHUNK, SIZE - sent)));
    }
  })();
  sending.catch(() => {}); // awaited below, unless reading fails first
  const buffer = new Uint8Array(CHUNK);
  let got = 0;
  let seconds = 0;
  let extra = 0;
  let nudging = Promise.resolve();
  while (got < SIZE + extra) {
    const nudge = got >= SIZE - TAIL
      ? setTimeout(() => {
        extra++;
        nudging = sending.then(() => writeAll(from, new Uint8Array(1)));
        nudging.catch(() => {});
      }, 100)
      : undefined;
    let stalled = false;
    const watchdog = setTimeout(() => {
      stalled = true;
      to.close();
    }, 5_000);
    const n = await to.read(buffer).finally(() => {
      clearTimeout(nudge);
      clearTimeout(watchdog);
    }).catch((error) => {
      throw stalled ? new Error(`stalled after ${got} bytes`) : error;
    });
    if (n === null) throw new Error(`closed after ${got} bytes`);
    got += n;
    if (seconds === 0 && got >= SIZE - TAIL) {
      seconds = (performance.now() - start) / 1000;
    }
  }
  await sending;
  await nudging;
  return seconds;
}

async function tcpPair(): Promise<[Deno.Conn, Deno.Conn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const [a, b] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  return [a, b];
}

async function plain(): Promise<number> {
  const [a, b] = await tcpPair();
  try {
    return await timeOneWay(a, b);
  } finally {
    a.close();
    b.close();
  }
}

async function direct(): Promise<number> {
  await using server = Socks5Server.listen();
  const hash = await socks5DestinationAddress("bench", "r@x/a", "j@y/b");
  const expected = server.expect(hash);
  const a = await connectSocks5(server.hostname, server.port, hash);
  const b = await expected;
  try {
    return await timeOneWay(a, b);
  } finally {
    a.close();
    b.close();
  }
}

/** Set-up ms and seconds one way through the proxy, for one round. */
async function viaProxy(
  romeo: E2EStream,
  juliet: E2EStream,
  round: number,
): Promise<[number, number]> {
  const start = performance.now();
  const [proxy] = await discoverProxies(romeo);
  const sid = `bench-${round}`;
  const target = juliet.info.identity!;
  const hash = await socks5DestinationAddress(
    sid,
    romeo.info.identity!,
    target,
  );
  const hers = await connectSocks5(proxy!.host, proxy!.port, hash);
  const mine = await connectSocks5(proxy!.host, proxy!.port, hash);
  try {
    await activateProxy(romeo, proxy!.jid, sid, target);
    const setup = performance.now() - start;
    return [setup, await timeOneWay(mine, hers)];
  } finally {
    for (const conn of [mine, hers]) {
      try {
        conn.close();
      } catch {
        // Closed by the watchdog.
      }
    }
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const rows: string[] = [];
function row(name: string, seconds: number[], baseline: number[], note = "") {
  const mbps = (s: number) => (SIZE - TAIL) / (1024 * 1024) / s;
  const ratio = median(seconds.map((s, i) => baseline[i]! / s));
  rows.push(
    `| ${name} | ${mbps(median(seconds)).toFixed(0)} | ${
      mbps(median(baseline)).toFixed(0)
    } | ${ratio.toFixed(2)} | ${note} |`,
  );
}

{
  const ours: number[] = [];
  const tcp: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    tcp.push(await plain());
    ours.push(await direct());
  }
  row("our Socks5Server (direct)", ours, tcp);
}

const variants: [string, ProsodyOptions][] = [
  ["Prosody proxy65, epoll, default limits", { rateLimits: "default" }],
  ["Prosody proxy65, epoll, limits lifted", { rateLimits: "lifted" }],
  ["Prosody proxy65, select, default limits", {
    rateLimits: "default",
    networkBackend: "select",
  }],
  ["Prosody proxy65, select, limits lifted", {
    rateLimits: "lifted",
    networkBackend: "select",
  }],
];
for (const [name, options] of variants) {
  const prosody = await startProsody({
    users: ["romeo", "juliet"],
    proxy65: true,
    ...options,
  });
  try {
    const romeo = await login(prosody, 0, "bench");
    const juliet = await login(prosody, 1, "bench");
    const proxied: number[] = [];
    const tcp: number[] = [];
    const setups: number[] = [];
    const failures: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      try {
        const [setup, seconds] = await viaProxy(romeo, juliet, r);
        tcp.push(await plain());
        setups.push(setup);
        proxied.push(seconds);
      } catch (error) {
        failures.push(`round ${r + 1}: ${(error as Error).message}`);
      }
    }
    const note = [
      ...(setups.length > 0 ? [`set-up ${median(setups).toFixed(1)} ms`] : []),
      ...(failures.length > 0 ? [`failed ${failures.join(", ")}`] : []),
    ].join("; ");
    if (proxied.length > 0) row(name, proxied, tcp, note);
    else rows.push(`| ${name} | - | - | - | ${note} |`);
    await Promise.all([romeo.close(), juliet.close()]);
  } finally {
    await prosody.stop();
  }
}

console.log(
  `SOCKS5 bytestreams, ${MB} MiB one way (timed to the last 8 KiB), median of ${ROUNDS} rounds\n`,
);
console.log("| path | MiB/s | loopback TCP MiB/s | ratio | |");
console.log("| --- | ---: | ---: | ---: | --- |");
for (const line of rows) console.log(line);
