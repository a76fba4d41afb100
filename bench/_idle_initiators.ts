/**
 * Child process of bench/idle_report.ts: opens N streams to a listener and
 * keeps them idle until its standard input closes, then closes them.
 *
 * Arguments: port, N, "tls" or "plain", and (for tls) a certificate file.
 *
 * @module
 */

import { type E2EStream, initiate } from "../src/e2e.ts";

const [port, count, mode, certFile] = Deno.args;
const caCerts = mode === "tls" ? [await Deno.readTextFile(certFile!)] : [];
const streams: E2EStream[] = [];
for (let i = 0; i < Number(count); i += 100) {
  streams.push(
    ...await Promise.all(
      Array.from({ length: Math.min(100, Number(count) - i) }, () =>
        initiate({
          to: "pronto",
          hostname: "127.0.0.1",
          port: Number(port),
          tls: mode === "tls" ? "required" : "off",
          caCerts,
          negotiationTimeoutMs: 120_000,
        })),
    ),
  );
}
console.log("ready");
for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
await Promise.all(streams.map((s) => s.close()));
