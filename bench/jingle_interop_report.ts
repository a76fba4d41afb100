/**
 * Jingle XML Streams through Prosody: the throughput of message stanzas one
 * way through the encrypted stream inside, over IBB (through c2s), over
 * SOCKS5 through Prosody's proxy (mod_proxy65) and over SOCKS5 direct (a
 * candidate on 127.0.0.1), with Prosody's rate limits at their defaults
 * (c2s 10 kB/s) and lifted; beside the same sessions in one process (the
 * tests' in-process server and loopback SOCKS5), with the ratio of each
 * Prosody figure to the in-process one of its transport. Installs and
 * starts Prosody itself (`scripts/interop/prosody.ts`).
 *
 *     deno task bench:jingle:prosody [--count=N] [--limited=N] [--size=B] [--rounds=N]
 *
 * `--count` stanzas per round (default 10,000), `--limited` for IBB at the
 * default rate limits (default 40: a few seconds at 10 kB/s), `--size`
 * bytes of body (default 1,024), `--rounds` (default 3; 1 for IBB at the
 * default limits). Prosody runs on its `select` network backend, whose
 * proxy relay holds nothing back (see `scripts/interop/prosody.ts`).
 *
 * @module
 */

import { firstValueFrom, take, toArray } from "rxjs";
import type { E2EStream } from "../src/e2e.ts";
import { message } from "../src/stanza/stanza.ts";
import { generateCertificate } from "../src/transport/certificate.ts";
import { KnownPeers } from "../src/transport/known_peers.ts";
import {
  type JingleStream,
  JingleStreams,
  type JingleStreamsOptions,
} from "../src/jingle/mod.ts";
import { login, startProsody } from "../scripts/interop/prosody.ts";
import { JULIET, lovers } from "../tests/jingle/_jingle_pair.ts";
import { loopbackSocks5 } from "../tests/jingle/_loopback_socks5.ts";
import { option } from "./_options.ts";
import { median } from "./_stats.ts";

const COUNT = option("count", 10_000);
const LIMITED = option("limited", 40);
const SIZE = option("size", 1024);
const ROUNDS = option("rounds", 3);

const unit = "Wherefore art thou Romeo? ";
const BODY = unit.repeat(Math.ceil(SIZE / unit.length)).slice(0, SIZE);

type Kind = "ibb" | "proxy" | "direct";
const KINDS: Kind[] = ["ibb", "proxy", "direct"];

function engineOptions(kind: Kind): Partial<JingleStreamsOptions> {
  if (kind === "ibb") return {};
  return kind === "proxy"
    ? { socks5: {} }
    : { socks5: { directAddresses: ["127.0.0.1"], proxies: false } };
}

/** Seconds to carry `count` stanzas from `mine` to `hers`. */
async function carry(
  mine: JingleStream,
  hers: JingleStream,
  count: number,
): Promise<number> {
  const heard = firstValueFrom(hers.stanzas$.pipe(take(count), toArray()));
  const start = performance.now();
  for (let i = 0; i < count; i++) await mine.send(message({ body: BODY }));
  await heard;
  const seconds = (performance.now() - start) / 1000;
  await mine.close();
  await hers.closed;
  return seconds;
}

function check(stream: JingleStream, kind: Kind): void {
  const transport = kind === "ibb" ? "ibb" : "s5b";
  const candidate = kind === "ibb" ? undefined : kind;
  if (
    stream.jingle.transport !== transport ||
    stream.jingle.candidate?.type !== candidate
  ) {
    throw new Error(`Expected ${kind}, got ${JSON.stringify(stream.jingle)}`);
  }
}

/** In one process: the tests' server and loopback SOCKS5 (no proxy). */
async function inProcess(
  kind: "ibb" | "direct",
  count: number,
): Promise<number> {
  const options = kind === "ibb" ? {} : {
    socks5: {
      backend: loopbackSocks5(),
      directAddresses: ["127.0.0.1"],
      proxies: false,
    },
  };
  const pair = await lovers(options, options);
  try {
    const accepted = Promise.withResolvers<JingleStream>();
    pair.juliet.jingle.accept(async (offer) => {
      accepted.resolve(await offer.accept());
    });
    const mine = await pair.romeo.jingle.open(JULIET);
    const hers = await accepted.promise;
    check(mine, kind);
    return await carry(mine, hers, count);
  } finally {
    await pair.close();
  }
}

const certs = [
  await generateCertificate({ names: ["romeo@pronto"] }),
  await generateCertificate({ names: ["juliet@pronto"] }),
];

/** Through Prosody: each round a new Jingle session on the same clients. */
async function throughProsody(
  limits: "default" | "lifted",
  kind: Kind,
  count: number,
  rounds: number,
): Promise<number[]> {
  const prosody = await startProsody({
    users: ["romeo", "juliet"],
    proxy65: true,
    rateLimits: limits,
    networkBackend: "select",
  });
  const clients: E2EStream[] = [];
  const engines: JingleStreams[] = [];
  try {
    clients.push(await login(prosody, 0, "orchard"));
    clients.push(await login(prosody, 1, "balcony"));
    for (const [i, client] of clients.entries()) {
      engines.push(
        new JingleStreams(client, {
          certificate: { cert: certs[i]!.certPem, key: certs[i]!.keyPem },
          knownPeers: await KnownPeers.open({ approve: () => true }),
          ...engineOptions(kind),
        }),
      );
    }
    const [romeo, juliet] = engines as [JingleStreams, JingleStreams];
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const accepted = Promise.withResolvers<JingleStream>();
      const stop = juliet.accept(async (offer) => {
        accepted.resolve(await offer.accept());
      });
      const mine = await romeo.open(juliet.jid);
      const hers = await accepted.promise;
      stop();
      check(mine, kind);
      times.push(await carry(mine, hers, count));
    }
    return times;
  } finally {
    for (const engine of engines) await engine.close();
    for (const client of clients) await client.close().catch(() => {});
    await prosody.stop();
  }
}

function rate(count: number, seconds: number): [string, string] {
  return [
    (count * SIZE / 1e6 / seconds).toFixed(2),
    (count / seconds).toFixed(0),
  ];
}

console.log(
  `Message stanzas of ${SIZE} B one way through the encrypted stream inside; ` +
    `${COUNT} a round (${LIMITED} for IBB at Prosody's default limits), ` +
    `median of ${ROUNDS} rounds\n`,
);
console.log(
  "| transport | where | rate limits | stanzas | MB/s | stanzas/s | / in process |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- |");
const local = new Map<Kind, number>();
for (const kind of ["ibb", "direct"] as const) {
  const times: number[] = [];
  for (let r = 0; r < ROUNDS; r++) times.push(await inProcess(kind, COUNT));
  const seconds = median(times);
  local.set(kind, COUNT / seconds);
  const [mbs, per] = rate(COUNT, seconds);
  console.log(
    `| ${kind} | in process | none | ${COUNT} | ${mbs} | ${per} | 1.00 |`,
  );
}
for (const limits of ["default", "lifted"] as const) {
  for (const kind of KINDS) {
    const limited = limits === "default" && kind === "ibb";
    const count = limited ? LIMITED : COUNT;
    const times = await throughProsody(
      limits,
      kind,
      count,
      limited ? 1 : ROUNDS,
    );
    const seconds = median(times);
    const [mbs, per] = rate(count, seconds);
    // The proxy against SOCKS5 direct in one process (there is no proxy there).
    const base = local.get(kind === "proxy" ? "direct" : kind)!;
    const ratio = (count / seconds / base).toFixed(3);
    console.log(
      `| ${kind} | Prosody | ${limits} | ${count} | ${mbs} | ${per} | ${ratio} |`,
    );
  }
}
