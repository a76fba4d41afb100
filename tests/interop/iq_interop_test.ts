/**
 * iq requests without `to` against Prosody: a client's roster get and ping
 * go to its own server, which answers for the account (RFC 6120 sections
 * 8.1.2.1 and 10.3.3). `request()` must take those replies, and none may
 * reach `stanzas$`.
 *
 * Run with `deno task test:interop` (installs and starts Prosody itself).
 */

import assert from "node:assert/strict";
import { filter, firstValueFrom } from "rxjs";
import { initiate } from "../../src/e2e.ts";
import { bind } from "../../src/negotiation/bind.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import { iq, message, presence } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import type { Element } from "../../src/xml/element.ts";
import { startProsody } from "../../scripts/interop/prosody.ts";
import { skipInterop } from "./_skip.ts";

const SKIP = skipInterop("iq_interop_test");

Deno.test({
  name:
    "A roster get and a ping without to, or to our bare JID, answered by Prosody for the account, resolve request() and reach no stanzas$",
  ignore: SKIP,
  async fn() {
    const prosody = await startProsody();
    try {
      const trace: string[] = [];
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
        iqTimeoutMs: 5_000,
        trace: (entry) => trace.push(`${entry.direction}: ${entry.text}`),
      });
      assert.equal(stream.info.identity, "romeo@pronto/balcony");
      const seen: Element[] = [];
      stream.stanzas$.subscribe((stanza) => seen.push(stanza));

      const roster = await stream.request(
        iq({ type: "get" }, xml("query", { xmlns: "jabber:iq:roster" })),
      );
      assert.equal(roster.attrs.type, "result");
      assert.ok(roster.getChild("query", "jabber:iq:roster"));

      const pong = await stream.request(
        iq({ type: "get" }, xml("ping", { xmlns: "urn:xmpp:ping" })),
      );
      assert.equal(pong.attrs.type, "result");

      // Addressed to our own bare JID, Prosody drops the `to` and answers
      // for the account without `from`, as RFC 6120 8.1.2.1 allows.
      const addressed = await stream.request(
        iq(
          { type: "get", to: "romeo@pronto" },
          xml("query", { xmlns: "jabber:iq:roster" }),
        ),
      );
      assert.equal(addressed.attrs.type, "result");
      assert.ok(addressed.getChild("query", "jabber:iq:roster"));

      // Prosody handles our stanzas in order: once a message to ourselves
      // comes back, any reply sent before it would have been delivered.
      const echoed = firstValueFrom(
        stream.stanzas$.pipe(filter((s) => s.name === "message")),
      );
      await stream.send(presence({}));
      await stream.send(
        message({ to: "romeo@pronto", type: "chat", body: "barrier" }),
      );
      await echoed;
      assert.deepEqual(
        seen.filter((s) => s.name === "iq").map((s) => s.attrs),
        [],
        trace.join("\n"),
      );
      assert.deepEqual(await stream.close(), { clean: true });
    } finally {
      await prosody.stop();
    }
  },
});
