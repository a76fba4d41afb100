// A helper run in the other namespace: browses on INTERFACE and tells each
// event with the clock's time: `<type> <name> <epoch ms> <status>`.

import { browse } from "../../../src/linklocal/browse.ts";

const [iface] = Deno.args as [string];
const subscription = browse({ interfaces: [iface] }).subscribe({
  next: (e) =>
    console.log(
      `${e.type} ${e.peer.name} ${Date.now()} ${e.peer.txt.status ?? "-"}`,
    ),
  error: (e) => {
    console.log(`error ${e}`);
    Deno.exit(1);
  },
});
for await (const _ of Deno.stdin.readable) {
  // Runs until stdin closes.
}
subscription.unsubscribe();
