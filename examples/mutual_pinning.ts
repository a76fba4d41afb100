/**
 * Two endpoints with no PKI between them: each has a certificate made at run
 * time, each pins the other's by SHA-256 fingerprint (exchanged out of band,
 * here in the same process), and romeo authenticates to juliet with
 * SCRAM-SHA-256-PLUS, bound to that very TLS channel. Juliet keeps only
 * romeo's derived SCRAM keys, never his password.
 *
 *     deno run --allow-net examples/mutual_pinning.ts
 *
 * @module
 */

import { firstValueFrom } from "rxjs";
import {
  deriveScramCredentials,
  generateCertificate,
  initiate,
  listen,
  message,
  sasl,
} from "@xmpp-e2e/streams";

const julietCert = await generateCertificate({ names: ["pronto"] });
const romeoCert = await generateCertificate({ names: ["forza"] });
console.log(`juliet's certificate: ${julietCert.fingerprint256}`);
console.log(`romeo's certificate:  ${romeoCert.fingerprint256}`);

// Juliet stores romeo's SCRAM-SHA-256 keys (derived once from his password).
const romeoKeys = await deriveScramCredentials("wherefore", "SHA-256");

const listener = await listen({
  from: "pronto",
  certificate: { cert: julietCert.certPem, key: julietCert.keyPem },
  trust: { pinnedFingerprint256: romeoCert.fingerprint256 },
  features: [
    sasl({
      server: {
        certificate: julietCert.certPem, // for tls-server-end-point
        credentials: (user, hash) =>
          Promise.resolve(
            user === "romeo" && hash === "SHA-256" ? romeoKeys : undefined,
          ),
      },
    }),
  ],
});
const accepted = listener.accept();

const trace: string[] = [];
const romeo = await initiate({
  from: "romeo@forza",
  to: "pronto",
  hostname: "127.0.0.1",
  port: listener.addr.port,
  trust: { pinnedFingerprint256: julietCert.fingerprint256 },
  clientCertificate: { cert: romeoCert.certPem, key: romeoCert.keyPem },
  features: [sasl({ client: { username: "romeo", password: "wherefore" } })],
  trace: (entry) => trace.push(entry.text),
});
const juliet = (await accepted)!;

const mechanism = /mechanism='([^']+)'/.exec(trace.join(""))?.[1];
console.log(`mechanism: ${mechanism}`);
console.log(
  `juliet sees: ${juliet.info.identity}, certificate ${juliet.info.tls?.peerFingerprint256}`,
);
console.log(`romeo sees:  certificate ${romeo.info.tls?.peerFingerprint256}`);

const got = firstValueFrom(juliet.stanzas$);
await romeo.send(
  message({ to: "juliet@pronto", body: "Both of us are who we say." }),
);
console.log(`juliet got: ${(await got).getChildText("body")}`);

const [r, j] = await Promise.all([romeo.close(), juliet.closed]);
await listener.close();
console.log(
  `close: romeo ${r.clean ? "clean" : "NOT clean"}, juliet ${
    j.clean ? "clean" : "NOT clean"
  }`,
);
if (mechanism !== "SCRAM-SHA-256-PLUS" || !r.clean || !j.clean) Deno.exit(1);
