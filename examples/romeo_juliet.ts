/**
 * XEP-0246's example, end to end on loopback: juliet@pronto listens, romeo@forza
 * connects, they upgrade to TLS with STARTTLS (juliet's certificate is made at
 * run time; romeo trusts exactly it), exchange the two messages of the XEP,
 * and close the stream in order. The raw XML of both ends is printed.
 *
 *     deno task demo
 *
 * @module
 */

import {
  generateCertificate,
  initiate,
  listen,
  message,
  type TraceEntry,
} from "@xmpp-e2e/streams";
import { firstValueFrom } from "rxjs";

const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
function show(who: string, entry: TraceEntry): void {
  const arrow = entry.direction === "out" ? "SEND" : "RECV";
  const lock = entry.tls ? "tls" : "   ";
  const line = `${who.padEnd(6)} ${arrow} ${lock} ${entry.text}`;
  console.log(
    color
      ? (who === "romeo" ? `\x1b[36m${line}\x1b[0m` : `\x1b[35m${line}\x1b[0m`)
      : line,
  );
}

const certificate = await generateCertificate({ names: ["pronto"] });
console.log(`juliet's certificate: SHA-256 ${certificate.fingerprint256}\n`);

const listener = await listen({
  from: "juliet@pronto",
  certificate: { cert: certificate.certPem, key: certificate.keyPem },
  trace: (entry) => show("juliet", entry),
});

const julietDone = (async () => {
  const stream = await listener.accept();
  if (stream === null) throw new Error("no stream");
  const first = await firstValueFrom(stream.stanzas$);
  await stream.send(message({
    to: first.attrs.from,
    from: "juliet@pronto",
    body: "Art thou not Romeo, and a Montague?",
  }));
  return await stream.closed; // romeo closes; juliet answers in kind
})();

const romeo = await initiate({
  from: "romeo@forza",
  to: "juliet@pronto",
  hostname: "127.0.0.1",
  port: listener.addr.port,
  trust: { caCerts: [certificate.certPem] }, // exactly juliet's certificate
  trace: (entry) => show("romeo", entry),
});
const reply = firstValueFrom(romeo.stanzas$);
await romeo.send(message({
  to: "juliet@pronto",
  from: "romeo@forza",
  body: "M'lady, I would be pleased to make your acquaintance.",
}));
const answer = await reply;
const romeoClosed = await romeo.close();
const julietClosed = await julietDone;
await listener.close();

console.log(`\nromeo got: ${answer.getChildText("body")}`);
console.log(
  `TLS: ${romeo.info.tls ? "yes" : "no"}, stream id ${romeo.info.id}`,
);
console.log(
  `close: romeo ${romeoClosed.clean ? "clean" : "NOT clean"}, juliet ${
    julietClosed.clean ? "clean" : "NOT clean"
  }`,
);
if (!romeoClosed.clean || !julietClosed.clean) Deno.exit(1);
