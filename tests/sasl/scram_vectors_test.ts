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

// No specification publishes a SCRAM-SHA-512 exchange (the draft that
// registered the name, draft-melnikov-scram-sha-512, has none). This one takes
// RFC 7677's inputs (user, pencil, its nonces and salt) with 10,000
// iterations, and was computed independently of this package with Python's
// hashlib.pbkdf2_hmac and hmac (Python 3.11), by a script that first
// reproduces RFC 7677's published SHA-256 exchange byte for byte.
const SHA512 = {
  hash: "SHA-512" as const,
  iterations: 10_000,
  clientNonce: "rOprNGfwEbeRWgbNEkqO",
  serverNonce: "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
  salt: "W22ZaJ0SNY7soEsUEjb6gQ==",
  clientFirst: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  serverFirst:
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000",
  clientFinal:
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=sScffJ11LZ4TfY4PVI/6/9rMIHpix12AijdjQOPWK26er2vRtW/osDSi/hegaCFWfI91sJZd0bevncVEhUg0wQ==",
  serverFinal:
    "v=RjtcFh+1kT0TmNH2klLiCXHiJLvMLwWuSSjecIns8FBSn0XXRb3iv2qU96STCkYC2Go0feONylPqhw46oweC5A==",
};

// The same with SCRAM-SHA-512-PLUS, tls-server-end-point, and 32 bytes of
// 0x07 as the binding data (same script).
const SHA512_PLUS = {
  ...SHA512,
  channelBinding: {
    type: "tls-server-end-point" as const,
    data: new Uint8Array(32).fill(7),
  },
  clientFirst: "p=tls-server-end-point,,n=user,r=rOprNGfwEbeRWgbNEkqO",
  clientFinal:
    "c=cD10bHMtc2VydmVyLWVuZC1wb2ludCwsBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=+gPmfoP5BwzZTVdmjPbzIwb7+B8NOp8O2wDhqkcc5ID1i++5gzvg10hiJI+oj2wupzYITiXRdtFlFOWR+8t1HQ==",
  serverFinal:
    "v=im4ippCzkKM8oJjH2/IqsbC3nROdDulyYJzAsNzOVgfskvDBdvAxWoilLD1nwMmg3r/lYuHC7a7UgDL7bFDhqA==",
};

for (
  const [rfc, v] of [
    ["RFC 5802", { ...RFC5802, iterations: 4096 }],
    ["RFC 7677", { ...RFC7677, iterations: 4096 }],
    ["SCRAM-SHA-512 (computed with Python)", SHA512],
  ] as const
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
      iterations: v.iterations,
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

Deno.test("ScramClient and ScramServer produce the SCRAM-SHA-512-PLUS exchange computed with Python", async () => {
  const v = SHA512_PLUS;
  const client = new ScramClient({
    hash: v.hash,
    username: "user",
    password: "pencil",
    nonce: v.clientNonce,
    channelBinding: v.channelBinding,
    plus: true,
    serverOffersPlus: true,
  });
  assert.equal(client.mechanism, "SCRAM-SHA-512-PLUS");
  assert.equal(client.first(), v.clientFirst);
  assert.equal(await client.final(v.serverFirst), v.clientFinal);
  await client.verify(v.serverFinal);

  const creds = await deriveScramCredentials("pencil", v.hash, {
    salt: b64(v.salt),
  });
  assert.equal(creds.iterations, 10_000, "the SHA-512 default");
  const server = new ScramServer({
    hash: v.hash,
    offeredPlus: true,
    plus: true,
    channelBinding: [
      { type: "tls-exporter", data: new Uint8Array(32) },
      v.channelBinding,
    ],
    nonce: v.serverNonce,
    lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
  });
  assert.equal(await server.first(v.clientFirst), v.serverFirst);
  assert.equal((await server.final(v.clientFinal)).serverFinal, v.serverFinal);
});
