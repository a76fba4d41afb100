/**
 * The time-budgeted fuzzer (issue 5): mutated and random input to the
 * parser, and whole streams against a scripted peer that breaks one
 * negotiation step, in both roles. Prints a summary; exits with 1 when
 * anything escaped (uncaught exception, unhandled rejection), hung, leaked
 * (timers, transports) or broke an invariant, else 0.
 *
 * ```sh
 * deno run scripts/fuzz/main.ts --seconds=60 [--seed=N] [--parser-share=0.8]
 * ```
 *
 * Options: `--seconds` (budget, default 60), `--seed` (default: from the
 * clock, printed), `--parser-share` (part of the budget for the parser,
 * default 0.8: it runs about 16,000 inputs/s, the sessions about 900/s),
 * `--concurrency` (sessions at once, default 100). To replay, with the
 * run's `--seed` (the corpus and transcripts derive from it):
 * `--input=SEED` (one parser input, explained), `--session=SEED` (one
 * session, alone), or `--first=N --sessions=M --parser-share=0` (a range
 * of sessions, for a leak found in it).
 * Inputs replay byte for byte; a session replays its plan, but its outcome
 * may still depend on timing (the load of the other sessions) and on the
 * random SCRAM nonces and stream ids. No permission is needed.
 *
 * @module
 */

import { scriptArgs } from "./_oracle.ts";
import { Guard, sleep } from "./guard.ts";
import { buildCorpus } from "./parser_input.ts";
import { explainInput, fuzzParser } from "./parser_fuzz.ts";
import { failed, type Run, summary } from "./report.ts";
import { fuzzSessions } from "./session_fuzz.ts";
import { planSession } from "./session_plan.ts";
import { runSession } from "./session_run.ts";
import { recordTranscripts } from "./transcripts.ts";

const args = scriptArgs();

function numberArg(name: string, fallback: number): number {
  const value = args.get(name);
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw new TypeError(`--${name} must be a number`);
  return n;
}

const seconds = numberArg("seconds", 60);
const seed = numberArg("seed", Date.now() % 1_000_000_007) >>> 0;
const parserShare = Math.min(1, Math.max(0, numberArg("parser-share", 0.8)));
const concurrency = numberArg("concurrency", 100);

const guard = new Guard();
guard.install();
const transcripts = await recordTranscripts(seed);
const donors = transcripts.flatMap((t) => t.steps.map((s) => s.bytes));
const corpus = buildCorpus(transcripts, seed);

if (args.has("input")) {
  console.log(explainInput(numberArg("input", 0) >>> 0, corpus, donors));
  Deno.exit(0);
}
if (args.has("session")) {
  Deno.exit(await replaySession(numberArg("session", 0) >>> 0));
}

const started = performance.now();
const parser = fuzzParser({
  seed,
  ms: seconds * 1000 * parserShare,
  corpus,
  steps: donors,
});
const sessionMs = seconds * 1000 - (performance.now() - started);
const sessions = await fuzzSessions({
  seed,
  ms: parserShare >= 1 ? 0 : Math.max(0, sessionMs),
  transcripts,
  donors,
  guard,
  concurrency,
  round: concurrency * 10,
  ...(args.has("first") ? { first: numberArg("first", 0) } : {}),
  ...(args.has("sessions") ? { maxSessions: numberArg("sessions", 0) } : {}),
});
await sleep(50); // late rejections and exceptions
const run: Run = {
  seed,
  seconds: (performance.now() - started) / 1000,
  concurrency,
  parser,
  sessions,
  guard,
};
console.log(summary(run));
Deno.exit(failed(run) ? 1 : 0);

/** Runs one session alone and prints its plan, outcome and leaks. */
async function replaySession(sessionSeed: number): Promise<number> {
  const plan = planSession(sessionSeed, transcripts);
  const { transcript, ...rest } = plan;
  console.log("plan:", { scenario: transcript.scenario.name, ...rest });
  const result = await runSession(plan, donors);
  await sleep(20);
  const leaked = guard.takePending();
  console.log("result:", {
    negotiate: result.negotiate,
    closed: result.closed,
    condition: result.condition,
    hang: result.hang,
    problems: result.problems,
    leakedTimers: leaked,
    uncaught: guard.uncaught,
    unhandled: guard.unhandled,
    escapes: guard.escapes,
  });
  const bad = result.problems.length + leaked.length + guard.uncaught +
    guard.unhandled;
  return bad > 0 ? 1 : 0;
}
