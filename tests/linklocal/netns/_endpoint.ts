// A helper run in the other namespace: a LinkLocal endpoint NAME on
// INTERFACE keeping its certificate and known peers in DIR. Tells
// `started <name> <fingerprint>`, `peer <name>` when one appears,
// `stream <peer> <direction>`, `got <from> <body>` for each message (and
// answers `echo: <body>` to bodies starting with "ping"), `ended <peer>
// <clean>`, `failed <error name>`. Obeys `connect <peer>`, `send <peer>
// <body>`, `close`.

import { LinkLocal } from "../../../src/linklocal/link_local.ts";
import { message } from "../../../src/stanza/stanza.ts";
import { TextLineStream } from "./_netns.ts";

const [name, iface, dir] = Deno.args as [string, string, string];
const me = await LinkLocal.start({ name, dir, interfaces: [iface] });
console.log(`started ${me.name} ${me.fingerprint256}`);
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
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream())
  .pipeThrough(new TextLineStream());
for await (const line of lines) {
  const [command, peer, ...rest] = line.split(" ");
  try {
    if (command === "connect") {
      await me.connect(peer!);
      console.log(`connected ${peer}`);
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
await me.close();
console.log("closed");
