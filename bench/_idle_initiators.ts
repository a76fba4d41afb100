/**
 * Child process of bench/idle_report.ts: opens N streams to a listener and
 * keeps them idle until its standard input closes, then closes them. Each
 * line "traffic" on its standard input makes every stream send a burst of
 * 1 KiB stanzas at once, then one small stanza a little later (the end of
 * a conversation); it prints "sent" once they are written.
 *
 * Arguments: port, N, "tls" or "plain", a certificate file (read for tls),
 * how many stanzas a burst has, and how many streams are opened at once
 * (100 unless told).
 *
 * @module
 */

import { type E2EStream, initiate } from "../src/e2e.ts";
import { message } from "../src/stanza/stanza.ts";

const [port, count, mode, certFile, burst, batchArg] = Deno.args;
const batch = Number(batchArg ?? 100);
const caCerts = mode === "tls" ? [await Deno.readTextFile(certFile!)] : [];
const streams: E2EStream[] = [];
for (let i = 0; i < Number(count); i += batch) {
  streams.push(
    ...await Promise.all(
      Array.from(
        { length: Math.min(batch, Number(count) - i) },
        () =>
          initiate({
            to: "pronto",
            hostname: "127.0.0.1",
            port: Number(port),
            tls: mode === "tls" ? "required" : "off",
            caCerts,
            negotiationTimeoutMs: 120_000,
          }),
      ),
    ),
  );
}
console.log("ready");

const kib = "Wherefore art thou Romeo? ".repeat(40);

async function traffic(): Promise<void> {
  await Promise.all(
    streams.map((s, i) =>
      Promise.all(
        Array.from(
          { length: Number(burst) },
          (_, k) => s.send(message({ id: `b${k}`, body: `${i} ${kib}` })),
        ),
      )
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 300));
  await Promise.all(streams.map((s) => s.send(message({ body: "bye" }))));
  console.log("sent");
}

const decoder = new TextDecoder();
for await (const chunk of Deno.stdin.readable) {
  for (const line of decoder.decode(chunk).split("\n")) {
    if (line === "traffic") await traffic();
  }
}
await Promise.all(streams.map((s) => s.close()));
