/**
 * The subcommands that open streams: `listen`, `connect`, `ping`, `send`.
 * Each takes its parsed arguments and an interrupt signal, and returns the
 * exit code; the protocol is the library's, this file only wires it to the
 * terminal.
 *
 * @module
 */

import {
  type E2EStream,
  initiate,
  iq,
  listen,
  message,
  StanzaError,
  TimeoutError,
  xml,
} from "../../mod.ts";
import type { DialArgs, ListenArgs, StreamArgs } from "./args.ts";
import { chat } from "./chat.ts";
import {
  configDir,
  type Identity,
  loadIdentity,
  openKnownPeers,
} from "./config.ts";
import { EXIT, outcomeOf } from "./exit.ts";
import { MAX_LINE_BYTES, printLine, status } from "./io.ts";
import type { KnownPeers } from "../../mod.ts";

/** Most bytes of standard input `send` takes as its message. */
const MAX_SEND_BYTES = 4 * MAX_LINE_BYTES;

/** Our certificate and the trust-on-first-use store, ready for a stream. */
async function prepare(
  args: StreamArgs,
): Promise<{ identity: Identity; knownPeers: KnownPeers }> {
  const dir = configDir(args.configDir);
  const domain = args.as.slice(args.as.indexOf("@") + 1).split("/")[0]!;
  const { identity, created } = await loadIdentity(dir, domain);
  if (created) {
    status(`Made our certificate in ${dir}`);
  }
  status(`Our certificate: SHA-256 ${identity.fingerprint256}`);
  const knownPeers = await openKnownPeers(dir, (peer, fingerprint) => {
    status(
      `Trusting ${peer} on first use: its certificate is SHA-256 ${fingerprint}`,
    );
    return true;
  });
  return { identity, knownPeers };
}

/** Tells whom a fresh stream reached, and by which certificate. */
function tellTrust(stream: E2EStream, knownBefore: boolean): void {
  const { peerAddress, tls } = stream.info;
  const known = knownBefore ? ", known peer with the same certificate" : "";
  status(
    `Connected with ${peerAddress} over ${
      tls?.protocol ?? "TLS"
    }${known} (SHA-256 ${tls?.peerFingerprint256 ?? "?"})`,
  );
}

/**
 * `listen`: waits for one peer, then chats with it.
 *
 * @param args The parsed arguments.
 * @param interrupt Aborted on Ctrl-C.
 * @returns The exit code.
 */
export async function listenCommand(
  args: ListenArgs,
  interrupt: AbortSignal,
): Promise<number> {
  const { identity, knownPeers } = await prepare(args);
  const listener = await listen({
    from: args.as,
    hostname: args.host,
    port: args.port,
    certificate: { cert: identity.cert, key: identity.key },
    trust: { knownPeers },
  });
  const failures = listener.failures$.subscribe((failure) => {
    const from = failure.remote
      ? ` from ${failure.remote.hostname}:${failure.remote.port}`
      : "";
    status(`A connection${from} failed: ${outcomeOf(failure.error).message}`);
  });
  const stop = () => void listener.close();
  interrupt.addEventListener("abort", stop, { once: true });
  status(
    `Listening on ${listener.addr.hostname}:${listener.addr.port} as ${args.as}`,
  );
  let stream: E2EStream | null;
  try {
    stream = await listener.accept();
  } finally {
    interrupt.removeEventListener("abort", stop);
    await listener.close(); // one peer: no one else is let in
    failures.unsubscribe();
  }
  if (stream === null) {
    status("Interrupted before any peer came");
    return EXIT.interrupted;
  }
  const peer = stream.info.peerAddress ?? "";
  tellTrust(stream, false);
  return await chat(stream, args.as, peer, interrupt);
}

/** Opens a stream to the peer the arguments name. */
async function dial(args: DialArgs): Promise<E2EStream> {
  const { identity, knownPeers } = await prepare(args);
  const knownBefore = knownPeers.get(args.to) !== undefined;
  status(`Connecting to ${args.to} at ${args.host}:${args.port}`);
  const stream = await initiate({
    from: args.as,
    to: args.to,
    hostname: args.host,
    port: args.port,
    trust: { knownPeers },
    clientCertificate: { cert: identity.cert, key: identity.key },
  });
  tellTrust(stream, knownBefore);
  return stream;
}

/**
 * `connect`: opens a stream to a peer, then chats.
 *
 * @param args The parsed arguments.
 * @param interrupt Aborted on Ctrl-C.
 * @returns The exit code.
 */
export async function connectCommand(
  args: DialArgs,
  interrupt: AbortSignal,
): Promise<number> {
  const stream = await dial(args);
  return await chat(stream, args.as, args.to, interrupt);
}

/**
 * `ping`: an XEP-0199 ping, its answer and round trip, then an ordered
 * close.
 *
 * @param args The parsed arguments.
 * @param interrupt Aborted on Ctrl-C.
 * @returns The exit code.
 */
export async function pingCommand(
  args: DialArgs,
  interrupt: AbortSignal,
): Promise<number> {
  const stream = await dial(args);
  const started = performance.now();
  let code: number = EXIT.ok;
  try {
    await stream.request(
      iq({ type: "get", to: args.to }, xml("ping", { xmlns: "urn:xmpp:ping" })),
      { timeoutMs: args.timeoutSeconds * 1000, signal: interrupt },
    );
    await printLine(`Pong from ${args.to} in ${elapsed(started)} ms`);
  } catch (error) {
    if (error instanceof StanzaError) {
      // XEP-0199: an error answer still shows the peer is there.
      await printLine(
        `${args.to} is reachable (${
          elapsed(started)
        } ms) but does not answer pings: it said ${error.condition}`,
      );
    } else if (error instanceof TimeoutError) {
      status(`No answer from ${args.to} within ${args.timeoutSeconds} s`);
      code = EXIT.failed;
    } else if (interrupt.aborted) {
      code = EXIT.interrupted;
    } else {
      await stream.close();
      throw error;
    }
  }
  const result = await stream.close();
  if (!result.clean && code === EXIT.ok) {
    const outcome = outcomeOf(result.error);
    status(`The stream did not close in order: ${outcome.message}`);
    return outcome.code === EXIT.ok ? EXIT.failed : outcome.code;
  }
  return code;
}

/**
 * `send`: one message (the arguments, else standard input), then an
 * ordered close.
 *
 * @param args The parsed arguments.
 * @returns The exit code.
 */
export async function sendCommand(args: DialArgs): Promise<number> {
  const body = args.text ?? await readInput();
  if (body === "") {
    status("Nothing to send: the message is empty");
    return EXIT.usage;
  }
  const stream = await dial(args);
  try {
    await stream.send(
      message({ from: args.as, to: args.to, type: "chat", body }),
    );
  } catch (error) {
    await stream.close(); // nothing was sent; still close in order
    throw error;
  }
  const result = await stream.close();
  if (result.clean) {
    status("Sent; closed in order");
    return EXIT.ok;
  }
  const outcome = outcomeOf(result.error);
  status(`The stream did not close in order: ${outcome.message}`);
  return outcome.code === EXIT.ok ? EXIT.failed : outcome.code;
}

/** All of standard input, without its last line break. */
async function readInput(): Promise<string> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of Deno.stdin.readable) {
    size += chunk.length;
    if (size > MAX_SEND_BYTES) {
      throw new RangeError(
        `Cannot send more than ${MAX_SEND_BYTES} bytes in one message`,
      );
    }
    parts.push(chunk);
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return new TextDecoder().decode(bytes).replace(/\r?\n$/, "");
}

function elapsed(since: number): string {
  return (performance.now() - since).toFixed(1);
}
