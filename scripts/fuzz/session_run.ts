/**
 * One fuzz session: one of our `Session` ends against a
 * {@linkcode ScriptedPeer}, driven by a {@linkcode SessionPlan}, and the
 * invariants checked once it has ended:
 *
 * - `negotiate()` and `closed` both settle before the watchdog (else: hang);
 * - `negotiate()` rejects, and `closed` ends, only with the library's typed
 *   errors; `close()` resolves; `send()` settles, rejecting only with a
 *   typed error (`StreamClosedError` when the stream is not open);
 * - the transport is closed once the stream has ended;
 * - a stream error we report as sent reached the peer as owed: inside our
 *   stream, exactly once, followed by `</stream:stream>`;
 * - a valid stream (a control) negotiates, delivers the peer's stanzas in
 *   order and closes cleanly, and a stanza injected after the TLS gate
 *   never arrives.
 *
 * @module
 */

import { Session } from "../../src/stream/session.ts";
import {
  NegotiationError,
  StreamClosedError,
  StreamError,
  TimeoutError,
} from "../../src/stream/errors.ts";
import { SaslError } from "../../src/sasl/errors.ts";
import { TransportError } from "../../src/transport/transport.ts";
import { iq, message, presence, xml } from "../../src/stanza/mod.ts";
import type { Element } from "../../src/xml/element.ts";
import { sleep } from "./guard.ts";
import { INJECTED_BODY, ScriptedPeer } from "./peer.ts";
import { Rng } from "./rng.ts";
import type { SessionPlan } from "./session_plan.ts";
import { endOptions } from "./transcripts.ts";
import { type End, fakeTlsPair } from "../../tests/stream/_pair.ts";

/** The library's typed errors: anything else escaping a session is a bug. */
const TYPED = [
  StreamError,
  NegotiationError,
  TimeoutError,
  TransportError,
  SaslError,
] as const;

const STANZAS = new Set(["message", "presence", "iq"]);

/** A broken invariant: which, and what happened. */
export interface Problem {
  /** Which invariant. */
  kind: string;
  /** What happened. */
  detail: string;
}

/** How one session ended. */
export interface SessionResult {
  /** The plan. */
  plan: SessionPlan;
  /** `ok`, or the class of `negotiate()`'s rejection. */
  negotiate: string;
  /** `clean`, or the class of the error `closed` ended with. */
  closed: string;
  /** `sent` or `received`, and the condition, when it ended with a stream error. */
  condition: string | undefined;
  /** Whether the watchdog fired. */
  hang: boolean;
  /** Broken invariants. */
  problems: Problem[];
}

/**
 * Runs one session to its end (or its watchdog).
 *
 * @param plan The plan.
 * @param donors Valid chunks for random frames.
 * @returns What happened.
 */
export function runSession(
  plan: SessionPlan,
  donors: readonly Uint8Array[],
): Promise<SessionResult> {
  return new FuzzSession(plan, donors).run();
}

class FuzzSession {
  readonly #plan: SessionPlan;
  readonly #rng: Rng;
  readonly #ours: End;
  readonly #session: Session;
  readonly #peer: ScriptedPeer;
  readonly #problems: Problem[] = [];
  readonly #delivered: string[] = [];
  readonly #pending = new Set<string>(); // send() and close() calls
  #sentError: StreamError | undefined;
  #condition: string | undefined;

  constructor(plan: SessionPlan, donors: readonly Uint8Array[]) {
    this.#plan = plan;
    this.#rng = new Rng(plan.seed ^ 0x27d4eb2f);
    const [ours, theirs] = fakeTlsPair();
    if (plan.fault === "tls-fail") ours.failTls();
    this.#ours = ours;
    this.#session = new Session({
      ...endOptions(plan.transcript.scenario, plan.role),
      transport: ours,
      negotiationTimeoutMs: plan.negotiationTimeoutMs,
      closeTimeoutMs: plan.closeTimeoutMs,
      legacy: plan.legacy,
      ...(plan.idleTimeoutMs === undefined
        ? {}
        : { idleTimeoutMs: plan.idleTimeoutMs }),
      ...(plan.keepaliveMs === undefined
        ? {}
        : { keepaliveMs: plan.keepaliveMs }),
    });
    this.#peer = new ScriptedPeer(theirs, ours, {
      transcript: plan.transcript,
      role: plan.role === "initiator" ? "recipient" : "initiator",
      target: plan.target,
      fault: plan.fault,
      waitForOurClose: plan.waitForOurClose,
      donors,
    }, this.#rng);
  }

  async run(): Promise<SessionResult> {
    const plan = this.#plan;
    this.#session.stanzas$.subscribe({
      next: (stanza: Element) => this.#received(stanza),
      error: () => {},
    });
    const negotiated = this.#session.negotiate().then(
      () => "ok",
      (e) => this.#classify("negotiate() rejection", e),
    );
    const closed = this.#session.closed.then((result) => {
      if (result.clean) return "clean";
      const error = result.error;
      // The one end without an error: a legacy peer hung up on an open
      // stream.
      if (error === undefined && plan.legacy) return "hung up (legacy)";
      if (error instanceof StreamError) {
        if (error.sent) this.#sentError = error;
        this.#condition = `${
          error.sent ? "sent" : "received"
        } ${error.condition}`;
      }
      return this.#classify("close error", error);
    });
    const peerDone = this.#peer.run();
    this.#drive(negotiated);

    const watchdogMs = plan.negotiationTimeoutMs + plan.closeTimeoutMs +
      (plan.idleTimeoutMs ?? 0) + 5_000;
    const settled = Promise.all([negotiated, closed]);
    const hang = await Promise.race([
      settled.then(() => false),
      sleep(watchdogMs).then(() => true),
    ]);
    if (hang) {
      this.#fail(
        "hang",
        `negotiate() or closed pending after ${watchdogMs} ms ` +
          `(state ${this.#session.state})`,
      );
      this.#ours.close();
    }
    await Promise.race([peerDone, sleep(1_000)]);
    this.#peer.abort();
    await sleep(hang ? 0 : 5); // send() and close() settle
    const [negotiate, closedAs] = hang ? ["pending", "pending"] : await settled;
    this.#check(negotiate, closedAs);
    return {
      plan,
      negotiate,
      closed: closedAs,
      condition: this.#condition,
      hang,
      problems: this.#problems,
    };
  }

  /** Calls `send()` and `close()` when the plan says. */
  #drive(negotiated: Promise<string>): void {
    const plan = this.#plan;
    plan.earlySends.forEach((delay, n) =>
      sleep(delay).then(() => this.#send(n))
    );
    if (plan.closeAt === "early") {
      sleep(plan.closeDelayMs).then(() => this.#close());
    }
    negotiated.then(async (outcome) => {
      if (outcome !== "ok") return;
      for (let n = 0; n < plan.openSends; n++) this.#send(100 + n);
      if (plan.closeAt === "open") {
        await sleep(plan.closeDelayMs);
        this.#close();
      }
    });
  }

  #send(n: number): void {
    this.#call(
      `send() #${n}`,
      this.#session.send(stanza(this.#rng, n)),
      (e) => {
        if (!isTyped(e) && !(e instanceof StreamClosedError)) {
          this.#fail("untyped send() rejection", describe(e));
        }
      },
    );
  }

  #close(): void {
    this.#call("close()", this.#session.close(), (e) => {
      this.#fail("close() rejected", describe(e));
    });
  }

  /** Tracks a call until it settles; `onError` checks a rejection. */
  #call(
    name: string,
    promise: Promise<unknown>,
    onError: (e: unknown) => void,
  ) {
    this.#pending.add(name);
    promise.then(
      () => this.#pending.delete(name),
      (e) => {
        this.#pending.delete(name);
        onError(e);
      },
    );
  }

  #received(stanza: Element): void {
    this.#delivered.push(stanza.name);
    if (stanza.getChildText("body") === INJECTED_BODY) {
      this.#fail(
        "injected stanza delivered",
        "a stanza sent in plaintext after the TLS gate reached stanzas$",
      );
    }
  }

  /** The class of an error, and a problem when it is not a typed one. */
  #classify(what: string, error: unknown): string {
    if (!isTyped(error)) this.#fail(`untyped ${what}`, describe(error));
    return className(error);
  }

  /** The invariants that hold once the stream has ended. */
  #check(negotiate: string, closed: string): void {
    for (const name of this.#pending) {
      this.#fail("unsettled call", `${name} pending after the stream ended`);
    }
    if (!this.#ours.closed) {
      this.#fail("leaked transport", "our end is open after the stream ended");
    }
    if (this.#sentError !== undefined && !this.#peer.hungUp) {
      const problem = owedError(this.#peer.received, this.#sentError.condition);
      if (problem !== undefined) {
        this.#fail("stream error not as owed", problem);
      }
    }
    if (!this.#plan.control) return;
    if (negotiate !== "ok" || closed !== "clean") {
      const condition = this.#condition ? ` (${this.#condition})` : "";
      this.#fail(
        "valid stream not clean",
        `negotiate ${negotiate}, closed ${closed}${condition}`,
      );
    }
    const sent = this.#peer.steps.filter((s) => STANZAS.has(s.label))
      .map((s) => s.label).join(",");
    if (negotiate === "ok" && this.#delivered.join(",") !== sent) {
      this.#fail(
        "stanzas lost or reordered",
        `delivered [${this.#delivered}], the peer sent [${sent}]`,
      );
    }
  }

  #fail(kind: string, detail: string): void {
    this.#problems.push({ kind, detail });
  }
}

/**
 * Checks what a peer that did not hang up read after we sent a stream
 * error: our header before it, exactly one `<stream:error>` with the
 * condition, then `</stream:stream>`, and nothing after (or no error at
 * all when our close tag had gone out before it).
 *
 * @param wire Everything our end wrote.
 * @param condition The condition of the error we sent.
 * @returns What is wrong, or undefined.
 */
function owedError(wire: string, condition: string): string | undefined {
  const at = wire.indexOf("<stream:error>");
  if (at < 0) {
    // Our close tag went first (close() was called): no error can follow.
    return wire.includes("</stream:stream>")
      ? undefined
      : `no <stream:error> for ${condition}`;
  }
  const tail = wire.slice(at);
  if (wire.indexOf("<stream:error>", at + 1) >= 0) {
    return "more than one <stream:error>";
  }
  if (!wire.slice(0, at).includes("<stream:stream")) {
    return "<stream:error> before our stream header";
  }
  if (!tail.startsWith(`<stream:error><${condition} `)) {
    return `<stream:error> is not ${condition}: ${tail.slice(0, 120)}`;
  }
  if (!tail.endsWith("</stream:error></stream:stream>")) {
    return `not closed right after the error: ...${tail.slice(-120)}`;
  }
  return undefined;
}

function stanza(rng: Rng, n: number): Element {
  switch (rng.below(3)) {
    case 0:
      return message({ to: "pronto", type: "chat", body: `fuzz ${n}` });
    case 1:
      return presence({ status: `fuzz ${n}` });
    default:
      return iq(
        { type: "get", id: `f${n}` },
        xml("ping", { xmlns: "urn:xmpp:ping" }),
      );
  }
}

function isTyped(error: unknown): boolean {
  return TYPED.some((type) => error instanceof type);
}

function className(error: unknown): string {
  for (const type of TYPED) if (error instanceof type) return type.name;
  return `untyped ${error instanceof Error ? error.name : typeof error}`;
}

/** An error's name, message and first stack frames, on one line. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const stack = error.stack ?? `${error.name}: ${error.message}`;
  return stack.split("\n").slice(0, 4).map((line) => line.trim()).join(" < ");
}
