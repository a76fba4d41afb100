// One Jingle session's state: who, which sid, what the peer may send now,
// and a small mailbox the negotiation reads from, each wait with a deadline.

import type { E2EStream } from "../endpoint/e2e_stream.ts";
import type { IqAnswer } from "../stanza/iq_router.ts";
import { StanzaError } from "../stanza/error.ts";
import {
  type Action,
  jingleIq,
  type JingleIqOptions,
  type JingleReason,
  type JingleRequest,
  outOfOrder,
  unknownSession,
} from "./_jingle_xml.ts";
import { JingleError } from "./jingle_error.ts";

/** Most Jingle requests a session keeps unread. */
const MAILBOX = 8;

interface Waiter {
  actions: readonly Action[];
  resolve: (request: JingleRequest) => void;
  reject: (error: Error) => void;
}

/** What a session is made with. */
export interface JingleSessionInit {
  client: E2EStream;
  sid: string;
  role: "initiator" | "responder";
  /** Our full JID. */
  own: string;
  /** The peer's full JID. */
  peer: string;
  /** Deadline of each request of ours, in ms. */
  requestTimeoutMs: number;
  /** Called once the session has ended, either way. */
  release: () => void;
}

export class JingleSession {
  readonly client: E2EStream;
  readonly sid: string;
  readonly role: "initiator" | "responder";
  readonly own: string;
  readonly peer: string;
  readonly initiator: string;
  readonly #requestTimeoutMs: number;
  readonly #release: () => void;
  #accepting = new Set<Action>();
  readonly #mail: JingleRequest[] = [];
  #waiter: Waiter | undefined;
  #ended: JingleError | undefined;
  #endedResolve!: () => void;
  /** Resolves once the session has ended, either way. */
  readonly ended: Promise<void> = new Promise((resolve) => {
    this.#endedResolve = resolve;
  });
  /** Told when the session ends, with why (for the inner stream). */
  onEnd: ((error: JingleError) => void) | undefined;
  /** Set once the peer (not we) ended the session. */
  endedByPeer = false;
  /** Set once the peer acknowledged our session-initiate. */
  acknowledged = false;
  /**
   * Our session-terminate until the peer acknowledges it (or its deadline
   * passes), once we sent one: it still holds a request of ours.
   */
  farewell: Promise<void> | undefined;
  /** Checks a request before it is kept: an error refuses it. */
  check: ((request: JingleRequest) => StanzaError | undefined) | undefined;

  constructor(init: JingleSessionInit) {
    this.client = init.client;
    this.sid = init.sid;
    this.role = init.role;
    this.own = init.own;
    this.peer = init.peer;
    this.initiator = init.role === "initiator" ? init.own : init.peer;
    this.#requestTimeoutMs = init.requestTimeoutMs;
    this.#release = init.release;
  }

  get isEnded(): boolean {
    return this.#ended !== undefined;
  }

  /** Why the session ended, once it has. */
  get error(): JingleError | undefined {
    return this.#ended;
  }

  /** Which actions the peer may send from now on (kept until read). */
  accept(...actions: Action[]): void {
    this.#accepting = new Set(actions);
  }

  /**
   * The next request of one of `actions`, from the mailbox or when it comes.
   *
   * @throws {JingleError} `timeout` past the deadline (the session is then
   *   ended with `timeout`), or the error the session ended with.
   */
  next(
    actions: readonly Action[],
    timeoutMs: number,
    what: string,
  ): Promise<JingleRequest> {
    if (this.#ended !== undefined) return Promise.reject(this.#ended);
    const index = this.#mail.findIndex((m) => actions.includes(m.action));
    if (index >= 0) return Promise.resolve(this.#mail.splice(index, 1)[0]!);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        const error = new JingleError(
          "timeout",
          `The peer did not send ${what} within ${timeoutMs} ms`,
        );
        void this.terminate("timeout", error);
        reject(error);
      }, timeoutMs);
      this.#waiter = {
        actions,
        resolve: (request) => {
          clearTimeout(timer);
          this.#waiter = undefined;
          resolve(request);
        },
        reject: (error) => {
          clearTimeout(timer);
          this.#waiter = undefined;
          reject(error);
        },
      };
    });
  }

  /** Answers one request of the peer for this session. */
  deliver(request: JingleRequest): IqAnswer {
    if (this.#ended !== undefined) return unknownSession();
    if (request.action === "session-terminate") {
      this.endedByPeer = true;
      const reason = request.reason ?? "success";
      const declined = reason === "decline" || reason === "busy";
      this.#end(
        new JingleError(
          declined ? "declined" : "terminated",
          declined
            ? "The peer declined the session"
            : `The peer ended the session (${reason})`,
          { condition: reason },
        ),
      );
      return undefined;
    }
    if (!this.#accepting.has(request.action)) {
      return outOfOrder(`A ${request.action} is not expected now`);
    }
    const refusal = this.check?.(request);
    if (refusal !== undefined) return refusal;
    const waiter = this.#waiter;
    if (waiter !== undefined && waiter.actions.includes(request.action)) {
      waiter.resolve(request);
      return undefined;
    }
    if (this.#mail.length >= MAILBOX) {
      return new StanzaError("resource-constraint", { type: "wait" });
    }
    this.#mail.push(request);
    return undefined;
  }

  /**
   * Sends a Jingle request of ours and waits for its acknowledgement.
   *
   * @throws {JingleError} `rejected` when the peer answers with an error,
   *   `timeout` past the deadline, `stream-ended` when the client stream
   *   ended.
   */
  async send(
    options: Omit<JingleIqOptions, "to" | "from" | "sid">,
  ): Promise<void> {
    if (this.#ended !== undefined) throw this.#ended;
    try {
      await this.client.request(
        jingleIq({ ...options, to: this.peer, from: this.own, sid: this.sid }),
        { timeoutMs: this.#requestTimeoutMs },
      );
    } catch (error) {
      throw errorOf(error, `The peer refused the ${options.action}`);
    }
  }

  /**
   * Ends the session with a session-terminate of ours (not waiting for
   * more than its acknowledgement, or its deadline). Idempotent.
   */
  async terminate(reason: JingleReason, error?: JingleError): Promise<void> {
    if (this.#ended !== undefined) return;
    // Written before the session ends here, so that over IBB it goes out
    // ahead of the stream error the inner stream is then ended with.
    const told = this.client.request(
      jingleIq({
        action: "session-terminate",
        to: this.peer,
        from: this.own,
        sid: this.sid,
        reason,
      }),
      { timeoutMs: this.#requestTimeoutMs },
    );
    this.farewell = told.then(() => {}, () => {});
    // Ended as soon as it is sent (XEP-0166 section 6.7).
    this.#end(
      error ?? new JingleError("terminated", `The session ended (${reason})`, {
        condition: reason,
      }),
    );
    try {
      await told;
    } catch {
      // Ended here whatever the peer says, or if it is gone.
    }
  }

  /** Ends without a word (the client stream ended, or the engine closed). */
  abandon(error: JingleError): void {
    this.#end(error);
  }

  #end(error: JingleError): void {
    if (this.#ended !== undefined) return;
    this.#ended = error;
    this.#mail.length = 0;
    this.#waiter?.reject(error);
    this.#release();
    this.onEnd?.(error);
    this.#endedResolve();
  }
}

/** A failed request of ours, as a {@linkcode JingleError}. */
export function errorOf(error: unknown, message: string): JingleError {
  if (error instanceof JingleError) return error;
  if (error instanceof StanzaError) {
    return new JingleError("rejected", `${message}: ${error.condition}`, {
      cause: error,
    });
  }
  if (error instanceof Error && error.name === "TimeoutError") {
    return new JingleError("timeout", `${message}: no answer in time`, {
      cause: error,
    });
  }
  return new JingleError("stream-ended", `${message}: the stream ended`, {
    cause: error,
  });
}
