import assert from "node:assert/strict";
import {
  deriveScramCredentials,
  ScramClient,
  ScramServer,
} from "../../src/sasl/mod.ts";
import {
  binding,
  clientOptions,
  fastCredentials,
  sasl,
  serverOptions,
} from "./_helpers.ts";

Deno.test("ScramServer rejects a wrong password with not-authorized", async () => {
  const creds = await fastCredentials("pencil", "SHA-256");
  const server = new ScramServer(serverOptions("SHA-256", creds));
  const client = new ScramClient(
    clientOptions("SHA-256", { password: "crayon" }),
  );
  const serverFirst = await server.first(client.first());
  await assert.rejects(
    server.final(await client.final(serverFirst)),
    sasl("not-authorized", /invalid proof/),
  );
});

Deno.test("ScramServer rejects an unknown user like a wrong password, with a stable salt", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  const salts: string[] = [];
  for (let i = 0; i < 2; i++) {
    const server = new ScramServer(serverOptions("SHA-1", creds));
    const client = new ScramClient(
      clientOptions("SHA-1", { username: "nobody" }),
    );
    const serverFirst = await server.first(client.first());
    salts.push(serverFirst.split(",")[1]!);
    await assert.rejects(
      server.final(await client.final(serverFirst)),
      sasl("not-authorized", /invalid proof/),
    );
  }
  assert.equal(salts[0], salts[1]);
});

Deno.test("ScramClient.verify() rejects a tampered server signature", async () => {
  const creds = await fastCredentials("pencil", "SHA-256");
  const server = new ScramServer(serverOptions("SHA-256", creds));
  const client = new ScramClient(clientOptions("SHA-256"));
  const serverFirst = await server.first(client.first());
  const { serverFinal } = await server.final(await client.final(serverFirst));
  const flipped = serverFinal.slice(0, 2) +
    (serverFinal[2] === "A" ? "B" : "A") + serverFinal.slice(3);
  await assert.rejects(
    client.verify(flipped),
    sasl("not-authorized", /server signature mismatch/),
  );
});

Deno.test("ScramClient.verify() rejects a server that does not know the password", async () => {
  const creds = await fastCredentials("other", "SHA-1");
  const server = new ScramServer(serverOptions("SHA-1", creds));
  const client = new ScramClient(clientOptions("SHA-1"));
  const serverFirst = await server.first(client.first());
  await client.final(serverFirst);
  // A fake server can only guess ServerSignature.
  await assert.rejects(
    client.verify("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
    sasl("not-authorized"),
  );
});

Deno.test("ScramClient.verify() maps e= server errors to SASL conditions", async () => {
  for (
    const [value, condition] of [
      ["invalid-proof", "not-authorized"],
      ["invalid-encoding", "incorrect-encoding"],
      ["no-resources", "temporary-auth-failure"],
    ] as const
  ) {
    const client = new ScramClient(clientOptions("SHA-1", { nonce: "abc" }));
    client.first();
    await client.final("r=abcdef,s=QSXCR+Q6sek8bf92,i=16");
    await assert.rejects(
      client.verify(`e=${value}`),
      sasl(condition, new RegExp(value)),
    );
  }
});

Deno.test("ScramServer.final() rejects a second call on the same exchange", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  const server = new ScramServer(serverOptions("SHA-1", creds));
  const client = new ScramClient(clientOptions("SHA-1"));
  const serverFirst = await server.first(client.first());
  const clientFinal = await client.final(serverFirst);
  await server.final(clientFinal);
  await assert.rejects(server.final(clientFinal), sasl("not-authorized"));
  await assert.rejects(
    server.first("n,,n=user,r=abc"),
    sasl("not-authorized"),
  );
});

Deno.test("ScramServer rejects a client-final replayed from another exchange", async () => {
  const creds = await fastCredentials("pencil", "SHA-256");
  const first = new ScramServer(serverOptions("SHA-256", creds));
  const client = new ScramClient(clientOptions("SHA-256"));
  const clientFirst = client.first();
  const clientFinal = await client.final(await first.first(clientFirst));
  await first.final(clientFinal);
  // The attacker replays both client messages to a fresh server.
  const second = new ScramServer(serverOptions("SHA-256", creds));
  await second.first(clientFirst);
  await assert.rejects(
    second.final(clientFinal),
    sasl("not-authorized", /nonce mismatch/),
  );
});

Deno.test("ScramServer rejects the y flag when it offered -PLUS (stripped -PLUS)", async () => {
  const creds = await fastCredentials("pencil", "SHA-256");
  const server = new ScramServer(
    serverOptions("SHA-256", creds, {
      offeredPlus: true,
      channelBinding: binding(1),
    }),
  );
  // The client saw no -PLUS offer (an attacker removed it).
  const client = new ScramClient(
    clientOptions("SHA-256", {
      channelBinding: binding(1),
      serverOffersPlus: false,
    }),
  );
  const clientFirst = client.first();
  assert.ok(clientFirst.startsWith("y,,"));
  await assert.rejects(
    server.first(clientFirst),
    sasl("not-authorized", /downgrade/),
  );
});

Deno.test("ScramServer accepts the y flag when it did not offer -PLUS", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  const server = new ScramServer(serverOptions("SHA-1", creds));
  const client = new ScramClient(
    clientOptions("SHA-1", { channelBinding: binding(1) }),
  );
  const serverFirst = await server.first(client.first());
  const result = await server.final(await client.final(serverFirst));
  await client.verify(result.serverFinal);
});

Deno.test("ScramServer rejects wrong channel binding data", async () => {
  const creds = await fastCredentials("pencil", "SHA-256");
  const server = new ScramServer(
    serverOptions("SHA-256", creds, {
      offeredPlus: true,
      channelBinding: binding(1),
    }),
  );
  const client = new ScramClient(
    clientOptions("SHA-256", {
      channelBinding: binding(2),
      plus: true,
      serverOffersPlus: true,
    }),
  );
  const serverFirst = await server.first(client.first());
  await assert.rejects(
    server.final(await client.final(serverFirst)),
    sasl("not-authorized", /channel binding mismatch/),
  );
});

Deno.test("ScramServer rejects p= without binding data or with another type", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  const cases = [
    serverOptions("SHA-1", creds, { offeredPlus: true }),
    serverOptions("SHA-1", creds, { channelBinding: binding(1) }),
  ];
  for (const options of cases) {
    const client = new ScramClient(
      clientOptions("SHA-1", { channelBinding: binding(1), plus: true }),
    );
    await assert.rejects(
      new ScramServer(options).first(client.first()),
      sasl("not-authorized"),
    );
  }
  await assert.rejects(
    new ScramServer(
      serverOptions("SHA-1", creds, {
        offeredPlus: true,
        channelBinding: binding(1),
      }),
    ).first("p=tls-unique,,n=user,r=abc"),
    sasl("not-authorized"),
  );
});

Deno.test("ScramServer rejects a gs2 flag that disagrees with the selected mechanism", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  const server = new ScramServer(
    serverOptions("SHA-1", creds, {
      offeredPlus: true,
      channelBinding: binding(1),
      plus: true,
    }),
  );
  await assert.rejects(server.first("n,,n=user,r=abc"), sasl("not-authorized"));
});

Deno.test("ScramServer rejects c= that omits the channel binding data", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  const server = new ScramServer(
    serverOptions("SHA-1", creds, {
      offeredPlus: true,
      channelBinding: binding(1),
    }),
  );
  const serverFirst = await server.first(
    "p=tls-server-end-point,,n=user,r=abc",
  );
  const nonce = serverFirst.split(",")[0]!.slice(2);
  const header = btoa("p=tls-server-end-point,,");
  await assert.rejects(
    server.final(`c=${header},r=${nonce},p=AAAA`),
    sasl("not-authorized", /channel binding mismatch/),
  );
});

Deno.test("ScramServer.first() rejects malformed client-first messages", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  for (
    const message of [
      "",
      "n",
      "x,,n=user,r=abc",
      "n,b=x,n=user,r=abc",
      "n,a=,n=user,r=abc",
      "n,,n=,r=abc",
      "n,,n=us=er,r=abc",
      "n,,m=ext,n=user,r=abc",
      "n,,n=user",
      "n,,n=user,r=",
      "n,,n=user,r=abc,xyz",
      "n,,r=abc,n=user",
    ]
  ) {
    await assert.rejects(
      new ScramServer(serverOptions("SHA-1", creds)).first(message),
      sasl("malformed-request"),
      message,
    );
  }
});

Deno.test("ScramServer.final() rejects malformed client-final messages", async () => {
  const creds = await fastCredentials("pencil", "SHA-1");
  for (
    const tail of [
      ",p=AAAA", // no c=
      "",
      ",p=not base64!",
      ",x,p=AAAA",
    ]
  ) {
    const server = new ScramServer(serverOptions("SHA-1", creds));
    const serverFirst = await server.first("n,,n=user,r=abc");
    const nonce = serverFirst.split(",")[0]!.slice(2);
    const message = tail === ",p=AAAA"
      ? `r=${nonce},p=AAAA`
      : `c=biws,r=${nonce}${tail}`;
    await assert.rejects(
      server.final(message),
      sasl("malformed-request"),
      message,
    );
  }
});

Deno.test("ScramClient.final() rejects malformed server-first messages", async () => {
  for (
    const message of [
      "",
      "r=abcdef,s=QSXCR+Q6sek8bf92", // no i=
      "r=xyzdef,s=QSXCR+Q6sek8bf92,i=4096", // not our nonce
      "r=abc,s=QSXCR+Q6sek8bf92,i=4096", // no server nonce
      "r=abcdef,s=QSXCR+Q6sek8bf9,i=4096", // bad base64
      "r=abcdef,s=,i=4096", // empty salt
      "r=abcdef,s=QSXCR+Q6sek8bf92,i=4095", // too few iterations
      "r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999", // too many
      "r=abcdef,s=QSXCR+Q6sek8bf92,i=0x100",
      "m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
    ]
  ) {
    const client = new ScramClient({
      hash: "SHA-1",
      username: "user",
      password: "pencil",
      nonce: "abc",
    });
    client.first();
    await assert.rejects(
      client.final(message),
      sasl("malformed-request"),
      message,
    );
  }
});

Deno.test("ScramClient.verify() rejects a malformed server-final message", async () => {
  const client = new ScramClient(clientOptions("SHA-1", { nonce: "abc" }));
  client.first();
  await client.final("r=abcdef,s=QSXCR+Q6sek8bf92,i=16");
  await assert.rejects(client.verify("x=1"), sasl("malformed-request"));
});

Deno.test("ScramClient sets the gs2 flag and mechanism from its options", () => {
  const cb = binding(1);
  const cases = [
    [{}, "n,,", "SCRAM-SHA-1"],
    [{ channelBinding: cb }, "y,,", "SCRAM-SHA-1"],
    [
      { channelBinding: cb, plus: true, serverOffersPlus: true },
      "p=tls-server-end-point,,",
      "SCRAM-SHA-1-PLUS",
    ],
    [{ serverOffersPlus: true }, "n,,", "SCRAM-SHA-1"],
    [{ authzid: "a,b=c" }, "n,a=a=2Cb=3Dc,", "SCRAM-SHA-1"],
  ] as const;
  for (const [extra, header, mechanism] of cases) {
    const client = new ScramClient(clientOptions("SHA-1", extra));
    assert.ok(client.first().startsWith(header), header);
    assert.equal(client.mechanism, mechanism);
  }
});

Deno.test("ScramClient refuses inconsistent channel binding options", () => {
  assert.throws(
    () => new ScramClient(clientOptions("SHA-1", { plus: true })),
    TypeError,
  );
  assert.throws(
    () =>
      new ScramClient(
        clientOptions("SHA-1", {
          channelBinding: binding(1),
          serverOffersPlus: true,
        }),
      ),
    TypeError,
  );
  assert.throws(
    () => new ScramClient(clientOptions("SHA-1", { nonce: "a,b" })),
    TypeError,
  );
});

Deno.test("ScramClient methods must run in order, once each", async () => {
  const client = new ScramClient(clientOptions("SHA-1"));
  await assert.rejects(client.final("r=x,s=QSXCR+Q6sek8bf92,i=16"));
  assert.throws(() => client.first());
});

Deno.test("deriveScramCredentials() applies the minimal SASLprep", async () => {
  const salt = new Uint8Array(16);
  const a = await deriveScramCredentials("I\u00ADX", "SHA-1", {
    salt,
    iterations: 16,
  });
  const b = await deriveScramCredentials("\u2168", "SHA-1", {
    salt,
    iterations: 16,
  });
  assert.deepEqual(a, b);
  await assert.rejects(
    deriveScramCredentials("pen\u0007cil", "SHA-1"),
    sasl("malformed-request"),
  );
  assert.throws(
    () => new ScramClient(clientOptions("SHA-1", { password: "a\nb" })),
    sasl("malformed-request"),
  );
});

Deno.test("ScramServer binds with whichever of its types the client names, and refuses the others", async () => {
  const creds = await fastCredentials("pencil", "SHA-256");
  const ours = [
    { type: "tls-exporter" as const, data: new Uint8Array(32).fill(3) },
    { type: "tls-server-end-point" as const, data: new Uint8Array(32).fill(4) },
  ];
  for (const binding of ours) {
    const server = new ScramServer(
      serverOptions("SHA-256", creds, {
        offeredPlus: true,
        plus: true,
        channelBinding: ours,
      }),
    );
    const client = new ScramClient(
      clientOptions("SHA-256", {
        channelBinding: binding,
        plus: true,
        serverOffersPlus: true,
      }),
    );
    const clientFirst = client.first();
    assert.ok(clientFirst.startsWith(`p=${binding.type},,`));
    const serverFirst = await server.first(clientFirst);
    const result = await server.final(await client.final(serverFirst));
    await client.verify(result.serverFinal);
  }
  const unique = new ScramClient(
    clientOptions("SHA-256", {
      channelBinding: { type: "tls-unique", data: new Uint8Array(12) },
      plus: true,
      serverOffersPlus: true,
    }),
  );
  await assert.rejects(
    new ScramServer(
      serverOptions("SHA-256", creds, {
        offeredPlus: true,
        channelBinding: ours,
      }),
    ).first(unique.first()),
    sasl("not-authorized", /unsupported channel binding type/),
  );
});
