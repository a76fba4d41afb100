/**
 * Smoke test of the interop harness against a real Prosody, with raw Deno
 * primitives only (no engine): stream header, required STARTTLS, TLS with
 * `Deno.startTls`, the restarted stream's SASL features, and the close.
 *
 * Installs and starts Prosody itself (scripts/interop/prosody.ts); set
 * `XMPP_E2E_SKIP_INTEROP=1` to skip it (it is also ignored, with a message,
 * when run without the permissions it needs: see _skip.ts).
 */

import assert from "node:assert/strict";
import { startProsody } from "../../scripts/interop/prosody.ts";
import { FrameReader, send } from "./_frames.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("prosody_smoke_test");

const STREAMS = "http://etherx.jabber.org/streams";
const TLS = "urn:ietf:params:xml:ns:xmpp-tls";
const SASL = "urn:ietf:params:xml:ns:xmpp-sasl";

function header(to: string): string {
  return "<?xml version='1.0'?><stream:stream xmlns='jabber:client' " +
    `xmlns:stream='${STREAMS}' to='${to}' version='1.0'>`;
}

Deno.test({
  name: "Prosody: header, required STARTTLS, TLS restart, SASL features, close",
  ignore: SKIP,
  async fn() {
    const prosody = await startProsody();
    let conn: Deno.Conn | undefined;
    try {
      const tcp = await Deno.connect({
        hostname: "127.0.0.1",
        port: prosody.port,
      });
      conn = tcp;

      // Plain stream: header and features with required STARTTLS.
      let reader = new FrameReader(tcp);
      await send(tcp, header(prosody.host));
      const root = await reader.header();
      assert.ok(root.is("stream", STREAMS), `header: ${reader.received}`);
      assert.equal(root.attrs.from, prosody.host);
      assert.ok(root.attrs.id, "the header has an id");
      assert.equal(root.attrs.version, "1.0");
      assert.equal(root.declarations?.[""], "jabber:client");

      const features = await reader.element();
      assert.ok(features.is("features", STREAMS), reader.received);
      const starttls = features.getChild("starttls", TLS);
      assert.ok(starttls, `no <starttls/> in ${reader.received}`);
      assert.ok(starttls.getChild("required", TLS), "STARTTLS is required");
      assert.equal(
        features.getChild("mechanisms", SASL),
        undefined,
        "no SASL before TLS (c2s_require_encryption)",
      );
      console.log(
        "pre-TLS features:",
        features.elements().map((e) => `${e.name} ${e.ns}`).join(", "),
      );

      await send(tcp, `<starttls xmlns='${TLS}'/>`);
      const proceed = await reader.element();
      assert.ok(proceed.is("proceed", TLS), reader.received);

      // No read is pending now: upgrade.
      const tls = await Deno.startTls(tcp, {
        hostname: prosody.host,
        caCerts: [prosody.certPem],
      });
      conn = tls;
      await tls.handshake();

      // Restarted stream over TLS: new header, SASL mechanisms.
      reader = new FrameReader(tls);
      await send(tls, header(prosody.host));
      const root2 = await reader.header();
      assert.equal(root2.attrs.from, prosody.host);
      assert.ok(root2.attrs.id, "the new header has an id");
      assert.notEqual(root2.attrs.id, root.attrs.id, "a new stream id");
      assert.equal(root2.attrs.version, "1.0");

      const features2 = await reader.element();
      assert.ok(features2.is("features", STREAMS), reader.received);
      assert.equal(features2.getChild("starttls", TLS), undefined);
      const mechanisms = features2.getChild("mechanisms", SASL)
        ?.getChildren("mechanism", SASL).map((m) => m.text()) ?? [];
      console.log(
        "post-TLS features:",
        features2.elements().map((e) => `${e.name} ${e.ns}`).join(", "),
      );
      console.log("SASL mechanisms:", mechanisms.join(" "));
      assert.ok(mechanisms.includes("SCRAM-SHA-1"), `got ${mechanisms}`);
      assert.ok(mechanisms.includes("PLAIN"), `got ${mechanisms}`);

      // Close: ours, then Prosody's.
      await send(tls, "</stream:stream>");
      const close = await reader.next();
      assert.equal(close.type, "close", reader.received);
    } catch (error) {
      console.error(`Prosody log:\n${await prosody.log()}`);
      throw error;
    } finally {
      try {
        conn?.close();
      } catch {
        // Closed by a failed upgrade.
      }
      await prosody.stop();
    }
  },
});
