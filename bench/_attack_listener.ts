/**
 * Child process of `bench/attack_report.ts`: the attacked listener, alone
 * in its process so that its memory is its own.
 *
 * Listens on 127.0.0.1 (STARTTLS required, a fresh certificate for
 * `pronto`, default options unless `--listen-options=JSON` adds some) and
 * accepts every stream. The application answers each message with a
 * message of the same id (`--app=echo`), or (`--app=ignore`) never
 * subscribes to `stanzas$` but on the legitimate peer's streams (those from
 * `--probe-from`, default `romeo@forza`), so that the peer can still be
 * measured.
 *
 * Prints JSON lines on standard output: `{"ready": {port, certPem}}` once
 * listening, then a report every 250 ms: RSS, heap, live streams, and
 * `listener.stats` when the listener has them.
 *
 * @module
 */

import { type E2EStream, listen, type ListenOptions } from "../src/e2e.ts";
import { message } from "../src/stanza/stanza.ts";
import { generateCertificate } from "../src/transport/certificate.ts";

const flag = (name: string) =>
  Deno.args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const app = flag("app") ?? "echo";
const probeFrom = flag("probe-from") ?? "romeo@forza";
const extra = JSON.parse(flag("listen-options") ?? "{}") as ListenOptions;

const certificate = await generateCertificate({ names: ["pronto"] });
const listener = await listen({
  from: "juliet@pronto",
  certificate: { cert: certificate.certPem, key: certificate.keyPem },
  ...extra,
});

let accepted = 0;
let ended = 0;

function serve(stream: E2EStream): void {
  accepted++;
  stream.closed.then(() => ended++, () => ended++);
  if (app === "ignore" && stream.info.peer?.from !== probeFrom) return;
  stream.stanzas$.subscribe({
    next: (stanza) => {
      if (stanza.name !== "message") return;
      stream.send(message({ id: stanza.attrs.id, body: "echo" }))
        .catch(() => {});
    },
    error: () => {},
  });
}

/** `listener.stats` if this version of the listener has them. */
function stats(): unknown {
  if (!("stats" in listener)) return undefined;
  const value = (listener as { stats?: unknown }).stats;
  return typeof value === "function" ? value.call(listener) : value;
}

// Maps, Sets and bigints, should stats hold any, as plain JSON.
function plain(_key: string, value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (typeof value === "bigint") return Number(value);
  return value;
}

function report(): void {
  const memory = Deno.memoryUsage();
  console.log(JSON.stringify({
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    live: accepted - ended,
    accepted,
    stats: stats(),
  }, plain));
}

console.log(JSON.stringify({
  ready: { port: listener.addr.port, certPem: certificate.certPem },
}));
setInterval(report, 250);
for await (const stream of listener) serve(stream);
