/**
 * `xmpp-e2e discover`: peers on the local network (XEP-0174 link-local
 * messaging). This is the one place to wire link-local discovery into the
 * command once the library has it.
 *
 * @module
 */

import { EXIT } from "./exit.ts";
import { status } from "./io.ts";

/**
 * Says that discovery is not available in this build.
 *
 * @returns Exit code 6.
 */
export function discoverCommand(): Promise<number> {
  status(
    "Link-local discovery (XEP-0174) is not available in this build of xmpp-e2e; connect with --host and --port instead",
  );
  return Promise.resolve(EXIT.unavailable);
}
