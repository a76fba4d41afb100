/**
 * Proves scripts/interop/openssl_client.ts: `openssl s_client -starttls xmpp`
 * against a minimal in-test recipient (node:net, upgraded with node:tls's
 * `TLSSocket` after `<proceed/>`), and against a real Prosody.
 *
 * `XMPP_E2E_SKIP_INTEROP=1` skips them (see _skip.ts).
 */

import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket } from "node:tls";
import { makeLeafCert } from "../../scripts/interop/cert.ts";
import { runOpensslStartTls } from "../../scripts/interop/openssl_client.ts";
import { startProsody } from "../../scripts/interop/prosody.ts";
import type { Element } from "../../src/xml/element.ts";
import { XmlParser } from "../../src/xml/parser.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("openssl_smoke_test");

const STREAMS = "http://etherx.jabber.org/streams";
const TLS = "urn:ietf:params:xml:ns:xmpp-tls";

/** What the recipient saw of one connection. */
interface Seen {
  header: Element | undefined;
  starttls: boolean;
  secure: boolean;
  protocol: string | null;
  error: unknown;
}

/**
 * A one-connection recipient: answers the header with STARTTLS features,
 * `<starttls/>` with `<proceed/>`, then upgrades the paused socket.
 */
function recipient(key: string, cert: string) {
  const seen: Seen = {
    header: undefined,
    starttls: false,
    secure: false,
    protocol: null,
    error: undefined,
  };
  const sockets = new Set<Socket>();
  let done!: () => void;
  const closed = new Promise<void>((resolve) => done = resolve);

  const server: Server = createServer((sock) => {
    sockets.add(sock);
    const upgrade = () => {
      sock.removeListener("data", onData);
      sock.pause();
      sock.write(`<proceed xmlns='${TLS}'/>`, () => {
        const tls = new TLSSocket(sock, { isServer: true, key, cert });
        sockets.add(tls);
        tls.on("secure", () => {
          seen.secure = true;
          seen.protocol = tls.getProtocol();
        });
        tls.on("error", (error) => seen.error ??= error);
        tls.on("data", () => {}); // s_client sends nothing; keep it flowing
        tls.on("end", () => tls.end());
        tls.on("close", done);
      });
    };
    const parser = new XmlParser({
      open(element) {
        seen.header = element;
        sock.write(
          "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
            `xmlns:stream='${STREAMS}' from='pronto' id='s1' version='1.0'>` +
            `<stream:features><starttls xmlns='${TLS}'><required/></starttls>` +
            "</stream:features>",
        );
      },
      start() {},
      text() {},
      end(element, depth) {
        if (depth === 1 && element.is("starttls", TLS)) {
          seen.starttls = true;
          upgrade();
        }
      },
      close() {},
    }, { tree: true });
    const onData = (chunk: Uint8Array) => {
      try {
        parser.write(chunk);
      } catch (error) {
        seen.error ??= error;
        sock.destroy();
      }
    };
    sock.on("data", onData);
    sock.on("error", (error) => seen.error ??= error);
    sock.on("close", () => {
      if (!seen.starttls) done();
    });
  });

  const listening = new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        reject(new Error("no port"));
      } else resolve(address.port);
    });
  });
  const stop = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { seen, listening, closed, stop };
}

Deno.test({
  name:
    "openssl s_client -starttls xmpp completes TLS with a node:tls recipient",
  ignore: SKIP,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "xmpp-e2e-openssl-" });
    try {
      const cert = await makeLeafCert(dir, "pronto");
      const r = recipient(cert.keyPem, cert.certPem);
      try {
        const port = await r.listening;
        const result = await runOpensslStartTls(port, "pronto", {
          caFile: cert.certFile,
        });
        await r.closed;
        const output = `${result.stdout}\n${result.stderr}`;
        console.log(result.stderr.trim());
        assert.equal(r.seen.error, undefined);
        assert.equal(result.timedOut, false, output);
        assert.equal(result.code, 0, output);
        assert.equal(r.seen.header?.attrs.to, "pronto");
        assert.ok(r.seen.starttls, "the recipient got <starttls/>");
        assert.ok(r.seen.secure, "the recipient finished the handshake");
        assert.match(output, /CONNECTION ESTABLISHED/);
        assert.match(output, /Protocol version: TLSv1\.3/);
        assert.match(output, /Verification: OK/);
        assert.match(output, /Verified peername: pronto/);
        assert.equal(r.seen.protocol, "TLSv1.3");
      } finally {
        await r.stop();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "runOpensslStartTls() reports a recipient that never proceeds",
  ignore: SKIP,
  async fn() {
    // Features with STARTTLS, then silence: s_client waits for <proceed/>.
    const sockets = new Set<Socket>();
    const server = createServer((sock) => {
      sockets.add(sock);
      sock.on("error", () => {});
      sock.once("data", () =>
        sock.write(
          "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
            `xmlns:stream='${STREAMS}' from='pronto' id='s1' version='1.0'>` +
            `<stream:features><starttls xmlns='${TLS}'/></stream:features>`,
        ));
    });
    try {
      const port = await new Promise<number>((resolve) =>
        server.listen(0, "127.0.0.1", () => {
          const address = server.address();
          resolve(typeof address === "object" && address ? address.port : 0);
        })
      );
      const result = await runOpensslStartTls(port, "pronto", {
        timeoutMs: 1_500,
      });
      assert.equal(result.timedOut, true);
      assert.notEqual(result.code, 0);
      assert.doesNotMatch(result.stderr, /CONNECTION ESTABLISHED/);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  },
});

Deno.test({
  name: "openssl s_client -starttls xmpp completes TLS with Prosody",
  ignore: SKIP,
  async fn() {
    const prosody = await startProsody();
    try {
      const result = await runOpensslStartTls(prosody.port, prosody.host, {
        caFile: prosody.certFile,
      });
      const output = `${result.stdout}\n${result.stderr}`;
      assert.equal(result.timedOut, false, output);
      assert.equal(result.code, 0, output);
      assert.match(output, /Protocol version: TLSv1\.3/);
      assert.match(output, /Verification: OK/);
    } finally {
      await prosody.stop();
    }
  },
});
