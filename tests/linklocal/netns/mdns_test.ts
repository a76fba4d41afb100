import assert from "node:assert/strict";
import { browse } from "../../../src/linklocal/browse.ts";
import {
  decodeMessage,
  type DnsMessage,
  type DnsRecord,
  encodeResponse,
} from "../../../src/linklocal/_dns.ts";
import {
  findInterfaces,
  MdnsSocket,
} from "../../../src/linklocal/_mdns_socket.ts";
import { A, B, Remote, skipUnlessNetns } from "./_netns.ts";
import { Events } from "./_events.ts";

const ignore = skipUnlessNetns("tests/linklocal/netns/mdns_test.ts");

Deno.test({
  name:
    "browse() sees our advertiser appear, change its TXT record and say goodbye",
  ignore,
  async fn() {
    const events = new Events(browse({ interfaces: [A] }));
    const start = performance.now();
    const remote = Remote.deno(B, "_advertiser.ts", [
      "juliet@pronto",
      B,
      "5562",
    ]);
    try {
      const appeared = await events.next((e) =>
        e.type === "appeared" && e.peer.name === "juliet@pronto"
      );
      const told = await remote.line((l) => l.startsWith("advertised "));
      console.log(
        `published to seen: ${Math.round(appeared.at - start)} ms ` +
          `(process start included; probing and announcing took ${
            told.split(" ")[2]
          } ms)`,
      );
      assert.deepEqual(appeared.event.peer.txt, {
        txtvers: "1",
        "port.p2pj": "5562",
        status: "avail",
        msg: "Wherefore art thou",
      });
      assert.equal(appeared.event.peer.host, "pronto.local");
      assert.deepEqual(
        appeared.event.peer.addresses.map((a) => a.hostname).sort(),
        ["169.254.77.2", `fe80::b%${A}`],
      );
      const asked = performance.now();
      await remote.tell("update away On the balcony");
      const changed = await events.next((e) =>
        e.type === "changed" && e.peer.txt.status === "away"
      );
      console.log(`TXT update to seen: ${Math.round(changed.at - asked)} ms`);
      assert.equal(changed.event.peer.txt.msg, "On the balcony");
      const leaving = performance.now();
      await remote.tell("close");
      await remote.line((l) => l === "closed");
      const gone = await events.next((e) =>
        e.type === "gone" && e.peer.name === "juliet@pronto"
      );
      console.log(`goodbye to gone: ${Math.round(gone.at - leaving)} ms`);
    } finally {
      await remote.stop();
      events.stop();
    }
  },
});

/** A raw mDNS socket on our side: what the browser sends, and records. */
async function rawSocket(): Promise<
  { socket: MdnsSocket; queries: { at: number; message: DnsMessage }[] }
> {
  const queries: { at: number; message: DnsMessage }[] = [];
  const socket = await MdnsSocket.open(findInterfaces([A]), (packet) => {
    const message = decodeMessage(packet.bytes);
    // Each query goes out over IPv4 and IPv6: count it once.
    if (
      message !== undefined && !message.response && packet.family === "IPv4"
    ) {
      queries.push({ at: performance.now(), message });
    }
  }, () => {});
  return { socket, queries };
}

function records(ttl: number, port = 5562): DnsRecord[] {
  const fqdn = "mercutio@verona._presence._tcp.local";
  return [
    {
      name: "_presence._tcp.local",
      type: "PTR",
      ttl,
      flush: false,
      data: fqdn,
    },
    {
      name: fqdn,
      type: "SRV",
      ttl,
      flush: true,
      data: { target: "verona.local", port, priority: 0, weight: 0 },
    },
    {
      name: fqdn,
      type: "TXT",
      ttl,
      flush: true,
      data: [new TextEncoder().encode("txtvers=1")],
    },
    { name: "verona.local", type: "A", ttl, flush: true, data: "169.254.77.1" },
  ];
}

Deno.test({
  name:
    "browse() asks again for records about to expire, and forgets a peer whose records expired",
  ignore,
  async fn() {
    const { socket, queries } = await rawSocket();
    const events = new Events(browse({ interfaces: [A] }));
    try {
      await new Promise((r) => setTimeout(r, 200));
      await socket.send(encodeResponse(records(3)));
      const appeared = await events.next((e) =>
        e.type === "appeared" && e.peer.name === "mercutio@verona"
      );
      const gone = await events.next((e) =>
        e.type === "gone" && e.peer.name === "mercutio@verona"
      );
      const lived = gone.at - appeared.at;
      assert.ok(lived > 2500 && lived < 4500, `expired after ${lived} ms`);
      const refreshes = queries.filter((q) =>
        q.at > appeared.at &&
        q.message.questions.some((question) =>
          question.name === "mercutio@verona._presence._tcp.local" &&
          question.type === "SRV"
        )
      );
      // 80, 85, 90 and 95 % of the TTL.
      assert.ok(refreshes.length >= 4, `${refreshes.length} refresh queries`);
      assert.ok(refreshes[0]!.at - appeared.at > 2000);
    } finally {
      events.stop();
      socket.close();
    }
  },
});

Deno.test({
  name: "browse() backs off its queries and lists the answers it already knows",
  ignore,
  async fn() {
    const { socket, queries } = await rawSocket();
    const events = new Events(browse({ interfaces: [A] }));
    try {
      await events.next(() => false, 300).catch(() => {});
      await socket.send(encodeResponse(records(4500)));
      await events.next((e) => e.type === "appeared");
      await new Promise((r) => setTimeout(r, 7500));
      const ptr = queries.filter((q) =>
        q.message.questions.some((question) =>
          question.name === "_presence._tcp.local" && question.type === "PTR"
        )
      );
      assert.ok(ptr.length >= 4, `${ptr.length} PTR queries`);
      const gaps = ptr.slice(1).map((q, i) => q.at - ptr[i]!.at);
      assert.ok(gaps[0]! > 900, `first gap ${gaps[0]} ms`);
      for (let i = 1; i < gaps.length; i++) {
        assert.ok(gaps[i]! > gaps[i - 1]! * 1.8, `gaps ${gaps.join(", ")}`);
      }
      const last = ptr.at(-1)!.message;
      const known = [...last.records].find((r) => r.type === "PTR");
      assert.equal(known?.data, "mercutio@verona._presence._tcp.local");
      assert.ok(known!.ttl > 4400 && known!.ttl <= 4500, `ttl ${known!.ttl}`);
    } finally {
      events.stop();
      socket.close();
    }
  },
});

Deno.test({
  name:
    "browse() keeps no more peers than maxPeers, however many are announced",
  ignore,
  async fn() {
    const { socket } = await rawSocket();
    const events = new Events(browse({ interfaces: [A], maxPeers: 3 }));
    try {
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 20; i++) {
        const fqdn = `flood-${i}@verona._presence._tcp.local`;
        await socket.send(encodeResponse([
          {
            name: "_presence._tcp.local",
            type: "PTR",
            ttl: 120,
            flush: false,
            data: fqdn,
          },
          {
            name: fqdn,
            type: "SRV",
            ttl: 120,
            flush: true,
            data: {
              target: "verona.local",
              port: 1000 + i,
              priority: 0,
              weight: 0,
            },
          },
          { name: fqdn, type: "TXT", ttl: 120, flush: true, data: [] },
          {
            name: "verona.local",
            type: "A",
            ttl: 120,
            flush: true,
            data: "169.254.77.1",
          },
        ]));
      }
      await new Promise((r) => setTimeout(r, 1000));
      const names = new Set(events.all.map((e) => e.event.peer.name));
      assert.equal(names.size, 3, [...names].join(", "));
    } finally {
      events.stop();
      socket.close();
    }
  },
});

Deno.test({
  name: "browse() drops malformed packets and goes on finding peers",
  ignore,
  async fn() {
    const { socket } = await rawSocket();
    const events = new Events(browse({ interfaces: [A] }));
    try {
      await new Promise((r) => setTimeout(r, 200));
      let seed = 7;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
      const whole = encodeResponse(records(120));
      for (let i = 0; i < 200; i++) {
        const bytes = i % 2 === 0
          ? Uint8Array.from({ length: 12 + (i % 60) }, random)
          : whole.map((b, j) => (j > 12 && j % 7 === i % 7 ? random() : b));
        await socket.send(bytes);
      }
      await socket.send(whole);
      const { event } = await events.next((e) =>
        e.type !== "gone" && e.peer.name === "mercutio@verona" &&
        e.peer.port === 5562
      );
      assert.deepEqual(event.peer.txt, { txtvers: "1" });
    } finally {
      events.stop();
      socket.close();
    }
  },
});
