// A helper run in the other namespace: a LinkLocal endpoint NAME on
// INTERFACE keeping its certificate and known peers in DIR. Tells
// `started <name> <fingerprint> <port>`, `peer <name>` when one appears,
// `stream <peer> <direction>`, `got <from> <body>` for each message (and
// answers `echo: <body>` to bodies starting with "ping"), `ended <peer>
// <clean>`, `failed <error name>`. Obeys `connect <peer>`, `fresh <peer>`
// (a second stream, past the one-stream rule), `send <peer> <body>`,
// `close`.

import { LinkLocal } from "../../../src/linklocal/link_local.ts";
import { message } from "../../../src/stanza/stanza.ts";
import { TextLineStream } from "./_netns.ts";
import { loadIdentity } from "../../../src/linklocal/identity.ts";
import { connectTcpNode } from "../../../src/transport/node_tcp.ts";
import { initiate } from "../../../src/endpoint/initiate.ts";
import type { E2EStream } from "../../../src/endpoint/e2e_stream.ts";

const [name, iface, dir] = Deno.args as [string, string, string];
const me = await LinkLocal.start({ name, dir, interfaces: [iface] });
console.log(`started ${me.name} ${me.fingerprint256} ${me.port}`);
me.peers$.subscribe((e) => {
  if (e.type === "appeared") console.log(`peer ${e.peer.name}`);
});
me.failures$.subscribe(({ error }) => console.log(`failed ${error.name}`));
me.streams$.subscribe(({ peer, direction, stream }) => {
  console.log(`stream ${peer} ${direction}`);
  stream.stanzas$.subscribe({
    error: () => {},
    next: (stanza) => {
      const body = stanza.getChildText("body") ?? "";
      console.log(`got ${peer} ${body}`);
      if (body.startsWith("ping")) {
        void stream.send(message({ to: peer, body: `echo: ${body}` }));
      }
    },
  });
  stream.closed.then(
    (r) => console.log(`ended ${peer} ${r.clean}`),
    (e) => console.log(`ended ${peer} ${e.name}`),
  );
});
const extra: E2EStream[] = [];
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  .pipeThrough(new TextLineStream());
for await (const line of lines) {
  const [command, peer, ...rest] = line.split(" ");
  try {
    if (command === "connect") {
      await me.connect(peer!);
      console.log(`connected ${peer}`);
    } else if (command === "fresh") {
      // A second stream to the peer, past our own one-stream rule.
      const found = me.peers.find((p) => p.name === peer)!;
      const id = await loadIdentity(dir, name.split("@")[1]!);
      const transport = await connectTcpNode({
        hostname: found.addresses[0]!.hostname,
        port: found.port,
        tls: { leafOnly: true, cert: id.cert, key: id.key },
      });
      extra.push(
        await initiate({
          from: me.name,
          to: peer!,
          transport,
          trust: { knownPeers: me.knownPeers },
        }),
      );
      console.log(`fresh ${peer}`);
    } else if (command === "send") {
      await me.stream(peer!)!.send(
        message({ to: peer!, body: rest.join(" ") }),
      );
      console.log("sent");
    } else if (command === "close") break;
  } catch (error) {
    console.log(`failed ${(error as Error).name} ${(error as Error).message}`);
  }
}
await Promise.allSettled(extra.map((s) => s.close()));
await me.close();
console.log("closed");
