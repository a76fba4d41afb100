/**
 * Load: one listener holds N concurrent TLS streams (the initiators run in
 * the same process), each sends and receives M stanzas, then closes in
 * order. Prints wall time, stanzas/s, delivery checks, peak memory, the
 * memory per idle negotiated TLS stream, and what an idle stream holds after
 * traffic (the exchange, then a burst of 1 KiB stanzas) against before any.
 *
 *     deno task bench:load [--streams=N] [--stanzas=M] [--burst]
 *
 * Initiators await each send (backpressure heeded); with `--burst` they
 * call send() M times at once and every stanza waits in the write queue.
 * Recipients answer each stanza as it arrives, without waiting.
 *
 * Both ends share one process (and its file descriptors: each stream is two
 * sockets), so the figures are a floor for one recipient process.
 *
 * @module
 */

import { type E2EStream, initiate, listen } from "../src/e2e.ts";
import { message } from "../src/stanza/stanza.ts";
import { generateCertificate } from "../src/transport/certificate.ts";
import { option } from "./_options.ts";

const N = option("streams", 1000);
const M = option("stanzas", 1000);
const BURST = Deno.args.includes("--burst");
const gc = (globalThis as { gc?: () => void }).gc;
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

const certificate = await generateCertificate({ names: ["pronto"] });
const listener = await listen({
  from: "pronto",
  certificate: { cert: certificate.certPem, key: certificate.keyPem },
  // Every initiator comes from 127.0.0.1, 50 at a time, and they all stay:
  // admission control would rightly refuse that from one address.
  maxPendingPerAddress: 64,
  maxConnections: N + 16,
});

gc?.();
const before = Deno.memoryUsage();
let peakRss = before.rss;
const sample = () => peakRss = Math.max(peakRss, Deno.memoryUsage().rss);

const start = performance.now();
const accepted: Promise<E2EStream[]> = (async () => {
  const streams: E2EStream[] = [];
  while (streams.length < N) streams.push((await listener.accept())!);
  return streams;
})();
const initiators: E2EStream[] = [];
for (let i = 0; i < N; i += 50) {
  const batch = await Promise.all(
    Array.from({ length: Math.min(50, N - i) }, (_, k) =>
      initiate({
        from: `romeo${i + k}@forza`,
        to: "pronto",
        hostname: "127.0.0.1",
        port: listener.addr.port,
        caCerts: [certificate.certPem],
      })),
  );
  initiators.push(...batch);
  sample();
}
const recipients = await accepted;
const negotiatedMs = performance.now() - start;
// Buffers freed by a GC leave the external count once swept, which may
// run after gc() returns: collect twice, a little apart.
const settle = async () => {
  for (let i = 0; i < 2; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    gc?.();
  }
};
await settle();
const idle = Deno.memoryUsage();
sample();
/** What the streams hold in the heap and in buffers, after a full GC. */
const held = (usage: Deno.MemoryUsage) => usage.heapUsed + usage.external;
const perStream = (idle.rss - before.rss) / N;
const perStreamHeap = (idle.heapUsed - before.heapUsed) / N;

// Each initiator sends M stanzas; each recipient answers each one.
const exchange = performance.now();
// Sampled often: RSS falls back between bursts, so one look at the end
// would miss the peak.
const sampler = setInterval(sample, 20);
let delivered = 0;
let inOrder = true;
await Promise.all(
  recipients.map((r) => {
    let expected = 0;
    return new Promise<void>((resolve) => {
      r.stanzas$.subscribe((stanza) => {
        if (stanza.attrs.id !== `${expected}`) inOrder = false;
        expected++;
        delivered++;
        r.send(message({ id: stanza.attrs.id!, body: "ok" })).catch(() => {});
        if (expected === M) resolve();
      });
    });
  }).concat(initiators.map((a) => {
    let answers = 0;
    const done = new Promise<void>((resolve) =>
      a.stanzas$.subscribe(() => {
        delivered++;
        if (++answers === M) resolve();
      })
    );
    if (BURST) {
      // Every send at once: M stanzas per stream wait in the write queue.
      for (let i = 0; i < M; i++) {
        a.send(message({ id: `${i}`, body: "hi" })).catch(() => {});
      }
    } else {
      // As an application that heeds backpressure: the next send once the
      // last one was written.
      (async () => {
        for (let i = 0; i < M; i++) {
          await a.send(message({ id: `${i}`, body: "hi" }));
        }
      })().catch(() => {});
    }
    return done;
  })),
);
sample();
clearInterval(sampler);
const exchangeMs = performance.now() - exchange;
gc?.();
const liveAfter = Deno.memoryUsage().heapUsed;
const exchanged = { delivered, inOrder };

// Then a burst on every stream at once, which fills read buffers and
// parser chunks: 32 stanzas of 1 KiB from each initiator, each answered
// with 1 KiB. Once the streams are idle again, what they hold is compared
// with what they held right after negotiation, before any traffic.
const burst = 32;
const kib = "Wherefore art thou Romeo? ".repeat(40);
await Promise.all(
  recipients.map((r, i) => {
    let seen = 0;
    return new Promise<void>((resolve) => {
      r.stanzas$.subscribe(() => {
        r.send(message({ body: `${i} ${kib}` })).catch(() => {});
        if (++seen === burst) resolve();
      });
    });
  }).concat(initiators.map((a, i) => {
    let seen = 0;
    const done = new Promise<void>((resolve) =>
      // The exchange's handler answers each one too: two answers each.
      a.stanzas$.subscribe(() => {
        if (++seen === 2 * burst) resolve();
      })
    );
    for (let k = 0; k < burst; k++) {
      a.send(message({ id: `b${k}`, body: `${i} ${kib}` })).catch(() => {});
    }
    return done;
  })),
);
await settle();
const afterTraffic = Deno.memoryUsage();
const retained = (held(afterTraffic) - held(idle)) / N;
const retainedExternal = (afterTraffic.external - idle.external) / N;
const results = await Promise.all(initiators.map((a) => a.close()));
const theirs = await Promise.all(recipients.map((r) => r.closed));
await listener.close();
const clean = [...results, ...theirs].filter((r) => r.clean).length;

console.log(
  `# Load: ${N} TLS streams, ${M} stanzas each way${
    BURST ? " (burst sends)" : ""
  }\n`,
);
console.log(`| figure | value |\n| --- | --- |`);
console.log(
  `| negotiated ${N} TLS streams | ${(negotiatedMs / 1000).toFixed(2)} s |`,
);
console.log(
  `| exchange, ${2 * N * M} stanzas | ${(exchangeMs / 1000).toFixed(2)} s, ${
    Math.round(2 * N * M / (exchangeMs / 1000)).toLocaleString("en")
  } stanzas/s |`,
);
console.log(
  `| delivered exactly once, in order | ${
    exchanged.delivered === 2 * N * M && exchanged.inOrder
      ? "yes"
      : `NO (${exchanged.delivered}, in order: ${exchanged.inOrder})`
  } |`,
);
console.log(`| clean closes | ${clean} / ${2 * N} |`);
console.log(`| peak RSS (sampled every 20 ms) | ${mib(peakRss)} MiB |`);
console.log(
  `| heap after the exchange and a full GC | ${
    mib(liveAfter)
  } MiB (before the streams: ${mib(before.heapUsed)} MiB) |`,
);
console.log(
  `| idle stream after traffic, against before any (heap + external, both ends) | ${
    retained >= 0 ? "+" : ""
  }${(retained / 1024).toFixed(1)} KiB (${
    (retained / 2048).toFixed(1)
  } KiB per end; external ${(retainedExternal / 1024).toFixed(1)} KiB) |`,
);
console.log(
  `| memory per idle negotiated TLS stream (both ends: 2 sockets, 2 sessions) | RSS ${
    (perStream / 1024).toFixed(1)
  } KiB, heap ${(perStreamHeap / 1024).toFixed(1)} KiB |`,
);
