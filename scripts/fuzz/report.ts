/**
 * The fuzzer's summary: figures of both halves, what escaped, what hung or
 * leaked, and the failures with the options that reproduce them.
 *
 * @module
 */

import type { Guard } from "./guard.ts";
import type { ParserStats } from "./parser_fuzz.ts";
import type { SessionStats } from "./session_fuzz.ts";

/** Everything the summary reports. */
export interface Run {
  /** The run's seed. */
  seed: number;
  /** Wall-clock seconds. */
  seconds: number;
  /** Sessions run at once. */
  concurrency: number;
  /** The parser half. */
  parser: ParserStats;
  /** The session half. */
  sessions: SessionStats;
  /** Escapes. */
  guard: Guard;
}

/**
 * Whether the run failed: anything escaped, hung, leaked or broke an
 * invariant.
 *
 * @param run The run.
 * @returns `true` when the exit code must be 1.
 */
export function failed(run: Run): boolean {
  const { parser, sessions, guard } = run;
  return parser.failures.count + sessions.failures.count + guard.uncaught +
      guard.unhandled + sessions.hangs + sessions.leakedTimers +
      sessions.leakedTransports > 0;
}

/**
 * Formats the summary.
 *
 * @param run The run.
 * @returns Lines of text.
 */
export function summary(run: Run): string {
  const { parser: p, sessions: s, guard } = run;
  const failures = new Map([...p.failures.byKind, ...s.failures.byKind]);
  const failureCount = p.failures.count + s.failures.count;
  const lines = [
    `fuzz: seed ${run.seed}, ${run.seconds.toFixed(1)} s ` +
    `(parser ${seconds(p.ms)}, sessions ${seconds(s.ms)})`,
    "",
    `parser inputs: ${n(p.inputs)} (${rate(p.inputs, p.ms)}/s, ` +
    `${n(p.bytes / Math.max(p.inputs, 1))} B average), ` +
    "each parsed whole and in random chunks",
    `  made by: ${top(p.kinds, p.inputs)}`,
    `  accepted: ${n(p.accepted)} (${pct(p.accepted, p.inputs)})`,
    `  XmlError by condition: ${top(p.conditions, p.inputs)}`,
    "",
    `sessions: ${n(s.sessions)} (${rate(s.sessions, s.ms)}/s, ` +
    `${run.concurrency} at once)`,
    `  our role: ${top(s.roles, s.sessions)}`,
    `  faults: ${top(s.faults, s.sessions, 20)}`,
    `  faulty step (peer's side, label#stream): ${
      top(s.steps, s.sessions, 40)
    }`,
    `  negotiate(): ${top(s.negotiate, s.sessions)}`,
    `  closed: ${top(s.closed, s.sessions)}`,
    `  stream errors: ${top(s.conditions, s.sessions)}`,
    `  valid streams (controls, must end clean): ${n(s.controls)}`,
    "",
    `uncaught exceptions: ${guard.uncaught}`,
    `unhandled rejections: ${guard.unhandled}`,
    `hangs: ${s.hangs}`,
    `leaked timers: ${s.leakedTimers}` +
    (s.leakedTimers ? ` (${top(s.timerOrigins, s.leakedTimers, 5)})` : ""),
    `leaked transports: ${s.leakedTransports}`,
    `failures: ${failureCount}` +
    (failureCount ? ` (${top(failures, failureCount)})` : ""),
  ];
  for (const f of [...p.failures.kept, ...s.failures.kept]) {
    lines.push(`  - ${f.kind} [${f.hint}]: ${f.detail}`);
  }
  for (const escape of guard.escapes) lines.push(`  - ${escape}`);
  lines.push(`verdict: ${failed(run) ? "FAIL" : "PASS"}`);
  return lines.join("\n");
}

function n(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function pct(x: number, of: number): string {
  return `${(100 * x / Math.max(1, of)).toFixed(1)}%`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function rate(count: number, ms: number): string {
  return n(count / Math.max(ms, 1) * 1000);
}

/** The largest counts first: `key count (share)`, comma-separated. */
function top(map: Map<string, number>, of: number, limit = 12): string {
  const entries = [...map].sort((a, b) => b[1] - a[1]);
  const shown = entries.slice(0, limit).map(([key, count]) =>
    `${key} ${n(count)} (${pct(count, of)})`
  );
  if (entries.length > limit) shown.push(`${entries.length - limit} more`);
  return shown.join(", ") || "none";
}
