/**
 * `xmpp-e2e`, end-to-end XMPP streams from the command line: chat with a
 * peer (`listen`, `connect`), `ping` it, `send` it one message, and manage
 * the peers trusted on first use (`trust`). `xmpp-e2e --help` and
 * `xmpp-e2e <subcommand> --help` tell the options and the exit codes.
 *
 * ```sh
 * deno run -A jsr:@xmpp-e2e/streams/cli listen --as juliet@pronto --port 5299
 * deno run -A jsr:@xmpp-e2e/streams/cli connect --as romeo@forza --to juliet@pronto --host 127.0.0.1 --port 5299
 * ```
 *
 * @module
 */

import { parse } from "./args.ts";
import {
  connectCommand,
  listenCommand,
  pingCommand,
  sendCommand,
} from "./commands.ts";
import { discoverCommand } from "./discover.ts";
import { EXIT, outcomeOf } from "./exit.ts";
import { status } from "./io.ts";
import { trustCommand } from "./trust.ts";

/**
 * The version this command reports.
 *
 * @example The value
 * ```ts
 * import { VERSION } from "@xmpp-e2e/streams/cli";
 * import assert from "node:assert/strict";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+$/);
 * ```
 */
export const VERSION = "0.1.0";

/**
 * Runs the command.
 *
 * @example Running it from a program of one's own
 * ```ts
 * import { main } from "@xmpp-e2e/streams/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(await main(["--version"]), 0); // prints "xmpp-e2e 0.1.0"
 * assert.equal(await main(["no-such-subcommand"]), 2); // the usage code
 * ```
 *
 * @param argv The arguments after the program name.
 * @returns The exit code.
 */
export async function main(argv: string[]): Promise<number> {
  const interrupt = new AbortController();
  const onSignal = () => {
    if (interrupt.signal.aborted) Deno.exit(EXIT.interrupted);
    status("Interrupted (again to quit at once)");
    interrupt.abort();
  };
  let listening = false;
  try {
    const args = parse(argv);
    if (args.command === "help") {
      console.log(args.text);
      return EXIT.ok;
    }
    if (args.command === "version") {
      console.log(`xmpp-e2e ${VERSION}`);
      return EXIT.ok;
    }
    if (args.command === "trust") return await trustCommand(args);
    if (args.command === "discover") return await discoverCommand(args);
    try {
      Deno.addSignalListener("SIGINT", onSignal);
      listening = true;
    } catch {
      // No signals here (a restricted platform): Ctrl-C quits at once.
    }
    switch (args.command) {
      case "listen":
        return await listenCommand(args, interrupt.signal);
      case "connect":
        return await connectCommand(args, interrupt.signal);
      case "ping":
        return await pingCommand(args, interrupt.signal);
      case "send":
        return await sendCommand(args);
    }
    return EXIT.usage; // every subcommand is handled above
  } catch (error) {
    const { message, code } = outcomeOf(error);
    status(message);
    return code;
  } finally {
    if (listening) Deno.removeSignalListener("SIGINT", onSignal);
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
