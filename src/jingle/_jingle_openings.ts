// The open() calls under way, for XEP-0166's tie-break: a session-initiate
// of the peer's that crosses ours (sent, not yet acknowledged) is refused
// with <tie-break/> when ours has the lower sid (then the lower JID), else
// it overrules ours, and that open() settles with the peer's session.

import type { JingleStream } from "./_inner_stream.ts";
import type { JingleSession } from "./_jingle_session.ts";
import { oursWinsTie } from "./_jingle_xml.ts";
import { JingleError } from "./jingle_error.ts";

/** One `open()` under way. */
export interface Opening {
  session: JingleSession;
  /** Our session-initiate was refused with `<tie-break/>`. */
  lostTie: boolean;
  /** The peer's session, which overruled ours. */
  adopted?: { session: JingleSession; stream: Promise<JingleStream> };
  /** Told when `adopted` is set, or when open() gives up. */
  notify?: (() => void) | undefined;
}

export class Openings {
  readonly #all = new Set<Opening>();

  /** Registers the open() of `session`; `delete()` it once settled. */
  add(session: JingleSession): Opening {
    const opening: Opening = { session, lostTie: false };
    this.#all.add(opening);
    return opening;
  }

  delete(opening: Opening): void {
    this.#all.delete(opening);
  }

  /**
   * Whether a session-initiate from `peer` with `sid` meets an open() of
   * ours to it whose session-initiate the peer has not acknowledged:
   * `"ours"` when ours overrules it (refuse it with `<tie-break/>`); the
   * opening when theirs overrules ours (ours is abandoned here, and the
   * caller sets `adopted`); undefined when there is no tie.
   */
  rival(peer: string, sid: string): "ours" | Opening | undefined {
    for (const opening of this.#all) {
      const ours = opening.session;
      if (
        ours.peer !== peer || ours.acknowledged ||
        opening.adopted !== undefined
      ) {
        continue;
      }
      if (
        !opening.lostTie && !ours.isEnded &&
        oursWinsTie({ sid: ours.sid, jid: ours.own }, { sid, jid: peer })
      ) {
        return "ours";
      }
      ours.abandon(
        new JingleError(
          "rejected",
          "The peer's simultaneous session-initiate overruled ours",
        ),
      );
      return opening;
    }
    return undefined;
  }
}

/**
 * The stream of the peer's session that overruled ours: the one under
 * way, or the one its session-initiate starts within the deadline.
 */
export async function overruled(
  opening: Opening,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<JingleStream> {
  if (opening.adopted === undefined) {
    const told = Promise.withResolvers<void>();
    opening.notify = told.resolve;
    const timer = setTimeout(told.resolve, timeoutMs);
    try {
      await told.promise;
    } finally {
      clearTimeout(timer);
      opening.notify = undefined;
    }
    signal?.throwIfAborted();
    if (opening.adopted === undefined) {
      throw new JingleError(
        "timeout",
        `The peer won the tie-break but sent no session-initiate within ${timeoutMs} ms`,
      );
    }
  }
  return await opening.adopted.stream;
}
