import assert from "node:assert/strict";
import fc from "fast-check";
import { ScramClient, ScramServer } from "../../src/sasl/mod.ts";
import { saslPrep } from "../../src/sasl/_scram.ts";
import { binding, fastCredentials } from "./_helpers.ts";

const prepped = (s: string) => {
  try {
    return saslPrep(s, "x") === s;
  } catch {
    return false;
  }
};
const name = fc.oneof(
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }),
  fc.constantFrom("a,b", "=3D", "x=2Cy", "=", ",", "juliet@example.com"),
).filter(prepped);
const password = fc.string({ unit: "grapheme", maxLength: 16 }).filter(
  (s) => {
    try {
      saslPrep(s, "x");
      return true;
    } catch {
      return false;
    }
  },
);

Deno.test("ScramClient and ScramServer agree for random names and passwords", async () => {
  await fc.assert(
    fc.asyncProperty(
      name,
      password,
      fc.option(name, { nil: undefined }),
      fc.constantFrom(
        "SHA-1" as const,
        "SHA-256" as const,
        "SHA-512" as const,
      ),
      fc.boolean(),
      async (username, pw, authzid, hash, plus) => {
        const creds = await fastCredentials(pw, hash);
        const cb = binding(9);
        const server = new ScramServer({
          hash,
          offeredPlus: plus,
          ...(plus ? { channelBinding: cb } : {}),
          lookup: (n) => Promise.resolve(n === username ? creds : undefined),
        });
        const client = new ScramClient({
          hash,
          username,
          password: pw,
          minIterations: 1,
          ...(authzid === undefined ? {} : { authzid }),
          ...(plus ? { channelBinding: cb, plus, serverOffersPlus: true } : {}),
        });
        const serverFirst = await server.first(client.first());
        const result = await server.final(await client.final(serverFirst));
        await client.verify(result.serverFinal);
        assert.equal(result.username, username);
        assert.equal(result.authzid, authzid);
      },
    ),
    { numRuns: 20 },
  );
});
