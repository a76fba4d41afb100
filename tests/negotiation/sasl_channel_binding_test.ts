// SCRAM channel binding as servers deploy it: scripted servers (raw node:tls
// peers) that bind with one type or another, advertise XEP-0440 or not, or
// strip -PLUS; our own two endpoints; and the rustls transport, which has
// no channel-binding data.

import assert from "node:assert/strict";
import * as tls from "node:tls";
import { Buffer } from "node:buffer";
import { initiate, listen } from "../../src/e2e.ts";
import { sasl, type SaslClientOptions } from "../../src/negotiation/sasl.ts";
import {
  deriveScramCredentials,
  type ScramCredentials,
  type ScramHash,
  ScramServer,
} from "../../src/sasl/scram.ts";
import { SaslError } from "../../src/sasl/errors.ts";
import { NegotiationError } from "../../src/stream/errors.ts";
import { Session } from "../../src/stream/session.ts";
import {
  generateCertificate,
  pemToDer,
} from "../../src/transport/certificate.ts";
import { endPointBinding } from "../../src/transport/_channel_binding.ts";
import type { ChannelBindingType } from "../../src/transport/transport.ts";
import {
  base64,
  nodeServer,
  SASL_NS,
  SERVER_HEADER,
  STARTTLS_FEATURES,
  TLS_NS,
  unbase64,
  within,
} from "../hardening/_raw_peers.ts";
import { fakeTlsPair } from "../stream/_pair.ts";

const certificate = await generateCertificate({ names: ["pronto"] });
const SASL_CB_NS = "urn:xmpp:sasl-cb:0";
const ALL_SCRAM = [
  "SCRAM-SHA-1",
  "SCRAM-SHA-256",
  "SCRAM-SHA-512",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-512-PLUS",
];

const keys = new Map<ScramHash, ScramCredentials>();
for (const hash of ["SHA-1", "SHA-256", "SHA-512"] as const) {
  keys.set(
    hash,
    await deriveScramCredentials("r0m30!", hash, { iterations: 4096 }),
  );
}
const credentials = (user: string, hash: ScramHash) =>
  Promise.resolve(user === "romeo" ? keys.get(hash) : undefined);

/** Whether this Deno's node:tls exports keying material (2.9.6: no). */
const EXPORTS = typeof (tls.TLSSocket.prototype as {
  exportKeyingMaterial?: unknown;
}).exportKeyingMaterial === "function";

/** What a scripted server saw of the initiator's SASL attempt. */
interface Seen {
  mechanism?: string;
  gs2Header?: string;
}

/**
 * A scripted XMPP server: STARTTLS with `certificate`, then SASL with the
 * given mechanisms, optionally advertising `advertise` (XEP-0440). It binds
 * only with `binds` and, as RFC 5802 section 6 says of a server that
 * supports channel binding, refuses the `y` flag when `binds` is not empty;
 * an unknown type gets `not-authorized` with "Invalid channel binding", as
 * a deployed server answers.
 */
async function scriptedServer(o: {
  mechanisms: string[];
  advertise?: string[];
  binds: ChannelBindingType[];
}) {
  const seen: Seen = {};
  const server = await nodeServer(async (peer) => {
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    await peer.write(SERVER_HEADER + STARTTLS_FEATURES);
    assert.notEqual(
      await peer.readUntil(`<starttls xmlns='${TLS_NS}'/>`),
      null,
    );
    await peer.proceedAndStartTls(`<proceed xmlns='${TLS_NS}'/>`, {
      cert: certificate.certPem,
      key: certificate.keyPem,
    });
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    const cb = o.advertise === undefined
      ? ""
      : `<sasl-channel-binding xmlns='${SASL_CB_NS}'>` +
        o.advertise.map((t) => `<channel-binding type='${t}'/>`).join("") +
        "</sasl-channel-binding>";
    await peer.write(
      SERVER_HEADER + `<stream:features>${cb}<mechanisms xmlns='${SASL_NS}'>` +
        o.mechanisms.map((m) => `<mechanism>${m}</mechanism>`).join("") +
        "</mechanisms></stream:features>",
    );
    const auth = await peer.readUntil("</auth>");
    if (auth === null) return; // the initiator gave up first
    const mechanism = /mechanism='([^']+)'/.exec(auth)![1]!;
    const clientFirst = unbase64(
      auth.replace(/^[\s\S]*>([^<]*)<\/auth>$/, "$1"),
    );
    const flag = clientFirst.split(",")[0]!;
    seen.mechanism = mechanism;
    seen.gs2Header = clientFirst.slice(
      0,
      clientFirst.indexOf(",", flag.length + 1) + 1,
    );
    const fail = async (text: string) => {
      await peer.write(
        `<failure xmlns='${SASL_NS}'><not-authorized/><text>${text}</text></failure>`,
      );
      await peer.readToEnd();
    };
    const type = flag.startsWith("p=")
      ? flag.slice(2) as ChannelBindingType
      : undefined;
    if (flag === "y" && o.binds.length > 0) {
      return await fail("Channel binding downgrade");
    }
    if (type !== undefined && !o.binds.includes(type)) {
      return await fail("Invalid channel binding");
    }
    const data = type === "tls-server-end-point"
      ? await endPointBinding(pemToDer(certificate.certPem))
      : type === "tls-exporter"
      ? new Uint8Array(
        (peer.socket as tls.TLSSocket).exportKeyingMaterial(
          32,
          "EXPORTER-Channel-Binding",
          Buffer.alloc(0),
        ),
      )
      : undefined;
    const hash = /^SCRAM-(SHA-\d+)/.exec(mechanism)![1] as ScramHash;
    const scram = new ScramServer({
      hash,
      offeredPlus: type !== undefined, // the y flag was judged above
      plus: mechanism.endsWith("-PLUS"),
      ...(type !== undefined && data !== undefined
        ? { channelBinding: { type, data } }
        : {}),
      lookup: (user) => credentials(user, hash),
    });
    await peer.write(
      `<challenge xmlns='${SASL_NS}'>${
        base64(await scram.first(clientFirst))
      }</challenge>`,
    );
    const response = await peer.readUntil("</response>");
    assert.ok(response !== null);
    const final = await scram.final(
      unbase64(response.replace(/^[\s\S]*>([^<]*)<\/response>$/, "$1")),
    );
    await peer.write(
      `<success xmlns='${SASL_NS}'>${base64(final.serverFinal)}</success>`,
    );
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    await peer.write(SERVER_HEADER + "<stream:features/>");
    assert.notEqual(await peer.readUntil("</stream:stream>"), null);
    await peer.write("</stream:stream>");
  });
  return { ...server, seen };
}

/**
 * Our initiator to `port`, pinning the scripted server (node:tls); to
 * juliet@pronto, the address the scripted server answers from.
 */
function romeo(port: number, client: Partial<SaslClientOptions> = {}) {
  return initiate({
    from: "romeo@forza",
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port,
    pinnedFingerprint256: certificate.fingerprint256,
    features: [
      sasl({ client: { username: "romeo", password: "r0m30!", ...client } }),
    ],
  });
}

Deno.test("A server offering -PLUS that binds only with tls-unique and advertises no XEP-0440: default settings log in unbound, flag n", async () => {
  const server = await scriptedServer({
    mechanisms: ALL_SCRAM,
    binds: ["tls-unique"],
  });
  const stream = await within(romeo(server.port));
  assert.deepEqual(stream.info.sasl, {
    mechanism: "SCRAM-SHA-512",
    channelBinding: undefined,
  });
  assert.deepEqual(server.seen, {
    mechanism: "SCRAM-SHA-512",
    gs2Header: "n,,",
  });
  assert.deepEqual(await within(stream.close()), { clean: true });
  await within(server.done);
});

Deno.test("That server refuses tls-server-end-point when it is forced (as measured), and required binding stops before authenticating", async () => {
  const server = await scriptedServer({
    mechanisms: ALL_SCRAM,
    binds: ["tls-unique"],
  });
  const error = await romeo(server.port, {
    channelBinding: "tls-server-end-point",
  }).catch((e) => e);
  assert.ok(error instanceof NegotiationError, String(error));
  assert.ok(error.cause instanceof SaslError);
  assert.equal(error.cause.condition, "not-authorized");
  assert.equal(error.cause.text, "Invalid channel binding");
  assert.deepEqual(server.seen, {
    mechanism: "SCRAM-SHA-512-PLUS",
    gs2Header: "p=tls-server-end-point,,",
  });
  await within(server.done);

  const strict = await scriptedServer({
    mechanisms: ALL_SCRAM,
    binds: ["tls-unique"],
  });
  const refused = await romeo(strict.port, { channelBinding: "required" })
    .catch((e) => e);
  assert.ok(refused instanceof NegotiationError, String(refused));
  assert.match(
    refused.message,
    /^Cannot bind the channel: the peer does not advertise its channel-binding types \(XEP-0440\), and this transport cannot compute tls-exporter, the default type for TLSv1\.3/,
  );
  assert.deepEqual(strict.seen, {}, "no <auth/> was sent");
  await within(strict.done);
});

Deno.test("A server advertising tls-exporter and tls-server-end-point (XEP-0440): the client binds with the strongest type it computes", async () => {
  const server = await scriptedServer({
    mechanisms: ALL_SCRAM,
    advertise: ["tls-exporter", "tls-server-end-point"],
    binds: ["tls-exporter", "tls-server-end-point"],
  });
  const stream = await within(romeo(server.port));
  const type = EXPORTS ? "tls-exporter" : "tls-server-end-point";
  assert.deepEqual(stream.info.sasl, {
    mechanism: "SCRAM-SHA-512-PLUS",
    channelBinding: type,
  });
  assert.deepEqual(server.seen, {
    mechanism: "SCRAM-SHA-512-PLUS",
    gs2Header: `p=${type},,`,
  });
  assert.deepEqual(await within(stream.close()), { clean: true });
  await within(server.done);
});

Deno.test("A server that advertises XEP-0440 but whose -PLUS mechanisms were stripped gets flag y, and refuses it (RFC 5802 section 6)", async () => {
  const server = await scriptedServer({
    mechanisms: ["SCRAM-SHA-256", "SCRAM-SHA-1"],
    advertise: ["tls-server-end-point"],
    binds: ["tls-server-end-point"],
  });
  const error = await romeo(server.port).catch((e) => e);
  assert.ok(error instanceof NegotiationError, String(error));
  assert.ok(error.cause instanceof SaslError);
  assert.equal(error.cause.condition, "not-authorized");
  assert.deepEqual(server.seen, {
    mechanism: "SCRAM-SHA-256",
    gs2Header: "y,,",
  });
  await within(server.done);
});

Deno.test("A server that binds with nothing and offers no -PLUS gets flag y, and accepts it", async () => {
  const server = await scriptedServer({
    mechanisms: ["SCRAM-SHA-1"],
    binds: [],
  });
  const stream = await within(romeo(server.port));
  assert.deepEqual(server.seen, { mechanism: "SCRAM-SHA-1", gs2Header: "y,," });
  assert.deepEqual(stream.info.sasl, {
    mechanism: "SCRAM-SHA-1",
    channelBinding: undefined,
  });
  await within(stream.close());
  await within(server.done);
});

Deno.test("A server offering -PLUS that advertises only types this end cannot compute, without tls-server-end-point: the client stops (XEP-0440)", async () => {
  const server = await scriptedServer({
    mechanisms: ALL_SCRAM,
    advertise: ["tls-unique"],
    binds: ["tls-unique"],
  });
  const error = await romeo(server.port).catch((e) => e);
  assert.ok(error instanceof NegotiationError, String(error));
  assert.match(error.message, /tls-unique\) and not tls-server-end-point/);
  assert.match(error.message, /tampered with/);
  assert.deepEqual(server.seen, {}, "no <auth/> was sent");
  await within(server.done);
});

Deno.test("Our two endpoints bind SCRAM-SHA-256-PLUS with the type our recipient advertises (XEP-0440), and both report it", async () => {
  const listener = await listen({
    from: "pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    features: [
      sasl({ server: { credentials, certificate: certificate.certPem } }),
    ],
  });
  const trace: string[] = [];
  const accepted = listener.accept();
  const client = await initiate({
    to: "pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    pinnedFingerprint256: certificate.fingerprint256,
    features: [sasl({ client: { username: "romeo", password: "r0m30!" } })],
    trace: (e) => trace.push(e.text),
  });
  const server = (await accepted)!;
  assert.match(
    trace.join(""),
    /<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'\/><\/sasl-channel-binding>/,
  );
  const bound = {
    mechanism: "SCRAM-SHA-256-PLUS",
    channelBinding: "tls-server-end-point",
  };
  assert.deepEqual(client.info.sasl, bound);
  assert.deepEqual(server.info.sasl, bound);
  await Promise.all([client.close(), server.closed]);
  await listener.close();
});

Deno.test("Our two endpoints bind with tls-exporter once node:tls exports keying material (a stand-in export)", async () => {
  const proto = tls.TLSSocket.prototype as unknown as Record<string, unknown>;
  const had = Object.getOwnPropertyDescriptor(proto, "exportKeyingMaterial");
  // Both ends get the same bytes: their Finished-like values, combined
  // symmetrically. Only the plumbing is under test, not the TLS export.
  proto.exportKeyingMaterial = function (this: tls.TLSSocket) {
    const a = this.getFinished()!, b = this.getPeerFinished()!;
    return a.map((x, i) => x ^ b[i]!);
  };
  try {
    const listener = await listen({
      from: "pronto",
      certificate: { cert: certificate.certPem, key: certificate.keyPem },
      features: [
        sasl({ server: { credentials, certificate: certificate.certPem } }),
      ],
    });
    const trace: string[] = [];
    const accepted = listener.accept();
    const client = await initiate({
      to: "pronto",
      hostname: "127.0.0.1",
      port: listener.addr.port,
      pinnedFingerprint256: certificate.fingerprint256,
      features: [sasl({ client: { username: "romeo", password: "r0m30!" } })],
      trace: (e) => trace.push(e.text),
    });
    const server = (await accepted)!;
    assert.match(
      trace.join(""),
      /<channel-binding type='tls-exporter'\/><channel-binding type='tls-server-end-point'\/>/,
    );
    const bound = {
      mechanism: "SCRAM-SHA-256-PLUS",
      channelBinding: "tls-exporter",
    };
    assert.deepEqual(client.info.sasl, bound);
    assert.deepEqual(server.info.sasl, bound);
    await Promise.all([client.close(), server.closed]);
    await listener.close();
  } finally {
    if (had === undefined) delete proto.exportKeyingMaterial;
    else Object.defineProperty(proto, "exportKeyingMaterial", had);
  }
});

Deno.test("Over connectTcp (rustls, no channel-binding data): unbound SCRAM by default, and asking for -PLUS says why it cannot", async () => {
  const listener = await listen({
    from: "pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    features: [
      sasl({ server: { credentials, certificate: certificate.certPem } }),
    ],
  });
  const dial = (client: Partial<SaslClientOptions>) => {
    const accepted = listener.accept();
    const stream = initiate({
      to: "pronto",
      hostname: "127.0.0.1",
      port: listener.addr.port,
      caCerts: [certificate.certPem], // connectTcp: Deno.startTls
      features: [
        sasl({ client: { username: "romeo", password: "r0m30!", ...client } }),
      ],
    });
    return { accepted, stream };
  };
  try {
    const ok = dial({});
    const client = await ok.stream;
    const server = (await ok.accepted)!;
    assert.deepEqual(client.info.tls?.channelBindings, {});
    assert.deepEqual(client.info.sasl, {
      mechanism: "SCRAM-SHA-256",
      channelBinding: undefined,
    });
    await Promise.all([client.close(), server.closed]);

    for (
      const [options, message] of [
        [
          { channelBinding: "required" },
          /^Cannot bind the channel: this transport exposes no channel-binding data$/,
        ],
        [
          { channelBinding: "tls-server-end-point" },
          /^Cannot bind the channel: this transport exposes no channel-binding data$/,
        ],
        [
          { mechanisms: ["SCRAM-SHA-256-PLUS"] },
          /^No SASL mechanism in common: SCRAM-SHA-256-PLUS needs channel binding, and this transport exposes no channel-binding data \(offered: SCRAM-SHA-256-PLUS, /,
        ],
      ] as const
    ) {
      const { stream } = dial(options);
      const error = await stream.catch((e) => e);
      assert.ok(error instanceof NegotiationError, String(error));
      assert.match(error.message, message);
    }
  } finally {
    await listener.close();
  }
});

Deno.test("Our recipient refuses flag y after offering -PLUS: a stripped offer is caught (RFC 5802 section 6)", async () => {
  const [a, b] = fakeTlsPair();
  const recipient = new Session({
    role: "recipient",
    transport: b,
    from: "pronto",
    // The fake TLS computes nothing: tls-server-end-point from `certificate`.
    features: [
      sasl({ server: { credentials, certificate: certificate.certPem } }),
    ],
  });
  const negotiated = recipient.negotiate().catch((e) => e);
  const enc = new TextEncoder();
  const header =
    "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='pronto' version='1.0'>";
  await a.write(enc.encode(header + `<starttls xmlns='${TLS_NS}'/>`));
  await a.write(enc.encode(header));
  await a.write(
    enc.encode(
      `<auth xmlns='${SASL_NS}' mechanism='SCRAM-SHA-256'>${
        base64("y,,n=romeo,r=abcdefgh")
      }</auth>`,
    ),
  );
  for (let i = 0; i < 100 && !b.writtenText().includes("<failure "); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const sent = b.writtenText();
  assert.match(sent, /<mechanism>SCRAM-SHA-256-PLUS<\/mechanism>/);
  assert.match(
    sent,
    /<sasl-channel-binding xmlns='urn:xmpp:sasl-cb:0'><channel-binding type='tls-server-end-point'\/>/,
  );
  assert.match(
    sent,
    /<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized\/><text>channel binding downgrade<\/text><\/failure>/,
  );
  a.close();
  await negotiated;
});

Deno.test("Without its certificate, our recipient offers no -PLUS and advertises no types, even where the transport could bind", async () => {
  const listener = await listen({
    from: "pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    features: [sasl({ server: { credentials } })],
  });
  const trace: string[] = [];
  const accepted = listener.accept();
  const client = await initiate({
    to: "pronto",
    hostname: "127.0.0.1",
    port: listener.addr.port,
    pinnedFingerprint256: certificate.fingerprint256,
    features: [sasl({ client: { username: "romeo", password: "r0m30!" } })],
    trace: (e) => trace.push(e.text),
  });
  const server = (await accepted)!;
  const all = trace.join("");
  assert.doesNotMatch(all, /-PLUS|sasl-channel-binding/);
  assert.ok(client.info.tls?.channelBindings?.["tls-server-end-point"]);
  // The initiator could bind and saw no -PLUS: flag y.
  assert.match(all, new RegExp(`mechanism='SCRAM-SHA-256'>${base64("y,,")}`));
  assert.deepEqual(server.info.sasl, {
    mechanism: "SCRAM-SHA-256",
    channelBinding: undefined,
  });
  await Promise.all([client.close(), server.closed]);
  await listener.close();
});
