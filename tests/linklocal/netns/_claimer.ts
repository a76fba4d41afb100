// A helper run in the other namespace: claims the instance name NAME on
// INTERFACE for another port, as a peer with the same name would: says so
// once unsolicited, then answers every probe or query for it. Tells
// `claiming`.

import {
  decodeMessage,
  type DnsRecord,
  encodeResponse,
} from "../../../src/linklocal/_dns.ts";
import {
  findInterfaces,
  MdnsSocket,
} from "../../../src/linklocal/_mdns_socket.ts";

const [name, iface] = Deno.args as [string, string];
const fqdn = `${name}._presence._tcp.local`;
const records: DnsRecord[] = [
  {
    name: fqdn,
    type: "SRV",
    ttl: 120,
    flush: true,
    data: { target: "impostor.local", port: 9999, priority: 0, weight: 0 },
  },
  { name: fqdn, type: "TXT", ttl: 4500, flush: true, data: [] },
];
const socket = await MdnsSocket.open(findInterfaces([iface]), (packet) => {
  const message = decodeMessage(packet.bytes);
  if (message === undefined || message.response) return;
  if (
    message.questions.some((q) => q.name.toLowerCase() === fqdn.toLowerCase())
  ) {
    void socket.send(encodeResponse(records));
  }
}, () => {});
await socket.send(encodeResponse(records));
console.log("claiming");
for await (const _ of Deno.stdin.readable) {
  // Runs until stdin closes.
}
socket.close();
