/**
 * A chat with whoever is on the local network (XEP-0174, as Pidgin's
 * Bonjour accounts, Gajim's zeroconf and Apple's Messages do it): we
 * advertise ourselves over multicast DNS, list the peers as they come and
 * go, and talk to them over TLS, trusting each peer's certificate the first
 * time we meet it and refusing it if it ever changes.
 *
 *     deno run -A examples/link_local_chat.ts romeo@forza [--interface=eth0]
 *
 * Type `/peers` for who is around, `/to <name>` to choose whom to talk to,
 * `/status away|dnd|avail [message]` to change your presence, `/quit` to
 * leave; any other line goes to the chosen peer. The certificate and the
 * peers met are kept in `./.link-local/<name>/`.
 *
 * @module
 */

import { message, PeerChangedError } from "@xmpp-e2e/streams";
import { LinkLocal } from "@xmpp-e2e/streams/linklocal";

const name = Deno.args.find((a) => !a.startsWith("--")) ??
  `${Deno.env.get("USER") ?? "me"}@${Deno.hostname().split(".")[0]}`;
const iface = Deno.args.find((a) => a.startsWith("--interface="))?.slice(12);

const me = await LinkLocal.start({
  name,
  dir: `./.link-local/${name}`,
  ...(iface ? { interfaces: [iface] } : {}),
  presence: { status: "avail" },
});
console.log(`you are ${me.name} (certificate ${me.fingerprint256})`);

me.peers$.subscribe(({ type, peer }) => {
  if (type === "appeared") console.log(`* ${peer.name} is here`);
  if (type === "gone") console.log(`* ${peer.name} left`);
  if (type === "changed") {
    console.log(
      `* ${peer.name} is ${peer.txt.status ?? "?"} ${peer.txt.msg ?? ""}`,
    );
  }
});
me.failures$.subscribe(({ error }) => {
  if (error instanceof PeerChangedError) {
    console.log(`! refused a caller: ${error.message}`);
  }
});
me.streams$.subscribe(({ peer, stream, encrypted }) => {
  if (!encrypted) console.log(`! ${peer}: this chat is NOT encrypted`);
  stream.stanzas$.subscribe({
    next: (stanza) => {
      const body = stanza.getChildText("body");
      if (body !== undefined) console.log(`${peer}: ${body}`);
    },
    error: (error) => console.log(`! ${peer}: ${error.message}`),
  });
});

let to: string | undefined;
const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
let rest = "";
reading: for await (const chunk of lines) {
  const parts = (rest + chunk).split("\n");
  rest = parts.pop()!;
  for (const line of parts) {
    const [command, ...args] = line.trim().split(" ");
    if (command === "/quit") break reading;
    if (command === "/peers") {
      for (const p of me.peers) {
        console.log(`  ${p.name} (${p.txt.status ?? "?"})`);
      }
    } else if (command === "/to") {
      to = args.join(" ");
      console.log(`* talking to ${to}`);
    } else if (command === "/status") {
      const [status, ...msg] = args;
      me.setPresence({
        status: status as "avail" | "away" | "dnd",
        ...(msg.length > 0 ? { msg: msg.join(" ") } : {}),
      });
    } else if (line.trim() !== "") {
      if (to === undefined) {
        console.log("* choose a peer first: /to <name>");
        continue;
      }
      try {
        const stream = await me.connect(to);
        await stream.send(message({ from: me.name, to, body: line }));
      } catch (error) {
        console.log(`! cannot reach ${to}: ${(error as Error).message}`);
      }
    }
  }
}
await me.close(); // closes every chat in order, says goodbye on the network
