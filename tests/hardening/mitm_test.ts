/**
 * Attacks from the network, over real loopback TCP, against our two
 * endpoints (`initiate()` and `listen()`):
 *
 * - STRIPTLS: a man-in-the-middle proxy removes `<starttls/>` (or just its
 *   `<required/>`) from the recipient's features.
 * - STARTTLS injection: a raw attacker puts plaintext after `<starttls/>`
 *   or `<proceed/>` in the same TCP segment, then completes TLS.
 *
 * Every socket and listener is closed at the end of each test (the test
 * sanitizers stay on), and no rejection goes unhandled.
 */

import assert from "node:assert/strict";
import { lastValueFrom, toArray } from "rxjs";
import {
  type E2EStream,
  initiate,
  type InitiateOptions,
  listen,
} from "../../src/e2e.ts";
import { message } from "../../src/stanza/stanza.ts";
import { NegotiationError, StreamError } from "../../src/stream/errors.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { Session, type TraceEntry } from "../../src/stream/session.ts";
import { listenTcp } from "../../src/transport/node_tcp.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import {
  CLIENT_HEADER,
  DenoClient,
  latin1,
  mitmProxy,
  nodeServer,
  noUnhandledRejection,
  SERVER_HEADER,
  STARTTLS_FEATURES,
  stripRequired,
  stripStartTls,
  TLS_NS,
  within,
} from "./_raw_peers.ts";

const certificate = await generateCertificate({ names: ["pronto"] });
const tlsCertificate = { cert: certificate.certPem, key: certificate.keyPem };

/** Elements that must never cross in plaintext (after the features). */
const SECRETS =
  /<(?:[\w.-]+:)?(?:message|presence|iq|auth|response|success|body)\b/;

/** The two initiator transports `initiate()` picks between. */
const TRANSPORTS: {
  name: string;
  trust: Pick<InitiateOptions, "caCerts" | "pinnedFingerprint256">;
}[] = [
  {
    name: "Deno (rustls)",
    trust: { caCerts: [certificate.certPem] },
  },
  {
    name: "node:tls",
    trust: { pinnedFingerprint256: certificate.fingerprint256 },
  },
];

/** A recipient as juliet@pronto, its raw XML both ways recorded. */
async function juliet() {
  const trace: TraceEntry[] = [];
  const listener = await listen({
    from: "juliet@pronto",
    certificate: tlsCertificate,
    trace: (entry) => trace.push(entry),
  });
  return { listener, trace };
}

/**
 * Juliet listening behind a proxy that applies `rewrite`; `romeo()` dials
 * her through it with the given options.
 */
async function julietBehindProxy(rewrite: (plaintext: string) => string) {
  const { listener, trace } = await juliet();
  const accepted = listener.accept();
  const proxy = mitmProxy(listener.addr.port, rewrite);
  const romeo = (options: Partial<InitiateOptions>) =>
    romeoVia(proxy.port, options);
  return { listener, trace, accepted, proxy, romeo };
}

/** Romeo dials Juliet at `port` (the proxy's). */
function romeoVia(port: number, options: Partial<InitiateOptions>) {
  return initiate({
    from: "romeo@forza",
    to: "juliet@pronto",
    hostname: "127.0.0.1",
    port,
    ...options,
  });
}

/** The error `initiate()` failed with; fails the test if it opened. */
function refusal(opening: Promise<E2EStream>): Promise<unknown> {
  return opening.then(
    (stream) => {
      void stream.close();
      assert.fail("initiate() resolved through STRIPTLS");
    },
    (error: unknown) => error,
  );
}

function traced(trace: TraceEntry[], direction: "in" | "out"): string {
  return trace.filter((e) => e.direction === direction).map((e) => e.text)
    .join("");
}

// ------------------------------------------------------------- the proxy

Deno.test("the proxy's rewriting removes <starttls/> however it is written, and only <required/> when asked", () => {
  const forms = [
    `<starttls xmlns='${TLS_NS}'><required/></starttls>`,
    `<starttls xmlns="${TLS_NS}"/>`,
    `<starttls xmlns='${TLS_NS}' />`,
    `<starttls xmlns='${TLS_NS}'>\n  <required />\n</starttls >`,
    `<tls:starttls xmlns:tls='${TLS_NS}'><tls:required/></tls:starttls>`,
  ];
  for (const form of forms) {
    const features =
      `<stream:features>${form}<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>`;
    assert.equal(
      stripStartTls(features),
      "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/></stream:features>",
      form,
    );
    assert.doesNotMatch(stripRequired(features), /required/, form);
    assert.match(stripRequired(features), /starttls/, form);
  }
});

// ------------------------------------------------------------ STRIPTLS

for (const { name, trust } of TRANSPORTS) {
  Deno.test(`STRIPTLS through a proxy: initiate() (${name}) refuses with NegotiationError starttls, sends no stanza, and the recipient yields no stream`, async () => {
    const { listener, trace, accepted, proxy, romeo } = await julietBehindProxy(
      stripStartTls,
    );
    const error = await refusal(romeo(trust));
    // The proxy ends once both our ends closed their sockets: the
    // recipient gave up on its own, before the listener is closed.
    await within(proxy.done);
    assert.ok(error instanceof NegotiationError, String(error));
    assert.equal(error.feature, "starttls");
    assert.equal(
      error.message,
      "The peer did not offer starttls, which this stream requires",
    );

    // The recipient did offer STARTTLS, required; the proxy removed it.
    const offered = traced(trace, "out");
    assert.ok(offered.includes(STARTTLS_FEATURES), offered);
    const down = latin1(proxy.record.down);
    assert.doesNotMatch(down, /starttls/);
    assert.match(
      down,
      /<stream:features><\/stream:features><\/stream:stream>$/,
    );

    // Nothing but our header and our close tag crossed, in plaintext.
    const up = latin1(proxy.record.up);
    assert.doesNotMatch(up, SECRETS);
    assert.doesNotMatch(up, /starttls/);
    assert.match(up, /^<\?xml version='1.0'\?><stream:stream [^>]*>/);
    assert.match(up, /<\/stream:stream>$/);
    assert.equal(traced(trace, "in"), up, "the recipient read all of it");
    // The recipient said nothing after its features but its close tag: it
    // read our close during negotiation, answered it (RFC 6120 4.4), gave
    // up and hung up.
    assert.ok(
      offered.endsWith(STARTTLS_FEATURES + "</stream:stream>"),
      offered,
    );

    // No stream came out of the listener.
    await listener.close();
    assert.equal(await accepted, null);
    await noUnhandledRejection();
  });
}

/**
 * What a downgrading proxy makes of the recipient's plaintext: STARTTLS
 * stripped, or the recipient made to look like libpurple's Bonjour (no
 * `version`, hence no features).
 */
const DOWNGRADES: {
  name: string;
  rewrite: (text: string) => string;
  says: RegExp;
}[] = [
  {
    name: "STARTTLS stripped",
    rewrite: stripStartTls,
    says: /did not offer starttls/,
  },
  {
    name: "no version, no features",
    says: /sent no version/,
    rewrite: (text) =>
      text.replace(/(<stream:stream[^>]*) version='1\.0'/, "$1").replace(
        /<stream:features>[\s\S]*<\/stream:features>$/,
        "",
      ),
  },
];

for (const { name, rewrite, says } of DOWNGRADES) {
  Deno.test(`a proxy that downgrades the recipient (${name}) stops an initiator with legacy: true under the default policy, no stanza sent`, async () => {
    const { listener, accepted, proxy, romeo } = await julietBehindProxy(
      rewrite,
    );
    const error = await refusal(
      romeo({ caCerts: [certificate.certPem], legacy: true }),
    );
    await within(proxy.done);
    assert.ok(error instanceof NegotiationError, String(error));
    assert.equal(error.feature, "starttls");
    assert.match(error.message, says);
    assert.doesNotMatch(latin1(proxy.record.up), SECRETS);
    await listener.close();
    assert.equal(await accepted, null);
    await noUnhandledRejection();
  });
}

Deno.test("STRIPTLS through a proxy: the recipient answers the initiator's close tag and ends with the StreamError undefined-condition, not open", async () => {
  const listener = await listenTcp({ tls: tlsCertificate });
  let session: Session | undefined;
  const recipient = (async () => {
    const transport = await listener.accept();
    assert.ok(transport !== null);
    session = new Session({
      role: "recipient",
      transport,
      from: "juliet@pronto",
    });
    return await session.negotiate().then(
      () => assert.fail("negotiate() resolved"),
      (error: unknown) => error,
    );
  })();
  const proxy = mitmProxy(listener.addr.port, stripStartTls);
  try {
    const initiator = await refusal(
      romeoVia(proxy.port, { caCerts: [certificate.certPem] }),
    );
    assert.ok(initiator instanceof NegotiationError, String(initiator));
  } finally {
    await listener.close();
  }
  const error = await within(recipient);
  await within(proxy.done);
  assert.ok(error instanceof StreamError, String(error));
  assert.equal(error.condition, "undefined-condition");
  assert.equal(error.sent, false);
  assert.equal(error.text, "the peer closed the stream during negotiation");
  assert.equal(session?.state, "closed");
  assert.equal(session?.tls, undefined);
  // It answered the initiator's close tag with its own (RFC 6120 4.4).
  assert.match(latin1(proxy.record.down), /<\/stream:stream>$/);
  await noUnhandledRejection();
});

Deno.test("STRIPTLS through a proxy, features split across many reads and written with double quotes: initiate() still refuses", async () => {
  // A raw recipient that writes its header and features a few bytes at a
  // time, so that the proxy must hold them across reads.
  let after: string | null = null;
  const recipient = await nodeServer(async (peer) => {
    assert.notEqual(await peer.readUntil("version='1.0'>"), null);
    const features = SERVER_HEADER +
      `<stream:features><starttls xmlns="${TLS_NS}">` +
      "<required/></starttls></stream:features>";
    for (let i = 0; i < features.length; i += 16) {
      await peer.write(features.slice(i, i + 16));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    after = await peer.readToEnd();
  });
  const proxy = mitmProxy(recipient.port, stripStartTls);
  const error = await refusal(
    romeoVia(proxy.port, { caCerts: [certificate.certPem] }),
  );
  await within(Promise.all([proxy.done, recipient.done]));
  assert.ok(error instanceof NegotiationError, String(error));
  assert.equal(error.feature, "starttls");
  assert.ok(proxy.record.featureReads > 1, "held across reads");
  assert.equal(
    latin1(proxy.record.down),
    SERVER_HEADER + "<stream:features></stream:features>",
  );
  assert.equal(after, "</stream:stream>", "only our close tag after it");
  await noUnhandledRejection();
});

Deno.test("TLS made to look optional through a proxy: initiate() negotiates STARTTLS anyway (the default policy requires it) and the message crosses only encrypted", async () => {
  const { listener, trace, accepted, proxy, romeo: dial } =
    await julietBehindProxy(stripRequired);
  const romeo = await dial({
    caCerts: [certificate.certPem],
    closeTimeoutMs: 1_000,
  });
  try {
    assert.ok(romeo.info.tls !== undefined, "TLS in place on the initiator");
    const julietStream = await within(accepted);
    assert.ok(julietStream !== null);
    assert.ok(julietStream.info.tls !== undefined, "and on the recipient");
    const received = lastValueFrom(julietStream.stanzas$.pipe(toArray()));
    await romeo.send(
      message({ to: "juliet@pronto", body: "By any other word" }),
    );
    const [closedRomeo, closedJuliet] = await Promise.all([
      romeo.close(),
      julietStream.closed,
    ]);
    assert.deepEqual([closedRomeo, closedJuliet], [{ clean: true }, {
      clean: true,
    }]);
    const bodies = (await received).map((m) => m.getChildText("body"));
    assert.deepEqual(bodies, ["By any other word"]);
  } finally {
    await romeo.close();
    await listener.close();
    await within(proxy.done);
  }

  // The initiator saw STARTTLS without <required/>, and used it.
  const down = latin1(proxy.record.down);
  assert.match(down, new RegExp(`<starttls xmlns='${TLS_NS}'></starttls>`));
  assert.doesNotMatch(down.slice(0, down.indexOf("<proceed")), /required/);
  const up = latin1(proxy.record.up);
  assert.match(up, new RegExp(`<starttls xmlns='${TLS_NS}'/>`));
  // The message went through, but never in plaintext.
  assert.doesNotMatch(up, SECRETS);
  assert.doesNotMatch(up, /By any other word/);
  assert.ok(
    trace.some((e) =>
      e.direction === "in" && e.tls && e.text.includes("By any other word")
    ),
    "the recipient read it under TLS",
  );
  await noUnhandledRejection();
});

Deno.test('STRIPTLS against an initiator with tls: "optional": it opens in plaintext, and a recipient that requires TLS refuses its first stanza with policy-violation', async () => {
  // The contrast with the default: "optional" is what lets STRIPTLS
  // through, and the recipient's "required" is then the last line.
  const { listener, trace, accepted, proxy, romeo: dial } =
    await julietBehindProxy(stripStartTls);
  const romeo = await dial({ caCerts: [certificate.certPem], tls: "optional" });
  assert.equal(romeo.state, "open");
  assert.equal(romeo.info.tls, undefined, "downgraded to plaintext");
  await romeo.send(message({ to: "juliet@pronto", body: "in the clear" }));
  const result = await within(romeo.closed);
  await within(proxy.done);
  assert.equal(result.clean, false);
  assert.ok(result.error instanceof StreamError, String(result.error));
  assert.equal(result.error.condition, "policy-violation");
  assert.equal(result.error.sent, false);
  // What "optional" costs: the stanza crossed the proxy in plaintext.
  assert.match(latin1(proxy.record.up), /<body>in the clear<\/body>/);
  assert.match(
    traced(trace, "out"),
    /<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'\/>/,
  );
  await listener.close();
  assert.equal(await within(accepted), null, "the recipient yields no stream");
  await noUnhandledRejection();
});

// ------------------------------------------------------ STARTTLS injection

Deno.test("plaintext injected after <starttls/> in the same segment never reaches the recipient's application; the stream goes on under TLS with only the real message", async () => {
  const { listener, trace } = await juliet();
  const accepted = listener.accept();
  const attacker = await DenoClient.connect(listener.addr.port);
  let julietStream: E2EStream | null = null;
  try {
    await attacker.writeOnce(CLIENT_HEADER);
    assert.notEqual(await attacker.readUntil("</stream:features>"), null);
    await attacker.writeOnce(
      `<starttls xmlns='${TLS_NS}'/>` +
        "<message to='pronto'><body>INJECTED</body></message>",
    );
    assert.equal(
      await attacker.readUntil(`<proceed xmlns='${TLS_NS}'/>`),
      `<proceed xmlns='${TLS_NS}'/>`,
      "the recipient proceeds with TLS",
    );
    await attacker.startTls(certificate.certPem);
    await attacker.writeOnce(CLIENT_HEADER);
    const features = await attacker.readUntil("<stream:features/>");
    assert.ok(features !== null, "negotiation ends under TLS");
    julietStream = await within(accepted);
    assert.ok(julietStream !== null);
    const received = lastValueFrom(julietStream.stanzas$.pipe(toArray()));
    await attacker.writeOnce(
      "<message to='pronto'><body>legitimate</body></message></stream:stream>",
    );
    assert.equal(
      await within(attacker.readToEnd()),
      "</stream:stream>",
      "the recipient answered our close, nothing else",
    );
    const bodies = (await within(received)).map((m) => m.getChildText("body"));
    assert.deepEqual(bodies, ["legitimate"]);
    assert.deepEqual(await within(julietStream.closed), { clean: true });
  } finally {
    attacker.close();
    await listener.close();
    if (julietStream === null) await (await accepted)?.close();
  }
  // The injection did arrive, in the very chunk that carried <starttls/>.
  const chunk = trace.find((e) =>
    e.direction === "in" && !e.tls &&
    e.text.includes("<starttls")
  );
  assert.ok(chunk !== undefined);
  assert.match(
    chunk.text,
    /<starttls[^>]*\/><message to='pronto'><body>INJECTED/,
  );
  assert.ok(
    !trace.some((e) => e.tls && e.text.includes("INJECTED")),
    "nothing injected is read under TLS",
  );
  await noUnhandledRejection();
});

for (const { name, trust } of TRANSPORTS) {
  Deno.test(`plaintext injected after <proceed/> in the same segment never reaches initiate() (${name}); the stream goes on under TLS with only the real message`, async () => {
    const inbound: TraceEntry[] = [];
    const attacker = await nodeServer(async (peer) => {
      assert.notEqual(await peer.readUntil("version='1.0'>"), null);
      await peer.write(SERVER_HEADER + STARTTLS_FEATURES);
      assert.notEqual(
        await peer.readUntil(`<starttls xmlns='${TLS_NS}'/>`),
        null,
      );
      await peer.proceedAndStartTls(
        `<proceed xmlns='${TLS_NS}'/><message><body>INJECTED</body></message>`,
        tlsCertificate,
      );
      assert.notEqual(await peer.readUntil("version='1.0'>"), null);
      await peer.write(SERVER_HEADER + "<stream:features/>");
      await peer.write(
        "<message><body>legitimate</body></message></stream:stream>",
      );
      assert.equal(
        await peer.readUntil("</stream:stream>"),
        "</stream:stream>",
      );
    });
    let romeo: E2EStream | undefined;
    try {
      romeo = await initiate({
        from: "romeo@forza",
        to: "juliet@pronto",
        hostname: "127.0.0.1",
        port: attacker.port,
        ...trust,
        trace: (entry) => {
          if (entry.direction === "in") inbound.push(entry);
        },
      });
      assert.ok(romeo.info.tls !== undefined);
      const bodies = (await within(
        lastValueFrom(romeo.stanzas$.pipe(toArray())),
      )).map((m) => m.getChildText("body"));
      assert.deepEqual(bodies, ["legitimate"]);
      assert.deepEqual(await within(romeo.closed), { clean: true });
    } finally {
      void romeo?.close();
      await within(attacker.done);
    }
    // The injection did arrive, in the very chunk that carried <proceed/>.
    const chunk = inbound.find((e) => !e.tls && e.text.includes("<proceed"));
    assert.ok(chunk !== undefined);
    assert.equal(
      chunk.text,
      `<proceed xmlns='${TLS_NS}'/><message><body>INJECTED</body></message>`,
    );
    assert.ok(!inbound.some((e) => e.tls && e.text.includes("INJECTED")));
    await noUnhandledRejection();
  });
}

for (const { name, trust } of TRANSPORTS) {
  Deno.test(`plaintext injected after <proceed/>, once the ClientHello is out, fails initiate() (${name}) with a TransportError from the TLS handshake`, async () => {
    let after = null as string | null;
    const attacker = await nodeServer(async (peer) => {
      assert.notEqual(await peer.readUntil("version='1.0'>"), null);
      await peer.write(SERVER_HEADER + STARTTLS_FEATURES);
      assert.notEqual(
        await peer.readUntil(`<starttls xmlns='${TLS_NS}'/>`),
        null,
      );
      await peer.write(`<proceed xmlns='${TLS_NS}'/>`);
      // The initiator's ClientHello: a TLS handshake record (0x16 0x03).
      assert.notEqual(await peer.readUntil("\u0016\u0003"), null);
      await peer.write("<message><body>INJECTED</body></message>");
      after = await peer.readToEnd();
    });
    const inbound: TraceEntry[] = [];
    const error = await initiate({
      from: "romeo@forza",
      to: "juliet@pronto",
      hostname: "127.0.0.1",
      port: attacker.port,
      ...trust,
      trace: (entry) => {
        if (entry.direction === "in") inbound.push(entry);
      },
    }).then(
      (stream) => {
        void stream.close();
        assert.fail("initiate() resolved");
      },
      (error: unknown) => error,
    );
    await within(attacker.done);
    assert.ok(error instanceof TransportError, String(error));
    assert.match(
      error.message,
      /^The TLS handshake failed: received corrupt message of type InvalidContentType\b/,
    );
    assert.ok(!inbound.some((e) => e.text.includes("INJECTED")));
    // After the rest of its ClientHello, the initiator sent a fatal TLS
    // alert and hung up; no plaintext close tag.
    assert.ok(after !== null);
    assert.ok(
      after.includes("\u0015\u0003\u0003\u0000\u0002\u0002"),
      "a fatal alert",
    );
    assert.ok(!after.includes("</stream:stream>"));
    await noUnhandledRejection();
  });
}
