/**
 * The exit codes of the `xmpp-e2e` command, and how an error becomes a
 * message and a code.
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | done: the stream closed in order (or the command had nothing to send) |
 * | 1 | failed: a stream error, a failed negotiation, no answer in time, a bad file |
 * | 2 | usage: bad arguments or an unknown subcommand |
 * | 3 | network: cannot connect to the peer, or cannot listen on the port |
 * | 4 | untrusted: the peer's certificate was refused |
 * | 5 | changed: a known peer presented another certificate than before |
 * | 130 | interrupted twice (Ctrl-C): ended without closing in order |
 *
 * @module
 */

import {
  CertificateError,
  KnownPeersFileError,
  NegotiationError,
  PeerChangedError,
  PeerRejectedError,
  StanzaError,
  StreamError,
  TimeoutError,
  TransportError,
} from "../../mod.ts";

/** The exit codes, by name. */
export const EXIT = Object.freeze({
  ok: 0,
  failed: 1,
  usage: 2,
  network: 3,
  untrusted: 4,
  changed: 5,
  interrupted: 130,
});

/** A bad command line: the message says what, and exit code 2 follows. */
export class UsageError extends TypeError {
  /** The error's name. */
  override readonly name: string = "UsageError";
  /** The subcommand whose `--help` tells more, if known. */
  readonly command: string | undefined;

  /**
   * Makes the error.
   *
   * @param message What is wrong with the arguments.
   * @param command The subcommand, for the `--help` hint.
   */
  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** What the user is told about an error, and the code to exit with. */
export interface Outcome {
  /** Lines for standard error. */
  message: string;
  /** The exit code. */
  code: number;
}

/**
 * Tells an error to the user: a message in plain words and the exit code.
 *
 * @param error What went wrong.
 * @returns The message and the code.
 */
export function outcomeOf(error: unknown): Outcome {
  const cause = rootOf(error);
  if (cause instanceof UsageError) {
    const hint = cause.command === undefined
      ? "xmpp-e2e --help"
      : `xmpp-e2e ${cause.command} --help`;
    return { message: `${cause.message} (see ${hint})`, code: EXIT.usage };
  }
  if (cause instanceof PeerChangedError) {
    return { message: changedMessage(cause), code: EXIT.changed };
  }
  if (cause instanceof PeerRejectedError || cause instanceof CertificateError) {
    return {
      message: `The peer's certificate was refused: ${cause.message}`,
      code: EXIT.untrusted,
    };
  }
  if (cause instanceof TransportError) {
    return { message: cause.message, code: EXIT.network };
  }
  if (cause instanceof KnownPeersFileError) {
    return {
      message: `Cannot use the known peers file: ${cause.message}`,
      code: EXIT.failed,
    };
  }
  if (
    cause instanceof StreamError || cause instanceof NegotiationError ||
    cause instanceof TimeoutError || cause instanceof StanzaError
  ) {
    return { message: cause.message, code: EXIT.failed };
  }
  if (
    cause instanceof Deno.errors.NotCapable ||
    cause instanceof Deno.errors.PermissionDenied
  ) {
    return {
      message: `${cause.message} (run with --allow-net --allow-read ` +
        `--allow-write --allow-env)`,
      code: EXIT.failed,
    };
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  return { message, code: EXIT.failed };
}

/** The loud warning for a changed certificate. */
function changedMessage(error: PeerChangedError): string {
  return [
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    `WARNING: THE CERTIFICATE OF ${error.peer} HAS CHANGED`,
    "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
    "Someone may be intercepting this connection, or the peer may",
    "have made a new certificate. The connection was refused.",
    `  remembered: SHA-256 ${error.expected}`,
    `  presented:  SHA-256 ${error.actual}`,
    "If you know the change is genuine (ask the peer for its new",
    "fingerprint by another way), forget the old one and connect again:",
    `  xmpp-e2e trust forget ${error.peer}`,
  ].join("\n");
}

/**
 * A certificate refusal under wrappers that carry it as a cause (a
 * negotiation that failed because of it), else the error itself.
 */
function rootOf(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 8; depth++) {
    if (
      current instanceof CertificateError ||
      current instanceof PeerRejectedError
    ) {
      return current;
    }
    if (!(current instanceof Error) || current.cause === undefined) break;
    current = current.cause;
  }
  return error;
}
