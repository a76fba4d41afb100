/**
 * Our endpoints against peers we did not write: our initiator against
 * Prosody (header, features, STARTTLS verified against Prosody's
 * certificate, restart, post-TLS features, ordered close answered by
 * Prosody), and `openssl s_client -starttls xmpp` against our recipient (the
 * TLS handshake completes with our certificate, verified by openssl).
 *
 * Run with `deno task test:interop` (installs and starts Prosody itself).
 */

import assert from "node:assert/strict";
import { initiate, listen } from "../../src/e2e.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import { bind } from "../../src/negotiation/bind.ts";
import { message, presence } from "../../src/stanza/stanza.ts";
import { filter, firstValueFrom } from "rxjs";
import { SaslError } from "../../src/sasl/errors.ts";
import { NegotiationError } from "../../src/stream/errors.ts";
import type { TraceEntry } from "../../src/stream/session.ts";
import {
  fingerprint256,
  generateCertificate,
  pemToDer,
} from "../../src/transport/certificate.ts";
import { runOpensslStartTls } from "../../scripts/interop/openssl_client.ts";
import { startProsody } from "../../scripts/interop/prosody.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("e2e_interop_test");

Deno.test({
  name: "Our initiator negotiates STARTTLS with Prosody and closes in order",
  ignore: SKIP,
  async fn() {
    const prosody = await startProsody();
    try {
      const trace: TraceEntry[] = [];
      const stream = await initiate({
        from: "romeo@pronto",
        to: "pronto",
        hostname: "127.0.0.1",
        port: prosody.port,
        caCerts: [prosody.certPem],
        trace: (entry) => trace.push(entry),
      });
      assert.equal(stream.state, "open");
      assert.equal(stream.info.peer?.from, "pronto");
      assert.equal(stream.info.peer?.version, "1.0");
      assert.ok(stream.info.id);
      const text = (direction: "in" | "out", tls: boolean) =>
        trace.filter((e) => e.direction === direction && e.tls === tls)
          .map((e) => e.text).join("");
      // Before TLS: Prosody's features offer STARTTLS, required.
      assert.match(
        text("in", false),
        /<starttls xmlns=['"]urn:ietf:params:xml:ns:xmpp-tls['"]><required\/><\/starttls>/,
      );
      assert.match(
        text("in", false),
        /<proceed xmlns=['"]urn:ietf:params:xml:ns:xmpp-tls['"]\/>/,
      );
      // After TLS: a new stream with a new id, and SASL mechanisms offered.
      assert.match(
        text("in", true),
        /<mechanisms xmlns=['"]urn:ietf:params:xml:ns:xmpp-sasl['"]>/,
      );
      const ids = [
        ...(text("in", false) + text("in", true)).matchAll(
          / id=['"]([^'"]+)['"]/g,
        ),
      ]
        .map((m) => m[1]);
      assert.equal(new Set(ids).size, 2, `two stream ids: ${ids}`);
      const result = await stream.close();
      assert.deepEqual(result, { clean: true });
      assert.match(text("in", true), /<\/stream:stream>/);
    } finally {
      await prosody.stop();
    }
  },
});

Deno.test({
  name:
    "openssl s_client -starttls xmpp completes a TLS handshake with our recipient",
  ignore: SKIP,
  async fn() {
    const certificate = await generateCertificate({ names: ["pronto"] });
    const dir = await Deno.makeTempDir();
    const caFile = `${dir}/pronto.pem`;
    await Deno.writeTextFile(caFile, certificate.certPem);
    const seen: TraceEntry[] = [];
    const listener = await listen({
      from: "pronto",
      certificate: { cert: certificate.certPem, key: certificate.keyPem },
      negotiationTimeoutMs: 5_000,
      trace: (entry) => seen.push(entry),
    });
    try {
      // openssl stops after the handshake; the stream then ends without a
      // restart, so accept() skips it and returns null once closed.
      const accepting = listener.accept();
      const result = await runOpensslStartTls(listener.addr.port, "pronto", {
        caFile,
      });
      const all = result.stdout + result.stderr;
      assert.match(all, /TLSv1\.3/, all);
      assert.match(all, /Verification: OK/, all);
      assert.ok(
        seen.some((e) => e.direction === "out" && /<proceed /.test(e.text)),
        "we sent <proceed/>",
      );
      await listener.close();
      assert.equal(await accepting, null);
    } finally {
      await listener.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "Our initiator authenticates to Prosody with SCRAM-SHA-1, and a wrong password fails not-authorized",
  ignore: SKIP,
  async fn() {
    const prosody = await startProsody();
    try {
      const options = {
        from: "romeo@pronto",
        to: "pronto",
        hostname: "127.0.0.1",
        port: prosody.port,
        caCerts: [prosody.certPem],
      };
      const trace: string[] = [];
      const stream = await initiate({
        ...options,
        features: [
          sasl({
            client: { username: prosody.user, password: prosody.password },
          }),
        ],
        trace: (entry) => trace.push(entry.text),
      });
      assert.match(trace.join(""), /mechanism=['"]SCRAM-SHA-1['"]/);
      assert.match(
        trace.join(""),
        /<success xmlns=['"]urn:ietf:params:xml:ns:xmpp-sasl['"]/,
      );
      assert.equal(stream.info.identity, prosody.user);
      assert.deepEqual(await stream.close(), { clean: true });

      const error = await initiate({
        ...options,
        features: [
          sasl({ client: { username: prosody.user, password: "not-it" } }),
        ],
      }).catch((e) => e);
      assert.ok(error instanceof NegotiationError, String(error));
      assert.ok(error.cause instanceof SaslError);
      assert.equal(error.cause.condition, "not-authorized");
    } finally {
      await prosody.stop();
    }
  },
});

Deno.test({
  name:
    "Our initiator authenticates to Prosody, binds a resource, and gets back a message sent to its own bare JID",
  ignore: SKIP,
  async fn() {
    const prosody = await startProsody();
    try {
      const stream = await initiate({
        to: "pronto",
        hostname: "127.0.0.1",
        port: prosody.port,
        caCerts: [prosody.certPem],
        features: [
          sasl({
            client: { username: prosody.user, password: prosody.password },
          }),
          bind({ resource: "balcony" }),
        ],
      });
      assert.equal(stream.info.identity, "romeo@pronto/balcony");
      const echoed = firstValueFrom(
        stream.stanzas$.pipe(filter((s) => s.name === "message")),
      );
      await stream.send(presence({}));
      await stream.send(
        message({ to: "romeo@pronto", type: "chat", body: "to myself" }),
      );
      const got = await echoed;
      assert.equal(got.getChildText("body"), "to myself");
      assert.equal(got.attrs.from, "romeo@pronto/balcony"); // stamped by Prosody
      assert.deepEqual(await stream.close(), { clean: true });
    } finally {
      await prosody.stop();
    }
  },
});

Deno.test({
  name:
    "Prosody over TLS 1.2 offers SCRAM-SHA-1-PLUS bound only with tls-unique, without XEP-0440: our pinned initiator logs in unbound (flag n), and tls-server-end-point, forced, is refused",
  ignore: SKIP,
  async fn() {
    const prosody = await startProsody({ tlsProtocol: "tlsv1_2" });
    try {
      const options = {
        to: "pronto",
        hostname: "127.0.0.1",
        port: prosody.port,
        // node:tls, which sees the certificate: tls-server-end-point is ours.
        pinnedFingerprint256: await fingerprint256(pemToDer(prosody.certPem)),
      };
      const trace: string[] = [];
      const stream = await initiate({
        ...options,
        features: [
          sasl({
            client: { username: prosody.user, password: prosody.password },
          }),
        ],
        trace: (entry) => trace.push(entry.text),
      });
      const all = trace.join("");
      assert.match(all, /<mechanism>SCRAM-SHA-1-PLUS<\/mechanism>/);
      assert.doesNotMatch(all, /sasl-channel-binding/);
      assert.equal(stream.info.tls?.protocol, "TLSv1.2");
      assert.deepEqual(stream.info.sasl, {
        mechanism: "SCRAM-SHA-1",
        channelBinding: undefined,
      });
      const auth = /<auth [^>]*>([^<]*)<\/auth>/.exec(all)?.[1] ?? "";
      assert.match(atob(auth), /^n,,n=romeo,/);
      assert.deepEqual(await stream.close(), { clean: true });

      // What the library did before: bet on tls-server-end-point.
      const error = await initiate({
        ...options,
        features: [
          sasl({
            client: {
              username: prosody.user,
              password: prosody.password,
              channelBinding: "tls-server-end-point",
            },
          }),
        ],
      }).catch((e) => e);
      assert.ok(error instanceof NegotiationError, String(error));
      assert.ok(error.cause instanceof SaslError);
      assert.match(error.cause.text ?? "", /channel binding type/);
    } finally {
      await prosody.stop();
    }
  },
});
