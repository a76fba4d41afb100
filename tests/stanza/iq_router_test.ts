import assert from "node:assert/strict";
import { IqRouter } from "../../src/stanza/iq_router.ts";
import { iq, iqResult, message } from "../../src/stanza/stanza.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { xml } from "../../src/stanza/xml.ts";
import { pingIq } from "../../src/stanza/ping.ts";
import {
  DISCO_INFO_NS,
  discoInfoIq,
  parseDiscoInfo,
} from "../../src/stanza/service_discovery.ts";
import {
  parseSoftwareVersion,
  versionIq,
} from "../../src/stanza/software_version.ts";
import type { Element } from "../../src/xml/element.ts";

function request(type: "get" | "set", ns: string, name: string): Element {
  return iq({ type }, xml(name, { xmlns: ns }));
}

function conditionOf(reply: Element | undefined): string | undefined {
  assert.equal(reply?.attrs.type, "error");
  return StanzaError.fromElement(reply!).condition;
}

Deno.test("IqRouter routes by type, payload name and namespace, and nothing else", async () => {
  const router = new IqRouter<string>();
  const seen: string[] = [];
  router.handle("get", "urn:a", "q", (req, context) => {
    seen.push(`get a q ${context}`);
    return iqResult(req);
  });
  assert.equal(
    (await router.route(request("get", "urn:a", "q"), "ctx"))?.attrs.type,
    "result",
  );
  assert.deepEqual(seen, ["get a q ctx"]);
  for (
    const other of [
      request("set", "urn:a", "q"),
      request("get", "urn:b", "q"),
      request("get", "urn:a", "r"),
    ]
  ) {
    assert.equal(
      conditionOf(await router.route(other, "")),
      "service-unavailable",
    );
  }
  assert.equal(seen.length, 1);
});

Deno.test("IqRouter asks handlers of a key in order, then catch-alls, then the built-in answers", async () => {
  const router = new IqRouter();
  const order: string[] = [];
  router.handle("get", "urn:xmpp:ping", "ping", () => {
    order.push("first");
    return undefined;
  });
  router.handle("get", "urn:xmpp:ping", "ping", () => {
    order.push("second");
    return undefined;
  });
  router.onIq(() => {
    order.push("catch-all");
    return undefined;
  });
  const reply = await router.route(pingIq());
  assert.deepEqual(order, ["first", "second", "catch-all"]);
  assert.equal(reply?.attrs.type, "result", "the built-in ping answered last");
});

Deno.test("a routed ping handler replaces the built-in answer", async () => {
  const router = new IqRouter();
  router.handle(
    "get",
    "urn:xmpp:ping",
    "ping",
    () => new StanzaError("not-allowed"),
  );
  assert.equal(conditionOf(await router.route(pingIq())), "not-allowed");
});

Deno.test("IqRouter answers a ping by default and not when ping is off", async () => {
  const ping = pingIq();
  const reply = await new IqRouter().route(ping);
  assert.equal(reply?.attrs.type, "result");
  assert.equal(reply?.attrs.id, ping.attrs.id);
  assert.equal(reply?.elements().length, 0);
  assert.equal(
    conditionOf(await new IqRouter({ ping: false }).route(ping)),
    "service-unavailable",
  );
});

Deno.test("disco#info lists its own feature, the built-ins and every registered namespace, and forgets removed ones", async () => {
  const router = new IqRouter({
    disco: {
      identities: [{ category: "client", type: "bot", name: "Nurse" }],
      features: ["urn:xmpp:chat-states"],
    },
  });
  const remove = router.handle("set", "urn:example:b", "b", () => undefined);
  router.handle("get", "urn:example:a", "a", () => undefined);
  router.handle("get", "urn:example:a", "other", () => undefined);
  const info = parseDiscoInfo((await router.route(discoInfoIq()))!);
  assert.deepEqual(info.identities, [
    { category: "client", type: "bot", name: "Nurse" },
  ]);
  assert.deepEqual(info.features, [
    DISCO_INFO_NS,
    "urn:example:a",
    "urn:example:b",
    "urn:xmpp:chat-states",
    "urn:xmpp:ping",
  ]);
  remove();
  remove(); // twice does nothing
  assert.ok(!router.features.includes("urn:example:b"));
  assert.ok(router.features.includes("urn:example:a"));
});

Deno.test("disco#info about a node gets item-not-found, and disco off leaves it unanswered", async () => {
  const router = new IqRouter();
  assert.equal(
    conditionOf(await router.route(discoInfoIq(undefined, "urn:node"))),
    "item-not-found",
  );
  const off = new IqRouter({ disco: false });
  assert.equal(
    conditionOf(await off.route(discoInfoIq())),
    "service-unavailable",
  );
  assert.ok(!off.features.includes(DISCO_INFO_NS));
});

Deno.test("software version is answered only when given, and without an OS unless given", async () => {
  assert.equal(
    conditionOf(await new IqRouter().route(versionIq())),
    "service-unavailable",
  );
  const router = new IqRouter({
    softwareVersion: { name: "balcony", version: "2.1" },
  });
  const reply = await router.route(versionIq());
  assert.deepEqual(parseSoftwareVersion(reply!), {
    name: "balcony",
    version: "2.1",
  });
  assert.equal(reply!.getChild("query")?.getChild("os"), undefined);
  assert.ok(router.features.includes("jabber:iq:version"));
  const withOs = new IqRouter({
    softwareVersion: { name: "balcony", version: "2.1", os: "Verona" },
  });
  assert.equal(
    parseSoftwareVersion((await withOs.route(versionIq()))!).os,
    "Verona",
  );
});

Deno.test("a handler's answer may be a payload, a whole reply, or a StanzaError returned or thrown", async () => {
  const router = new IqRouter();
  router.handle(
    "get",
    "urn:x",
    "payload",
    () => xml("payload", { xmlns: "urn:x" }, "p"),
  );
  router.handle(
    "get",
    "urn:x",
    "whole",
    (req) => iqResult(req, xml("w", { xmlns: "urn:x" })),
  );
  router.handle(
    "get",
    "urn:x",
    "returned",
    () => new StanzaError("forbidden", { text: "No" }),
  );
  router.handle("get", "urn:x", "thrown", () => {
    throw new StanzaError("conflict");
  });
  router.handle("get", "urn:x", "crash", () => {
    throw new Error("boom");
  });
  const payload = await router.route(request("get", "urn:x", "payload"));
  assert.equal(payload?.attrs.type, "result");
  assert.equal(payload?.getChildText("payload", "urn:x"), "p");
  const whole = await router.route(request("get", "urn:x", "whole"));
  assert.equal(whole?.getChild("w", "urn:x")?.name, "w");
  const returned = await router.route(request("get", "urn:x", "returned"));
  assert.equal(conditionOf(returned), "forbidden");
  assert.equal(StanzaError.fromElement(returned!).text, "No");
  assert.equal(
    conditionOf(await router.route(request("get", "urn:x", "thrown"))),
    "conflict",
  );
  const crash = await router.route(request("get", "urn:x", "crash"));
  assert.equal(conditionOf(crash), "internal-server-error");
});

Deno.test("IqRouter answers no reply and no other stanza", async () => {
  const router = new IqRouter();
  router.onIq(() => {
    throw new Error("never asked");
  });
  const ping = pingIq();
  assert.equal(await router.route(iqResult(ping)), undefined);
  assert.equal(await router.route(message({ body: "hi" })), undefined);
  assert.equal(
    await router.route(
      xml(
        "iq",
        { xmlns: "jabber:client", type: "get" },
        xml("ping", { xmlns: "urn:xmpp:ping" }),
      ),
    ),
    undefined,
    "no id: nothing to answer",
  );
});

Deno.test("an inheriting router asks its own routes first, then the inherited ones, and lists both in disco#info", async () => {
  const parent = new IqRouter<string>({ ping: false, disco: false });
  const child = new IqRouter<string>({}, [parent]);
  const order: string[] = [];
  parent.handle("get", "urn:x", "q", (_req, context) => {
    order.push(`parent ${context}`);
    return xml("q", { xmlns: "urn:x" });
  });
  child.handle("get", "urn:x", "q", () => {
    order.push("child");
    return undefined;
  });
  parent.handle("set", "urn:parent-only", "p", () => undefined);
  parent.onIq(() => {
    order.push("parent catch-all");
    return undefined;
  });
  child.onIq(() => {
    order.push("child catch-all");
    return undefined;
  });
  assert.equal(
    (await child.route(request("get", "urn:x", "q"), "s1"))?.attrs.type,
    "result",
  );
  assert.deepEqual(order, ["child", "parent s1"]);
  order.length = 0;
  await child.route(request("get", "urn:none", "n"), "s1");
  assert.deepEqual(order, ["child catch-all", "parent catch-all"]);
  assert.ok(child.features.includes("urn:parent-only"));
});

Deno.test("IqRouter refuses a bad registration with a TypeError", () => {
  const router = new IqRouter();
  assert.throws(
    // @ts-expect-error: not a request type
    () => router.handle("result", "urn:x", "q", () => undefined),
    TypeError,
  );
  assert.throws(
    () => router.handle("get", "urn:x", "a:b", () => undefined),
    TypeError,
  );
  assert.throws(
    () => router.handle("get", "", "q", () => undefined),
    TypeError,
  );
  assert.throws(() => new IqRouter({ disco: { identities: [] } }), TypeError);
  assert.throws(
    () => new IqRouter({ softwareVersion: { name: "", version: "1" } }),
    TypeError,
  );
});

Deno.test("a payload named error in its own namespace is routed like any other", async () => {
  const router = new IqRouter();
  router.handle(
    "set",
    "urn:example:report",
    "error",
    () => xml("ok", { xmlns: "urn:example:report" }),
  );
  const reply = await router.route(
    request("set", "urn:example:report", "error"),
  );
  assert.equal(reply?.attrs.type, "result");
});
