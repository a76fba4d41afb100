/**
 * The session half of the fuzzer: whole streams between one of our
 * `Session` ends (initiator or recipient, drawn per session) and a scripted
 * peer that replays the other side of a recorded transcript with one fault
 * at a chosen step, while the fuzzer calls `send()` and `close()` at random
 * points (see {@linkcode planSession} and {@linkcode runSession}).
 *
 * Sessions run concurrently, in rounds; after each round every timer the
 * library started must have been cleared.
 *
 * @module
 */

import { type Guard, sleep } from "./guard.ts";
import { itemSeed } from "./rng.ts";
import { planSession } from "./session_plan.ts";
import { runSession, type SessionResult } from "./session_run.ts";
import { bump, Failures } from "./tally.ts";
import type { Transcript } from "./transcripts.ts";

/** What the session half did. */
export interface SessionStats {
  /** Sessions run. */
  sessions: number;
  /** Sessions by our role (and whether it tolerated legacy peers). */
  roles: Map<string, number>;
  /** Sessions by faulty step (`role:label#stream`) and by fault. */
  steps: Map<string, number>;
  faults: Map<string, number>;
  /** `negotiate()` outcomes and `closed` outcomes. */
  negotiate: Map<string, number>;
  closed: Map<string, number>;
  /** Stream error conditions the streams ended with. */
  conditions: Map<string, number>;
  /** Control sessions (valid streams) run. */
  controls: number;
  /** Watchdog expiries. */
  hangs: number;
  /** Timers still pending after a round, and where they were started. */
  leakedTimers: number;
  timerOrigins: Map<string, number>;
  /** Transports left open. */
  leakedTransports: number;
  /** Broken invariants. */
  failures: Failures;
  /** Milliseconds spent. */
  ms: number;
}

/**
 * Runs sessions until the deadline: rounds of `round` sessions, `concurrency`
 * at a time; after each round, the library's pending timers are leaks.
 *
 * @param options Run seed, deadline, transcripts, donors, guard, pacing.
 * @returns The statistics.
 */
export async function fuzzSessions(options: {
  seed: number;
  ms: number;
  transcripts: readonly Transcript[];
  donors: readonly Uint8Array[];
  guard: Guard;
  concurrency: number;
  round: number;
  /** Index of the first session (to replay part of a run). */
  first?: number;
  /** Most sessions to run. */
  maxSessions?: number;
}): Promise<SessionStats> {
  const stats: SessionStats = {
    sessions: 0,
    roles: new Map(),
    steps: new Map(),
    faults: new Map(),
    negotiate: new Map(),
    closed: new Map(),
    conditions: new Map(),
    controls: 0,
    hangs: 0,
    leakedTimers: 0,
    timerOrigins: new Map(),
    leakedTransports: 0,
    failures: new Failures(),
    ms: 0,
  };
  const started = performance.now();
  const deadline = started + options.ms;
  let next = options.first ?? 0;
  const max = next + (options.maxSessions ?? Infinity);
  const record = (result: SessionResult) => {
    const { plan } = result;
    stats.sessions++;
    bump(stats.roles, plan.legacy ? `${plan.role} (legacy)` : plan.role);
    bump(
      stats.steps,
      `${plan.role === "initiator" ? "recipient" : "initiator"}:${plan.step}`,
    );
    bump(stats.faults, plan.fault);
    bump(stats.negotiate, result.negotiate);
    bump(stats.closed, result.closed);
    if (result.condition) bump(stats.conditions, result.condition);
    if (plan.control) stats.controls++;
    if (result.hang) stats.hangs++;
    for (const problem of result.problems) {
      if (problem.kind === "leaked transport") stats.leakedTransports++;
      stats.failures.add({
        ...problem,
        seed: plan.seed,
        hint: `--seed=${options.seed} --session=${plan.seed}: ` +
          `${plan.transcript.scenario.name}, ` +
          `our ${plan.role}, ${plan.fault} at ${plan.step}`,
      });
    }
  };
  while (next < max && performance.now() < deadline) {
    const first = next;
    const end = Math.min(max, next + options.round);
    const worker = async () => {
      while (next < end && performance.now() < deadline) {
        const seed = itemSeed(options.seed, next++);
        record(
          await runSession(
            planSession(seed, options.transcripts),
            options.donors,
          ),
        );
      }
    };
    await Promise.all(Array.from({ length: options.concurrency }, worker));
    await sleep(10);
    const leaked = options.guard.takePending();
    if (leaked.length > 0) {
      stats.leakedTimers += leaked.length;
      for (const timer of leaked) {
        bump(
          stats.timerOrigins,
          `${timer.kind} ${timer.ms} ms at ${timer.origin}`,
        );
      }
      stats.failures.add({
        kind: "leaked timers",
        seed: itemSeed(options.seed, first),
        detail: `${leaked.length} timer(s) pending after sessions ${first}..${
          next - 1
        } ended: ${leaked[0]!.kind} ${leaked[0]!.ms} ms at ${
          leaked[0]!.origin
        }`,
        hint: `--seed=${options.seed} --parser-share=0 --first=${first} ` +
          `--sessions=${next - first}`,
      });
    }
  }
  stats.ms = performance.now() - started;
  return stats;
}
