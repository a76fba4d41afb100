/**
 * `xmpp-e2e trust`: the peers trusted on first use, listed or forgotten.
 *
 * @module
 */

import type { TrustArgs } from "./args.ts";
import { configDir, openKnownPeers } from "./config.ts";
import { EXIT } from "./exit.ts";
import { printLine, status } from "./io.ts";

/**
 * Lists the known peers (one `PEER FINGERPRINT` line each, on standard
 * output), or forgets the ones given.
 *
 * @param args The parsed arguments.
 * @returns 0, or 1 when a peer to forget was not known.
 */
export async function trustCommand(args: TrustArgs): Promise<number> {
  const dir = configDir(args.configDir);
  const store = await openKnownPeers(dir);
  if (args.action === "list") {
    const entries = store.entries().sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0
    );
    for (const [peer, fingerprint] of entries) {
      await printLine(`${peer} ${fingerprint}`);
    }
    if (entries.length === 0) status(`No known peers yet (in ${dir})`);
    return EXIT.ok;
  }
  let code: number = EXIT.ok;
  for (const peer of args.peers) {
    if (await store.delete(peer)) {
      status(
        `Forgot ${peer}: its next certificate will be trusted on first use`,
      );
    } else {
      status(`${peer} is not a known peer`);
      code = EXIT.failed;
    }
  }
  return code;
}
