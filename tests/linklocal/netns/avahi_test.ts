import assert from "node:assert/strict";
import { browse } from "../../../src/linklocal/browse.ts";
import type { PeerEvent } from "../../../src/linklocal/peer.ts";
import { advertise } from "../../../src/linklocal/advertise.ts";
import { A, AVAHI_BUS, B, Remote, runIn, skipUnlessNetns } from "./_netns.ts";
import { Events } from "./_events.ts";

const ignore = skipUnlessNetns("tests/linklocal/netns/avahi_test.ts");

function avahiPublish(name: string, port: number, txt: string[]): Remote {
  return new Remote(
    B,
    ["avahi-publish", "-s", name, "_presence._tcp", String(port), ...txt],
    { DBUS_SYSTEM_BUS_ADDRESS: AVAHI_BUS },
    true,
  );
}

/** avahi-browse's resolved lines for `_presence._tcp`, by instance name. */
async function avahiBrowse(): Promise<Map<string, string[]>> {
  const out = await runIn(B, ["avahi-browse", "-rpt", "_presence._tcp"]);
  const found = new Map<string, string[]>();
  for (const line of out.split("\n")) {
    const fields = line.split(";");
    if (fields[0] !== "=") continue;
    const name = fields[3]!.replace(
      /\\(\d{3})/g,
      (_, d) => String.fromCharCode(Number(d)),
    );
    found.set(name + " " + fields[2], fields);
  }
  return found;
}

Deno.test({
  name: "browse() finds a service avahi-publish publishes, with its TXT record",
  ignore,
  async fn() {
    const events = new Events(browse({ interfaces: [A] }));
    const start = performance.now();
    const publisher = avahiPublish("juliet@pronto", 5562, [
      "txtvers=1",
      "status=dnd",
      "msg=On the balcony",
    ]);
    try {
      const appeared = await events.next((e) =>
        e.type === "appeared" && e.peer.name === "juliet@pronto"
      );
      console.log(
        `avahi-publish started to seen: ${Math.round(appeared.at - start)} ms`,
      );
      // avahi answers each address in its own packet: the peer may appear
      // with one and change as the other comes.
      const both = (e: PeerEvent) =>
        e.peer.addresses.some((a) => a.family === "IPv4") &&
        e.peer.addresses.some((a) => a.family === "IPv6");
      const event = both(appeared.event) ? appeared.event : (await events.next(
        (e) =>
          e.type === "changed" && e.peer.name === "juliet@pronto" && both(e),
      )).event;
      assert.equal(event.peer.port, 5562);
      assert.deepEqual(event.peer.txt, {
        txtvers: "1",
        status: "dnd",
        msg: "On the balcony",
      });
      const hosts = event.peer.addresses.map((a) => a.hostname);
      assert.ok(hosts.includes("169.254.77.2"), `${hosts}`);
      assert.ok(hosts.includes(`fe80::b%${A}`), `${hosts}`);
      await publisher.stop();
      const gone = await events.next((e) =>
        e.type === "gone" && e.peer.name === "juliet@pronto"
      );
      assert.equal(gone.event.peer.port, 5562);
    } finally {
      await publisher.stop();
      events.stop();
    }
  },
});

Deno.test({
  name: "advertise() is seen by avahi-browse with its TXT record",
  ignore,
  async fn() {
    const ad = await advertise({
      name: "romeo@forza",
      port: 5562,
      interfaces: [A],
      presence: { status: "away", msg: "Under the window", nick: "Romeo" },
    });
    try {
      assert.equal(ad.name, "romeo@forza");
      const seen = await avahiBrowse();
      const fields = seen.get("romeo@forza IPv4");
      assert.ok(fields, `avahi-browse saw ${JSON.stringify([...seen])}`);
      assert.equal(fields[6], "forza.local");
      assert.equal(fields[7], "169.254.77.1");
      assert.equal(fields[8], "5562");
      const txt = fields.slice(9).join(";");
      for (
        const pair of [
          "txtvers=1",
          "port.p2pj=5562",
          "status=away",
          "msg=Under the window",
          "nick=Romeo",
        ]
      ) {
        assert.ok(txt.includes(`"${pair}"`), `${pair} in ${txt}`);
      }
    } finally {
      await ad.close();
    }
  },
});

Deno.test({
  name: "advertise() renames the instance when avahi already holds its name",
  ignore,
  async fn() {
    const publisher = avahiPublish("romeo@forza", 5999, ["txtvers=1"]);
    try {
      await publisher.line((l) => l.includes("Established under name"));
      const start = performance.now();
      const ad = await advertise({
        name: "romeo@forza",
        port: 5562,
        interfaces: [A],
      });
      try {
        console.log(
          `conflict resolved (probed, renamed, announced) in ${
            Math.round(performance.now() - start)
          } ms`,
        );
        assert.equal(ad.name, "romeo-1@forza");
        const seen = await avahiBrowse();
        assert.equal(seen.get("romeo@forza IPv4")?.[8], "5999");
        assert.equal(seen.get("romeo-1@forza IPv4")?.[8], "5562");
      } finally {
        await ad.close();
      }
    } finally {
      await publisher.stop();
    }
  },
});
