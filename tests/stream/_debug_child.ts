// Run by debug_trace_test.ts in a child process: two streams over a pair
// that pretends to start TLS, SASL PLAIN (so the password travels), one
// message, an ordered close. The debug output, if any, goes to stderr.

import { E2EStream } from "../../src/endpoint/e2e_stream.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import { deriveScramCredentials } from "../../src/sasl/scram.ts";
import { Session } from "../../src/stream/session.ts";
import { message } from "../../src/stanza/stanza.ts";
import { fakeTlsPair } from "./_pair.ts";

const [a, b] = fakeTlsPair();
const keys = await deriveScramCredentials("r0m30!", "SHA-256", {
  iterations: 4096,
});
const romeo = new Session({
  role: "initiator",
  transport: a,
  from: "romeo@forza",
  to: "juliet@pronto",
  features: [sasl({
    client: { username: "romeo", password: "r0m30!", mechanisms: ["PLAIN"] },
  })],
});
const juliet = new Session({
  role: "recipient",
  transport: b,
  from: "juliet@pronto",
  features: [sasl({
    server: {
      credentials: (user) =>
        Promise.resolve(user === "romeo" ? keys : undefined),
      mechanisms: ["PLAIN"],
    },
  })],
});
await Promise.all([romeo.negotiate(), juliet.negotiate()]);
const stream = new E2EStream(romeo);
new E2EStream(juliet);
await stream.send(message({ body: "Wherefore art thou?" }));
await Promise.all([stream.close(), juliet.closed]);
console.log("done");
