/**
 * What one fuzz session does, drawn from its seed: which transcript, which
 * role our end plays, which of the peer's steps breaks and how, our
 * deadlines, and when the fuzzer calls `send()` and `close()`.
 *
 * @module
 */

import { type Fault, isTlsGate } from "./peer.ts";
import { Rng } from "./rng.ts";
import type { Role, Transcript } from "./transcripts.ts";

/** Everything one session does. */
export interface SessionPlan {
  /** The session's seed. */
  seed: number;
  /** Which transcript. */
  transcript: Transcript;
  /** Our end's role (the peer plays the other). */
  role: Role;
  /** Index of the faulty step among the peer's steps. */
  target: number;
  /** Its name, such as `features#2` (the second stream's features). */
  step: string;
  /** The fault. */
  fault: Fault;
  /**
   * Whether the stream stays valid (no fault, the step split in pieces, or
   * plaintext injected after the TLS gate), so that it must end cleanly.
   */
  control: boolean;
  /** Our negotiation deadline. */
  negotiationTimeoutMs: number;
  /** Our close deadline. */
  closeTimeoutMs: number;
  /** Our idle deadline, if any. */
  idleTimeoutMs: number | undefined;
  /** Our keepalive period, if any. */
  keepaliveMs: number | undefined;
  /** When we call `close()`: a few ms in, once open, or never (idle ends it). */
  closeAt: "early" | "open" | "never";
  /** Delay before that call, in ms. */
  closeDelayMs: number;
  /** Delays of the `send()` calls made while negotiating. */
  earlySends: number[];
  /** `send()` calls once open. */
  openSends: number;
  /** Whether the peer's close tag waits for ours. */
  waitForOurClose: boolean;
  /**
   * Whether our end tolerates legacy link-local peers (`legacy: true`);
   * every invariant holds the same, and a valid stream still ends clean.
   */
  legacy: boolean;
}

const FAULT_WEIGHTS: readonly (readonly [number, Fault])[] = [
  [4, "none"],
  [30, "mutate"],
  [14, "frames"],
  [8, "drop"],
  [8, "duplicate"],
  [6, "split"],
  [3, "trickle"],
  [8, "inject"],
  [6, "truncate"],
  [5, "hangup"],
  [5, "stall"],
  [6, "reset"],
];

/**
 * Draws the plan of one session.
 *
 * @param seed The session's seed.
 * @param transcripts The recorded transcripts.
 * @returns The plan.
 */
export function planSession(
  seed: number,
  transcripts: readonly Transcript[],
): SessionPlan {
  const rng = new Rng(seed);
  const transcript = rng.pick(transcripts);
  const role: Role = rng.chance(0.5) ? "initiator" : "recipient";
  const peerSteps = transcript.steps.filter((s) => s.side !== role);
  const target = rng.below(peerSteps.length);
  const step = peerSteps[target]!;
  let fault = rng.weighted(FAULT_WEIGHTS);
  if (fault === "reset" && isTlsGate(step) && rng.chance(0.5)) {
    fault = "tls-fail";
  }
  const control = fault === "none" || fault === "split" ||
    (fault === "inject" && isTlsGate(step));
  const closeAt = control
    ? "open"
    : rng.weighted([[15, "early"], [70, "open"], [15, "never"]] as const);
  const idle = closeAt === "never" || (!control && rng.chance(0.3));
  const earlySends = control ? 0 : rng.weighted([[6, 0], [3, 1], [1, 2]]);
  return {
    seed,
    transcript,
    role,
    target,
    step: `${step.label}#${step.stream}`,
    fault,
    control,
    // Valid streams must not time out under load: generous deadlines.
    negotiationTimeoutMs: control ? 10_000 : rng.int(200, 500),
    closeTimeoutMs: control ? 5_000 : rng.int(50, 300),
    idleTimeoutMs: idle ? rng.int(150, 400) : undefined,
    keepaliveMs: rng.chance(0.2) ? rng.int(20, 100) : undefined,
    closeAt,
    closeDelayMs: closeAt === "early" ? rng.int(0, 30) : rng.int(0, 20),
    earlySends: Array.from({ length: earlySends }, () => rng.int(0, 30)),
    openSends: rng.int(0, 3),
    waitForOurClose: closeAt !== "never" &&
      (role === "initiator" || rng.chance(0.5)),
    // Drawn last, so that the draws above stay what they were for a seed.
    legacy: rng.chance(0.3),
  };
}
