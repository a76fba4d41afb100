/**
 * The command line of `xmpp-e2e`: subcommands, their options and their
 * `--help` texts. Parsing only; nothing here opens a stream.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { jid, JidError } from "../../mod.ts";
import { UsageError } from "./exit.ts";

/** What every subcommand that opens a stream takes. */
export interface StreamArgs {
  /** Our address (`--as`). */
  as: string;
  /** The configuration directory flag, if given. */
  configDir: string | undefined;
}

/** `listen`: wait for one peer and chat. */
export interface ListenArgs extends StreamArgs {
  command: "listen";
  host: string;
  port: number;
}

/** `connect`, `ping`, `send`: open a stream to a peer. */
export interface DialArgs extends StreamArgs {
  command: "connect" | "ping" | "send";
  to: string;
  host: string;
  port: number;
  /** `ping`: seconds to wait for the answer. */
  timeoutSeconds: number;
  /** `send`: the message, or undefined to read it from standard input. */
  text: string | undefined;
}

/** `trust`: list or forget known peers. */
export interface TrustArgs {
  command: "trust";
  action: "list" | "forget";
  peers: string[];
  configDir: string | undefined;
}

/** `discover`. */
export interface DiscoverArgs {
  command: "discover";
  /** How long to listen for peers. */
  seconds: number;
  /** Interfaces to browse on; empty: every one with a non-loopback address. */
  interfaces: string[];
}

/** `help`, `version`. */
export interface OtherArgs {
  command: "help" | "version";
  /** For help: the text to print. */
  text?: string;
}

/** A parsed command line. */
export type Args =
  | ListenArgs
  | DialArgs
  | TrustArgs
  | DiscoverArgs
  | OtherArgs;

const COMMON = `
Options for every subcommand:
  --config-dir DIR   where the certificate and known peers are kept (default:
                     $XMPP_E2E_CONFIG_DIR, else $XDG_CONFIG_HOME/xmpp-e2e,
                     else ~/.config/xmpp-e2e)
  -h, --help         this help`;

const DIAL = `  --as ADDR          our address (JID), as the peer will know us
  --to ADDR          the peer's address (JID)
  --host HOST        host to connect to (default: the domain of --to)
  --port PORT        port to connect to`;

/** The help texts, by subcommand; "" is the overview. */
export const HELP: Readonly<Record<string, string>> = Object.freeze({
  "": `xmpp-e2e: end-to-end XMPP streams (XEP-0246) from the command line

Usage: xmpp-e2e <subcommand> [options]

Subcommands:
  listen    wait for a peer on a port, then chat
  connect   open a stream to a peer, then chat
  ping      ask a peer whether it answers (XEP-0199)
  send      send one message to a peer, then close
  trust     list or forget the peers trusted so far
  discover  find peers on the local network (link-local, XEP-0174)

A chat sends each line of standard input as a message and prints each
message received as a line on standard output; status goes to standard
error. End of input closes the stream in order. Streams use STARTTLS; each
end trusts the other's certificate on first use and refuses it if it later
changes. "xmpp-e2e <subcommand> --help" tells more.

Exit codes: 0 done, 1 failed, 2 usage, 3 network, 4 certificate refused,
5 certificate changed, 130 interrupted.`,
  listen: `Usage: xmpp-e2e listen --as ADDR [--port PORT] [--host HOST]

Waits for one peer, then chats with it: each line of standard input is
sent as a message, each message received is printed as a line. End of
input, or the peer closing, ends the stream in order. The port and our
certificate's fingerprint are told on standard error.

  --as ADDR          our address (JID); peers must connect --to it
  --port PORT        port to listen on (default 0: any free port)
  --host HOST        address to listen on (default 127.0.0.1: this machine
                     only; 0.0.0.0 or :: for every interface)
${COMMON}`,
  connect:
    `Usage: xmpp-e2e connect --as ADDR --to ADDR --port PORT [--host HOST]

Opens a stream to a peer (STARTTLS, our certificate presented), then
chats: each line of standard input is sent as a message, each message
received is printed as a line. End of input closes the stream in order.

${DIAL}
${COMMON}`,
  ping:
    `Usage: xmpp-e2e ping --as ADDR --to ADDR --port PORT [--host HOST] [--timeout S]

Opens a stream, sends an XEP-0199 ping, tells the answer and its round
trip time on standard output, and closes. A peer that answers with an
error (one that does not implement ping) is reachable all the same.

${DIAL}
  --timeout S        seconds to wait for the answer (default 10)
${COMMON}`,
  send:
    `Usage: xmpp-e2e send --as ADDR --to ADDR --port PORT [--host HOST] [TEXT...]

Opens a stream, sends one message and closes the stream in order. The
message is TEXT (the words joined with spaces), else all of standard input.

${DIAL}
${COMMON}`,
  trust: `Usage: xmpp-e2e trust list
       xmpp-e2e trust forget PEER...

list     prints each known peer and its certificate's SHA-256 fingerprint
forget   forgets peers, so that the next certificate they present is
         trusted on first use again (after a genuine change of certificate)
${COMMON}`,
  discover: `Usage: xmpp-e2e discover [--seconds S] [--interface IF]...

Finds peers on the local network (XEP-0174 link-local messaging: DNS-SD
over multicast DNS, _presence._tcp) and prints a line for each as it
appears, changes or leaves: its name, status, port, addresses and message.
Ends after S seconds (default 5).

  --seconds S       how long to listen (above 0, at most 3600)
  --interface IF    browse on this interface only (repeatable; default:
                    every interface with a non-loopback address)
${COMMON}`,
});

/**
 * Parses a command line.
 *
 * @param argv The arguments after the program name.
 * @returns What to do.
 * @throws {UsageError} When the arguments are wrong.
 */
export function parse(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (command === undefined || command === "-h" || command === "--help") {
    return { command: "help", text: HELP[""]! };
  }
  if (command === "help") {
    const topic = rest[0] ?? "";
    if (!(topic in HELP)) throw new UsageError(`Unknown subcommand '${topic}'`);
    return { command: "help", text: HELP[topic]! };
  }
  if (command === "--version" || command === "version") {
    return { command: "version" };
  }
  if (!(command in HELP) || command === "") {
    throw new UsageError(`Unknown subcommand '${command}'`);
  }
  if (rest.includes("-h") || rest.includes("--help")) {
    return { command: "help", text: HELP[command]! };
  }
  switch (command) {
    case "listen":
      return listenArgs(rest);
    case "connect":
    case "ping":
    case "send":
      return dialArgs(command, rest);
    case "trust":
      return trustArgs(rest);
    default:
      return discoverArgs(rest);
  }
}

type Values = Record<
  string,
  string | boolean | (string | boolean)[] | undefined
>;

function options(
  command: string,
  argv: string[],
  names: string[],
  positionals = false,
): { values: Values; positionals: string[] } {
  const spec: Record<string, { type: "string" }> = {};
  for (const name of [...names, "config-dir"]) spec[name] = { type: "string" };
  try {
    return parseArgs({
      args: argv,
      options: spec,
      allowPositionals: positionals,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\.$/, ""), command);
  }
}

function listenArgs(argv: string[]): ListenArgs {
  const { values } = options("listen", argv, ["as", "port", "host"]);
  return {
    command: "listen",
    as: address("listen", "--as", values.as),
    port: port("listen", values.port, 0),
    host: text(values.host) ?? "127.0.0.1",
    configDir: text(values["config-dir"]),
  };
}

function dialArgs(command: DialArgs["command"], argv: string[]): DialArgs {
  const names = ["as", "to", "port", "host"];
  if (command === "ping") names.push("timeout");
  const parsed = options(command, argv, names, command === "send");
  const { values } = parsed;
  const to = address(command, "--to", values.to);
  const timeout = text(values.timeout);
  const timeoutSeconds = timeout === undefined ? 10 : Number(timeout);
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 3600)) {
    throw new UsageError(
      `--timeout must be a number of seconds above 0 and at most 3600 (got '${timeout}')`,
      command,
    );
  }
  return {
    command,
    as: address(command, "--as", values.as),
    to,
    port: port(command, values.port),
    host: text(values.host) ?? jid(to).domain,
    timeoutSeconds,
    text: parsed.positionals.length > 0
      ? parsed.positionals.join(" ")
      : undefined,
    configDir: text(values["config-dir"]),
  };
}

function trustArgs(argv: string[]): TrustArgs {
  const { values, positionals } = options("trust", argv, [], true);
  const [action, ...peers] = positionals;
  if (action === "list") {
    if (peers.length > 0) {
      throw new UsageError("trust list takes no peer", "trust");
    }
  } else if (action === "forget") {
    if (peers.length === 0) {
      throw new UsageError("trust forget needs the peers to forget", "trust");
    }
  } else {
    throw new UsageError(
      action === undefined
        ? "trust needs an action: list or forget"
        : `Unknown trust action '${action}' (list or forget)`,
      "trust",
    );
  }
  return {
    command: "trust",
    action,
    peers,
    configDir: text(values["config-dir"]),
  };
}

function discoverArgs(argv: string[]): DiscoverArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        seconds: { type: "string" },
        interface: { type: "string", multiple: true },
        "config-dir": { type: "string" },
      },
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(message.replace(/\.$/, ""), "discover");
  }
  const given = parsed.values.seconds;
  const seconds = given === undefined ? 5 : Number(given);
  if (!(seconds > 0 && seconds <= 3600)) {
    throw new UsageError(
      `--seconds must be a number of seconds above 0 and at most 3600 (got '${given}')`,
      "discover",
    );
  }
  return {
    command: "discover",
    seconds,
    interfaces: parsed.values.interface ?? [],
  };
}

function text(value: Values[string]): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function address(command: string, flag: string, value: Values[string]): string {
  const given = text(value);
  if (given === undefined || given === "") {
    throw new UsageError(`${command} needs ${flag} ADDR`, command);
  }
  try {
    return jid(given).toString();
  } catch (error) {
    if (error instanceof JidError) {
      throw new UsageError(
        `${flag} '${given}' is not an address: ${error.message}`,
        command,
      );
    }
    throw error;
  }
}

function port(
  command: string,
  value: Values[string],
  fallback?: number,
): number {
  const given = text(value);
  if (given === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`${command} needs --port PORT`, command);
  }
  const number = /^\d{1,5}$/.test(given) ? Number(given) : NaN;
  const least = fallback === undefined ? 1 : 0;
  if (!(number >= least && number <= 65535)) {
    throw new UsageError(
      `--port must be a whole number from ${least} to 65535 (got '${given}')`,
      command,
    );
  }
  return number;
}
