// iq routing between two of our endpoints: handlers by key on a stream and
// on a listener, the built-in answers (ping, disco#info, software version),
// and request() with a per-call deadline and an abort signal. No test
// installs an unhandledrejection handler: Deno's default (fail the test) is
// the check that nothing is left behind.

import { plainStreams } from "./_streams.ts";
import assert from "node:assert/strict";
import { type E2EStream, initiate, listen } from "../../src/e2e.ts";
import { StreamClosedError, TimeoutError } from "../../src/stream/errors.ts";
import { iq, iqResult } from "../../src/stanza/stanza.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { xml } from "../../src/stanza/xml.ts";
import { pingIq } from "../../src/stanza/ping.ts";
import { DISCO_INFO_NS } from "../../src/stanza/service_discovery.ts";
import type { E2EStreamSettings, StreamOptions } from "../../src/e2e.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";

/** Romeo (initiate()) and Juliet (an E2EStream) in plaintext, in memory. */
function streams(
  romeo: Partial<StreamOptions> = {},
  juliet: E2EStreamSettings = {},
) {
  return plainStreams({ romeo, juliet });
}

async function closeBoth(romeo: E2EStream, juliet: E2EStream) {
  const [r, j] = await Promise.all([romeo.close(), juliet.closed]);
  assert.deepEqual([r, j], [{ clean: true }, { clean: true }]);
}

const time = () =>
  iq({ type: "get" }, xml("time", { xmlns: "urn:example:time" }));

Deno.test("stream.handle() answers its key, passes the stream, and its disposer removes it", async () => {
  const { romeo, juliet } = await streams();
  let seen: E2EStream | undefined;
  const stop = juliet.handle(
    "get",
    "urn:example:time",
    "time",
    (_req, stream) => {
      seen = stream;
      return xml("time", { xmlns: "urn:example:time" }, "dawn");
    },
  );
  const reply = await romeo.request(time());
  assert.equal(reply.getChildText("time", "urn:example:time"), "dawn");
  assert.equal(seen, juliet);
  stop();
  await assert.rejects(
    romeo.request(time()),
    (e) => e instanceof StanzaError && e.condition === "service-unavailable",
  );
  await closeBoth(romeo, juliet);
});

Deno.test("one of our endpoints answers another's ping, disco#info and (opted in) software version", async () => {
  const { romeo, juliet } = await streams({}, {
    answers: {
      softwareVersion: { name: "balcony", version: "1.2" },
      disco: {
        identities: [{ category: "client", type: "bot", name: "Juliet" }],
      },
    },
  });
  juliet.handle("set", "urn:example:vow", "vow", () => undefined);
  const rtt = await romeo.ping();
  assert.ok(rtt >= 0 && Number.isFinite(rtt));
  const info = await romeo.discoInfo();
  assert.deepEqual(info.identities, [{
    category: "client",
    type: "bot",
    name: "Juliet",
  }]);
  assert.deepEqual(info.features, [
    DISCO_INFO_NS,
    "jabber:iq:version",
    "urn:example:vow",
    "urn:xmpp:ping",
  ]);
  assert.deepEqual(await romeo.softwareVersion(), {
    name: "balcony",
    version: "1.2",
  });
  // And the other way round: Romeo's defaults answer ping and disco, not version.
  assert.ok(await juliet.ping() >= 0);
  assert.deepEqual((await juliet.discoInfo()).identities, [{
    category: "client",
    type: "pc",
  }]);
  await assert.rejects(
    juliet.softwareVersion(),
    (e) => e instanceof StanzaError && e.condition === "service-unavailable",
  );
  await closeBoth(romeo, juliet);
});

Deno.test("initiate() options turn the built-in answers off or on", async () => {
  const { romeo, juliet } = await streams({
    ping: false,
    disco: false,
    softwareVersion: { name: "forza", version: "3", os: "Mantua" },
  });
  for (const ask of [() => juliet.ping(), () => juliet.discoInfo()]) {
    await assert.rejects(
      ask(),
      (e) => e instanceof StanzaError && e.condition === "service-unavailable",
    );
  }
  assert.deepEqual(await juliet.softwareVersion(), {
    name: "forza",
    version: "3",
    os: "Mantua",
  });
  await closeBoth(romeo, juliet);
});

Deno.test("onIq() catch-alls still answer, after routed handlers, and their disposer removes them", async () => {
  const { romeo, juliet } = await streams();
  const order: string[] = [];
  juliet.handle("get", "urn:example:time", "time", () => {
    order.push("routed");
    return undefined;
  });
  const stop = juliet.onIq((req) => {
    order.push("catch-all");
    return iqResult(req);
  });
  assert.equal((await romeo.request(time())).attrs.type, "result");
  assert.deepEqual(order, ["routed", "catch-all"]);
  stop();
  await assert.rejects(romeo.request(time()), StanzaError);
  await closeBoth(romeo, juliet);
});

Deno.test("a handler that throws gets internal-server-error; one that returns a StanzaError sends it", async () => {
  const { romeo, juliet } = await streams();
  juliet.handle("get", "urn:example:time", "time", () => {
    throw new Error("clock broke");
  });
  juliet.handle(
    "set",
    "urn:example:vow",
    "vow",
    () => new StanzaError("not-acceptable", { text: "Swear not by the moon" }),
  );
  await assert.rejects(
    romeo.request(time()),
    (e) => e instanceof StanzaError && e.condition === "internal-server-error",
  );
  await assert.rejects(
    romeo.request(
      iq({ type: "set" }, xml("vow", { xmlns: "urn:example:vow" })),
    ),
    (e) =>
      e instanceof StanzaError && e.condition === "not-acceptable" &&
      e.text === "Swear not by the moon" && e.type === "modify",
  );
  await closeBoth(romeo, juliet);
});

Deno.test("request() with a per-call timeoutMs rejects with a TimeoutError and leaves no timer", async () => {
  const { romeo, juliet } = await streams({ iqTimeoutMs: 60_000 });
  juliet.handle("get", "urn:example:time", "time", () => new Promise(() => {}));
  const start = performance.now();
  await assert.rejects(romeo.request(time(), { timeoutMs: 30 }), TimeoutError);
  assert.ok(performance.now() - start < 30_000);
  await closeBoth(romeo, juliet);
});

Deno.test("request() aborted by its signal rejects with the signal's AbortError, and a late reply is dropped", async () => {
  const { romeo, juliet } = await streams();
  let answer: (() => void) | undefined;
  juliet.handle(
    "get",
    "urn:example:time",
    "time",
    (req) => new Promise((resolve) => answer = () => resolve(iqResult(req))),
  );
  const controller = new AbortController();
  const pending = romeo.request(time(), { signal: controller.signal });
  await new Promise((r) => setTimeout(r, 10));
  controller.abort();
  await assert.rejects(
    pending,
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
  // The reply that comes after is no one's: it reaches stanzas$, nothing fails.
  answer?.();
  assert.ok(await romeo.ping() >= 0);
  await closeBoth(romeo, juliet);
});

Deno.test("request() with a signal aborted already, or a bad timeout, sends nothing", async () => {
  const { romeo, juliet } = await streams();
  let asked = 0;
  juliet.onIq((req) => {
    if (req.getChild("time", "urn:example:time")) asked++;
    return undefined;
  });
  await assert.rejects(
    romeo.request(time(), { signal: AbortSignal.abort() }),
    (e) => e instanceof DOMException && e.name === "AbortError",
  );
  await assert.rejects(romeo.request(time(), { timeoutMs: -1 }), RangeError);
  await assert.rejects(
    romeo.request(time(), { timeoutMs: 2 ** 31 }),
    RangeError,
  );
  await romeo.ping(); // ordered after anything sent before it
  assert.equal(asked, 0);
  await closeBoth(romeo, juliet);
});

Deno.test("AbortSignal.timeout() gives up with its TimeoutError DOMException", async () => {
  const { romeo, juliet } = await streams();
  juliet.handle("get", "urn:example:time", "time", () => new Promise(() => {}));
  await assert.rejects(
    romeo.request(time(), { signal: AbortSignal.timeout(20) }),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
  await closeBoth(romeo, juliet);
});

Deno.test("ping() of a closed stream rejects with a StreamClosedError", async () => {
  const { romeo, juliet } = await streams();
  await closeBoth(romeo, juliet);
  await assert.rejects(romeo.ping(), StreamClosedError);
});

const certificate = await generateCertificate({ names: ["pronto"] });

Deno.test("listener.handle() answers on every stream it accepts over TLS, already accepted ones included, until removed", async () => {
  const listener = await listen({
    from: "juliet@pronto",
    certificate: { cert: certificate.certPem, key: certificate.keyPem },
    softwareVersion: { name: "balcony", version: "9" },
  });
  const dial = async (from: string) => {
    const accepted = listener.accept();
    const romeo = await initiate({
      from,
      to: "juliet@pronto",
      hostname: "127.0.0.1",
      port: listener.addr.port,
      caCerts: [certificate.certPem],
    });
    return { romeo, juliet: (await accepted)! };
  };
  const first = await dial("romeo@forza");
  assert.ok(first.romeo.info.tls && first.juliet.info.tls);
  const stop = listener.handle(
    "get",
    "urn:example:time",
    "time",
    (_req, stream) =>
      xml(
        "time",
        { xmlns: "urn:example:time" },
        String(stream.info.peerAddress),
      ),
  );
  const second = await dial("mercutio@forza");
  // A stream's own handler for the key comes before the listener's.
  second.juliet.handle(
    "get",
    "urn:example:time",
    "time",
    () => xml("time", { xmlns: "urn:example:time" }, "own"),
  );
  const text = async (romeo: E2EStream) =>
    (await romeo.request(time())).getChildText("time", "urn:example:time");
  assert.equal(await text(first.romeo), "romeo@forza");
  assert.equal(await text(second.romeo), "own");
  assert.ok(
    (await first.romeo.discoInfo()).features.includes("urn:example:time"),
  );
  assert.deepEqual(await first.romeo.softwareVersion(), {
    name: "balcony",
    version: "9",
  });
  assert.ok(await first.romeo.ping() >= 0);
  stop();
  await assert.rejects(first.romeo.request(time()), StanzaError);
  assert.ok(
    !(await first.romeo.discoInfo()).features.includes("urn:example:time"),
  );
  for (const { romeo, juliet } of [first, second]) {
    await closeBoth(romeo, juliet);
  }
  await listener.close();
});

Deno.test("a ping is still held by maxIqHandlers: a catch-all that never answers occupies its place", async () => {
  const { romeo, juliet } = await streams({ iqTimeoutMs: 100 }, {
    maxIqHandlers: 1,
  });
  juliet.onIq(() => new Promise(() => {}));
  await assert.rejects(romeo.request(pingIq()), TimeoutError);
  // Juliet reads nothing while her one handler runs: end it from her side.
  const ended = await juliet.error("reset");
  assert.equal(ended.clean, false);
  assert.equal((await romeo.closed).clean, false);
});
