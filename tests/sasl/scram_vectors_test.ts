import assert from "node:assert/strict";
import {
  deriveScramCredentials,
  ScramClient,
  ScramServer,
} from "../../src/sasl/mod.ts";

const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

const RFC5802 = {
  hash: "SHA-1" as const,
  clientNonce: "fyko+d2lbbFgONRv9qkxdawL",
  serverNonce: "3rfcNHYJY1ZVvWVs7j",
  salt: "QSXCR+Q6sek8bf92",
  clientFirst: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
  serverFirst:
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
  clientFinal:
    "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
  serverFinal: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
};

const RFC7677 = {
  hash: "SHA-256" as const,
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
  serverFinal: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
};

for (
  const [rfc, v] of [["RFC 5802", RFC5802], ["RFC 7677", RFC7677]] as const
) {
  Deno.test(`ScramClient produces the ${rfc} example messages`, async () => {
    const client = new ScramClient({
      hash: v.hash,
      username: "user",
      password: "pencil",
      nonce: v.clientNonce,
    });
    assert.equal(client.first(), v.clientFirst);
    assert.equal(await client.final(v.serverFirst), v.clientFinal);
    await client.verify(v.serverFinal);
  });

  Deno.test(`ScramServer produces the ${rfc} example messages`, async () => {
    const creds = await deriveScramCredentials("pencil", v.hash, {
      salt: b64(v.salt),
      iterations: 4096,
    });
    const server = new ScramServer({
      hash: v.hash,
      offeredPlus: false,
      nonce: v.serverNonce,
      lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
    });
    assert.equal(await server.first(v.clientFirst), v.serverFirst);
    const result = await server.final(v.clientFinal);
    assert.deepEqual(result, {
      serverFinal: v.serverFinal,
      username: "user",
      authzid: undefined,
    });
  });
}
