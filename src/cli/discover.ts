/**
 * `xmpp-e2e discover`: peers on the local network (XEP-0174 link-local
 * messaging), browsed for a while and printed a line each as they come
 * and go. The mDNS code is loaded only for this subcommand.
 *
 * @module
 */

import type { DiscoverArgs } from "./args.ts";
import { EXIT } from "./exit.ts";
import { printable, status } from "./io.ts";

/**
 * Browses `_presence._tcp` for `args.seconds` and prints each peer event
 * on stdout: `appeared|changed|gone NAME status=S port=P ADDRESSES "msg"`.
 *
 * @param args The parsed arguments.
 * @returns Exit code 0, or 3 when the network cannot be browsed.
 */
export async function discoverCommand(args: DiscoverArgs): Promise<number> {
  const { browse } = await import("../linklocal/mod.ts");
  const peers$ = browse(
    args.interfaces.length > 0 ? { interfaces: args.interfaces } : {},
  );
  let seen = 0;
  const outcome = await new Promise<number>((resolve) => {
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      resolve(EXIT.ok);
    }, args.seconds * 1000);
    const subscription = peers$.subscribe({
      next: ({ type, peer }) => {
        if (type === "appeared") seen++;
        const addresses = peer.addresses.map((a) => a.hostname).join(",");
        const msg = peer.txt.msg === undefined ? "" : ` "${peer.txt.msg}"`;
        console.log(printable(
          `${type} ${peer.name} status=${
            peer.txt.status ?? "?"
          } port=${peer.port} ${addresses || "-"}${msg}`.replace(/\n/g, " "),
        ));
      },
      error: (error) => {
        clearTimeout(timer);
        status(
          `Cannot browse the local network: ${
            error instanceof Error ? error.message : String(error)
          }`,
        );
        resolve(EXIT.network);
      },
    });
  });
  if (outcome === EXIT.ok) {
    status(
      seen === 0
        ? `No peer found in ${args.seconds} s`
        : `${seen} peer${seen === 1 ? "" : "s"} found in ${args.seconds} s`,
    );
  }
  return outcome;
}
