// The other process of the multi-process known peers tests, run as
//
//     deno run --allow-read=DIR --allow-write=DIR _known_peers_child.ts COMMAND FILE ...
//
// It prints one line per event on stdout, so the parent can follow it:
// - `pin FILE PEER FINGERPRINT`: approves PEER with FINGERPRINT, then prints
//   "ok" or the name of the error;
// - `approve-many FILE PREFIX COUNT`: prints "ready", waits for stdin to end,
//   approves PREFIX-0 ... PREFIX-(COUNT - 1) concurrently, prints "done";
// - `save-loop FILE PREFIX`: sets PREFIX-0, PREFIX-1, ... one after the other,
//   printing each number once saved, until killed.

import { KnownPeers } from "../../src/transport/known_peers.ts";

const [command, file, ...args] = Deno.args;
if (file === undefined) throw new TypeError("Missing the file argument");

/** A fingerprint made from a number, so that each peer has its own. */
function fingerprintOf(n: number): string {
  return n.toString(16).padStart(64, "0");
}

switch (command) {
  case "pin": {
    const [peer, fingerprint] = args as [string, string];
    const peers = await KnownPeers.open({ file, approve: () => true });
    try {
      await peers.verify(peer, fingerprint);
      console.log("ok");
    } catch (error) {
      console.log((error as Error).name);
    }
    break;
  }
  case "approve-many": {
    const [prefix, count] = args as [string, string];
    const peers = await KnownPeers.open({ file, approve: () => true });
    console.log("ready");
    await Deno.stdin.readable.pipeTo(new WritableStream()).catch(() => {});
    await Promise.all(
      Array.from(
        { length: Number(count) },
        (_, i) => peers.verify(`${prefix}-${i}`, fingerprintOf(i)),
      ),
    );
    console.log("done");
    break;
  }
  case "save-loop": {
    const [prefix] = args as [string];
    const peers = await KnownPeers.open({ file });
    for (let i = 0;; i++) {
      await peers.set(`${prefix}-${i}`, fingerprintOf(i));
      console.log(i);
    }
  }
  // falls through: save-loop only ends when killed
  default:
    throw new TypeError(`Unknown command: ${command}`);
}
