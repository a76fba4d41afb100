/**
 * Stream throughput over loopback TCP, plaintext and TLS: stanzas per second
 * and MB/s one way for small (~200 B) and large (~16 KiB) message stanzas,
 * iq round-trip latency (p50, p99), and beside them the parser alone on the
 * same bytes, so that the cost of each layer shows.
 *
 *     deno task bench:stream [--small=N] [--large=N] [--iq=N]
 *
 * @module
 */

import { type E2EStream, initiate, listen } from "../src/e2e.ts";
import { iq, message } from "../src/stanza/stanza.ts";
import { iqResult } from "../src/stanza/stanza.ts";
import { generateCertificate } from "../src/transport/certificate.ts";
import { Element } from "../src/xml/element.ts";
import { serialize } from "../src/xml/serialize.ts";
import { XmlParser } from "../src/xml/parser.ts";
import { CountingSink } from "./_ours.ts";
import { option } from "./_options.ts";

const SMALL = option("small", 100_000);
const LARGE = option("large", 5_000);
const IQS = option("iq", 2_000);

const certificate = await generateCertificate({ names: ["pronto"] });

function body(size: number): string {
  const unit = "Wherefore art thou Romeo? ";
  return unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
}

async function pairOf(
  tls: boolean,
): Promise<{ a: E2EStream; b: E2EStream; close(): Promise<void> }> {
  const listener = await listen({
    from: "juliet@pronto",
    tls: tls ? "required" : "off",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    limits: { maxStanzaBytes: 1 << 20 },
  });
  const accepted = listener.accept();
  const a = await initiate({
    from: "romeo@forza",
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    tls: tls ? "required" : "off",
    caCerts: [certificate.certPem],
    limits: { maxStanzaBytes: 1 << 20 },
  });
  const b = (await accepted)!;
  return {
    a,
    b,
    async close() {
      await Promise.all([a.close(), b.closed]);
      await listener.close();
    },
  };
}

interface Row {
  mode: string;
  size: string;
  stanzas: number;
  bytes: number;
  ms: number;
  parserMs: number;
}

async function oneWay(tls: boolean, size: number, count: number): Promise<Row> {
  const { a, b, close } = await pairOf(tls);
  const stanza = message({
    to: "juliet@pronto",
    from: "romeo@forza",
    id: "x",
    body: body(size),
  });
  const text = serialize(stanza, "jabber:client");
  const bytes = new TextEncoder().encode(text).length;
  let seen = 0;
  const done = new Promise<void>((resolve) =>
    b.stanzas$.subscribe(() => {
      if (++seen === count) resolve();
    })
  );
  const start = performance.now();
  let last: Promise<void> = Promise.resolve();
  for (let i = 0; i < count; i++) {
    last = a.send(stanza);
    if (i % 1000 === 999) await last; // keep the queue bounded
  }
  await last;
  await done;
  const ms = performance.now() - start;
  await close();
  // The parser alone on the same bytes.
  const header =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
  const all = new TextEncoder().encode(
    header + text.repeat(Math.min(count, 20_000)),
  );
  const parserStart = performance.now();
  const parser = new XmlParser(new CountingSink(), {
    tree: true,
    maxStanzaBytes: 1 << 20,
  });
  for (let i = 0; i < all.length; i += 16384) {
    parser.write(all.subarray(i, i + 16384));
  }
  const parserMs = (performance.now() - parserStart) * count /
    Math.min(count, 20_000);
  return {
    mode: tls ? "TLS" : "plaintext",
    size: `${bytes} B`,
    stanzas: count,
    bytes: bytes * count,
    ms,
    parserMs,
  };
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

const rows: Row[] = [];
for (const tls of [false, true]) {
  rows.push(await oneWay(tls, 140, SMALL));
  rows.push(await oneWay(tls, 16 * 1024, LARGE));
}
console.log(`# Stream throughput, one way over loopback TCP\n`);
console.log(
  `Deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} CPUs.\n`,
);
console.log(
  "| transport | stanza | stanzas | stanzas/s | MB/s | parser alone, MB/s |",
);
console.log("| --- | --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(
    `| ${r.mode} | ${r.size} | ${r.stanzas} | ${
      Math.round(r.stanzas / (r.ms / 1000)).toLocaleString("en")
    } | ${(r.bytes / 1e3 / r.ms).toFixed(1)} | ${
      (r.bytes / 1e3 / r.parserMs).toFixed(1)
    } |`,
  );
}
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
const [plainSmall, , tlsSmall] = rows;
const rate = (r: Row) => Math.round(r.stanzas / (r.ms / 1000));
console.log(
  `\nTargets: 150,000 small stanzas/s plaintext (got ${
    rate(plainSmall!).toLocaleString("en")
  }), ` +
    `100,000/s over TLS (got ${rate(tlsSmall!).toLocaleString("en")}).`,
);
