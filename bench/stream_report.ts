/**
 * Stream throughput over loopback TCP, plaintext and TLS: stanzas per second
 * and MB/s one way for small (~200 B) and large (~16 KiB) message stanzas;
 * beside each, the raw transport: the same bytes in the same writes (sizes
 * recorded from the stream's own transport writes) over the same transport
 * pair (`connectTcp` to `listenTcp`, the same TLS stacks), with no XMPP on
 * either end, and the ratio of the stream to it, median over rounds of the
 * ratio measured in the same round, and the same ratio of the process's CPU
 * time (less swayed by other work on a shared machine); the parser alone on
 * the same bytes, and the ratio the parser alone leaves room for; iq
 * round-trip latency (p50, p99).
 *
 *     deno task bench:stream [--small=N] [--large=N] [--iq=N] [--rounds=N]
 *
 * @module
 */

import process from "node:process";
import { type E2EStream, initiate, listen } from "../src/e2e.ts";
import { iq, message } from "../src/stanza/stanza.ts";
import { iqResult } from "../src/stanza/stanza.ts";
import { generateCertificate } from "../src/transport/certificate.ts";
import { connectTcp } from "../src/transport/deno_tcp.ts";
import { listenTcp } from "../src/transport/node_tcp.ts";
import type { Transport } from "../src/transport/transport.ts";
import { Element } from "../src/xml/element.ts";
import { serialize } from "../src/xml/serialize.ts";
import { XmlParser } from "../src/xml/parser.ts";
import { CountingSink } from "./_ours.ts";
import { option } from "./_options.ts";
import { median } from "./_stats.ts";

const SMALL = option("small", 100_000);
const LARGE = option("large", 5_000);
const IQS = option("iq", 2_000);
const ROUNDS = option("rounds", 5);

const certificate = await generateCertificate({ names: ["pronto"] });

function body(size: number): string {
  const unit = "Wherefore art thou Romeo? ";
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

/** A transport that records the size of each write once `recording`. */
class Recorder implements Transport {
  sizes: number[] = [];
  recording = false;
  constructor(readonly inner: Transport) {}
  read() {
    return this.inner.read();
  }
  write(bytes: Uint8Array) {
    if (this.recording) this.sizes.push(bytes.length);
    return this.inner.write(bytes);
  }
  get canStartTls() {
    return this.inner.canStartTls;
  }
  get copiesWrites() {
    return this.inner.copiesWrites === true;
  }
  startTls() {
    return this.inner.startTls();
  }
  closeWrite() {
    return this.inner.closeWrite();
  }
  close() {
    this.inner.close();
  }
  get remote() {
    return this.inner.remote;
  }
  get tls() {
    return this.inner.tls;
  }
}

async function pairOf(
  tls: boolean,
): Promise<
  { a: E2EStream; b: E2EStream; wire: Recorder; close(): Promise<void> }
> {
  const listener = await listen({
    from: "juliet@pronto",
    tls: tls ? "required" : "off",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    limits: { maxStanzaBytes: 1 << 20 },
  });
  const accepted = listener.accept();
  // The transport initiate() would dial (connectTcp, rustls), recorded.
  const wire = new Recorder(
    await connectTcp({
      hostname: "127.0.0.1",
      port: listener.addr.port,
      tls: { serverName: "pronto", caCerts: [certificate.certPem] },
    }),
  );
  const a = await initiate({
    from: "romeo@forza",
    to: "juliet@pronto",
    transport: wire,
    tls: tls ? "required" : "off",
    caCerts: [certificate.certPem],
    limits: { maxStanzaBytes: 1 << 20 },
  });
  const b = (await accepted)!;
  return {
    a,
    b,
    wire,
    async close() {
      await Promise.all([a.close(), b.closed]);
      await listener.close();
    },
  };
}

/** A stanza of about `size` bytes of body, its text and its UTF-8 size. */
function stanzaOf(size: number) {
  const stanza = message({
    to: "juliet@pronto",
    from: "romeo@forza",
    id: "x",
    body: body(size),
  });
  const text = serialize(stanza, "jabber:client");
  return { stanza, text, bytes: new TextEncoder().encode(text) };
}

/** CPU time of the process since `from` (user and system), in ms. */
function cpuMs(from: { user: number; system: number }): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
}

/**
 * Sends `count` stanzas one way; the time, the process's CPU time and the
 * stream's write sizes.
 */
async function oneWay(
  tls: boolean,
  size: number,
  count: number,
): Promise<{ ms: number; cpu: number; writes: number[] }> {
  const { a, b, wire, close } = await pairOf(tls);
  const { stanza } = stanzaOf(size);
  let seen = 0;
  const done = new Promise<void>((resolve) =>
    b.stanzas$.subscribe(() => {
      if (++seen === count) resolve();
    })
  );
  wire.recording = true;
  const cpu = process.cpuUsage();
  const start = performance.now();
  let last: Promise<void> = Promise.resolve();
  for (let i = 0; i < count; i++) {
    last = a.send(stanza);
    if (i % 1000 === 999) await last; // keep the queue bounded
  }
  await last;
  await done;
  const ms = performance.now() - start;
  const used = cpuMs(cpu);
  wire.recording = false;
  await close();
  return { ms, cpu: used, writes: wire.sizes };
}

/**
 * The raw transport: the same bytes (the stanza's UTF-8, `count` times) in
 * writes of the sizes the stream made, from `connectTcp` to `listenTcp`
 * (TLS started on both when `tls`), read until all bytes arrived. No XMPP.
 * The time and the process's CPU time.
 */
async function rawOneWay(
  tls: boolean,
  unit: Uint8Array,
  count: number,
  writes: readonly number[],
): Promise<{ ms: number; cpu: number }> {
  const listener = await listenTcp({
    tls: { cert: certificate.certPem, key: certificate.keyPem },
  });
  const client = await connectTcp({
    ...listener.addr,
    tls: { serverName: "pronto", caCerts: [certificate.certPem] },
  });
  const server = (await listener.accept())!;
  if (tls) await Promise.all([client.startTls(), server.startTls()]);
  const total = unit.length * count;
  // Enough copies of the stanza bytes to slice any write from.
  const largest = Math.max(...writes, unit.length);
  const copies = Math.ceil(largest / unit.length) + 1;
  const pool = new Uint8Array(unit.length * copies);
  for (let i = 0; i < copies; i++) pool.set(unit, i * unit.length);
  const received = (async () => {
    let got = 0;
    while (got < total) {
      const chunk = await server.read();
      if (chunk === null) throw new Error("The raw transport ended early");
      got += chunk.length;
    }
  })();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let sent = 0;
  let i = 0;
  while (sent < total) {
    const n = Math.min(writes[i++] ?? largest, total - sent);
    const from = sent % unit.length;
    await client.write(pool.subarray(from, from + n));
    sent += n;
  }
  await received;
  const ms = performance.now() - start;
  const used = cpuMs(cpu);
  client.close();
  server.close();
  await listener.close();
  return { ms, cpu: used };
}

/** The parser alone on the same bytes: ms for `count` stanzas. */
function parserAlone(text: string, count: number): number {
  const header =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
  const n = Math.min(count, 20_000);
  const all = new TextEncoder().encode(header + text.repeat(n));
  const start = performance.now();
  const parser = new XmlParser(new CountingSink(), {
    tree: true,
    maxStanzaBytes: 1 << 20,
  });
  for (let i = 0; i < all.length; i += 16384) {
    parser.write(all.subarray(i, i + 16384));
  }
  return (performance.now() - start) * count / n;
}

async function roundTrips(tls: boolean): Promise<number[]> {
  const { a, b, close } = await pairOf(tls);
  b.onIq((request) => iqResult(request));
  const times: number[] = [];
  for (let i = 0; i < IQS; i++) {
    const request = iq(
      { type: "get", to: "juliet@pronto", id: `q${i}` },
      new Element("ping", "urn:xmpp:ping"),
    );
    const t = performance.now();
    await a.request(request);
    times.push(performance.now() - t);
  }
  await close();
  return times.sort((x, y) => x - y);
}

interface Row {
  mode: string;
  tls: boolean;
  /** Body size asked of stanzaOf(). */
  body: number;
  unit: Uint8Array;
  stanzas: number;
  streamMs: number[];
  rawMs: number[];
  streamCpu: number[];
  rawCpu: number[];
  writes: number[];
  text: string;
  parserMs: number[];
}

const rows: Row[] = [];
for (const tls of [false, true]) {
  for (const [body, count] of [[140, SMALL], [16 * 1024, LARGE]] as const) {
    const { text, bytes } = stanzaOf(body);
    rows.push({
      mode: tls ? "TLS" : "plaintext",
      tls,
      body,
      unit: bytes,
      stanzas: count,
      streamMs: [],
      rawMs: [],
      streamCpu: [],
      rawCpu: [],
      writes: [],
      text,
      parserMs: [],
    });
  }
}
// One warm-up round, then timed rounds. Within a round a stream row and its
// raw row run back to back (stream first in even rounds, raw first in odd
// ones); the raw row replays the write sizes of the stream's latest run.
for (let round = -1; round < ROUNDS; round++) {
  for (const row of rows) {
    const stream = async () => {
      const run = await oneWay(row.tls, row.body, row.stanzas);
      row.writes = run.writes;
      return run;
    };
    const raw = () => rawOneWay(row.tls, row.unit, row.stanzas, row.writes);
    let streamRun: { ms: number; cpu: number };
    let rawRun: { ms: number; cpu: number };
    if (round % 2 === 0 || row.writes.length === 0) {
      streamRun = await stream();
      rawRun = await raw();
    } else {
      rawRun = await raw();
      streamRun = await stream();
    }
    const parserMs = parserAlone(row.text, row.stanzas);
    if (round >= 0) {
      row.streamMs.push(streamRun.ms);
      row.rawMs.push(rawRun.ms);
      row.streamCpu.push(streamRun.cpu);
      row.rawCpu.push(rawRun.cpu);
      row.parserMs.push(parserMs);
    }
  }
}

const mbps = (bytes: number, ms: number) => (bytes / 1e3 / ms).toFixed(1);
console.log(`# Stream throughput, one way over loopback TCP\n`);
console.log(
  `Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs; ` +
    `1 warm-up + ${ROUNDS} timed rounds, medians.\n`,
);
console.log(
  "| transport | stanza | stanzas | stanzas/s | MB/s | raw transport, MB/s | stream/raw | CPU µs a stanza | stream/raw, CPU | writes | parser alone, MB/s | bound from the parser |",
);
console.log(
  "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
);
// Both ends run on one thread: the stream does the raw transport's work
// plus the parser's, so stream/raw is about t_raw / (t_raw + t_parser) at
// best, whatever the rest costs (idle gaps of the raw run aside).
const bound = (r: Row) =>
  median(r.rawMs) / (median(r.rawMs) + median(r.parserMs));
const ratios = rows.map((r) =>
  median(r.streamMs.map((ms, i) => r.rawMs[i]! / ms))
);
const cpuRatios = rows.map((r) =>
  median(r.streamCpu.map((cpu, i) => r.rawCpu[i]! / cpu))
);
rows.forEach((r, i) => {
  const bytes = r.unit.length * r.stanzas;
  const ms = median(r.streamMs);
  console.log(
    `| ${r.mode} | ${r.unit.length} B | ${r.stanzas} | ${
      Math.round(r.stanzas / (ms / 1000)).toLocaleString("en")
    } | ${mbps(bytes, ms)} | ${mbps(bytes, median(r.rawMs))} | ${
      ratios[i]!.toFixed(2)
    } | ${(median(r.streamCpu) * 1000 / r.stanzas).toFixed(2)} | ${
      cpuRatios[i]!.toFixed(2)
    } | ${r.writes.length} | ${mbps(bytes, median(r.parserMs))} | ${
      bound(r).toFixed(2)
    } |`,
  );
});
console.log(
  "\nraw transport: the same bytes in writes of the sizes the stream made, " +
    "connectTcp to listenTcp, no XMPP. stream/raw: median over rounds of " +
    "the ratio in one round. CPU µs a stanza: the process's CPU time (user " +
    "and system, both ends) for the stream run, per stanza; stream/raw, CPU: " +
    "the same ratio as stream/raw, of CPU time rather than wall time (less " +
    "swayed by other work on the machine). writes: transport writes of the " +
    "stream's last run. " +
    "bound from the parser: raw time / (raw time + parser time), about the " +
    "most stream/raw can reach with everything but parsing free, since both " +
    "ends share one thread and do the raw transport's work plus the parser's " +
    "(idle gaps of the raw run may absorb a little of the parsing).",
);
console.log(
  "\n| transport | iq round trips | p50 ms | p99 ms |\n| --- | --- | --- | --- |",
);
for (const tls of [false, true]) {
  const t = await roundTrips(tls);
  const p = (q: number) =>
    t[Math.min(t.length - 1, Math.floor(q * t.length))]!.toFixed(3);
  console.log(
    `| ${tls ? "TLS" : "plaintext"} | ${t.length} | ${p(0.5)} | ${p(0.99)} |`,
  );
}
const rate = (r: Row) => Math.round(r.stanzas / (median(r.streamMs) / 1000));
console.log(
  `\nTargets: 150,000 small stanzas/s plaintext (got ${
    rate(rows[0]!).toLocaleString("en")
  }), 100,000/s over TLS (got ${rate(rows[2]!).toLocaleString("en")}); ` +
    `over TLS at least 0.25x raw for ${rows[2]!.unit.length} B stanzas (got ${
      ratios[2]!.toFixed(2)
    }x) and 0.6x for ${rows[3]!.unit.length} B (got ${
      ratios[3]!.toFixed(2)
    }x).`,
);
