/**
 * Runs classified conformance cases through a parser (whole, then in seeded
 * random chunks), checks the outcomes against the expectations, and
 * summarises the results. Shared by `conformance_test.ts` and
 * `scripts/conformance_report.ts`.
 *
 * @module
 */

import type { XmlCondition } from "../../src/xml/errors.ts";
import {
  type Category,
  type Classified,
  classify,
  type Expectation,
  loadSuite,
  plain,
} from "./_conformance.ts";
import { derive, type DerivedCase } from "./_conformance_derived.ts";

/** What a parser did with a document. */
export type Outcome =
  | { kind: "accepted"; tree: string }
  | { kind: "rejected"; condition: XmlCondition; message: string }
  | { kind: "crashed"; message: string };

/** A parser under test. */
export interface Subject {
  /** Parses a whole document at once. */
  whole(bytes: Uint8Array): Outcome;
  /** Parses a document fed in chunks of the given sizes. */
  chunked(bytes: Uint8Array, sizes: () => number): Outcome;
}

/** A category, or `derived` for the derived cases. */
export type Group = Category | "derived";

/** One case run and checked. */
export interface CaseResult {
  /** Test ID (with `#cut` for a derived case). */
  id: string;
  /** Category. */
  group: Group;
  /** Path below `xmlconf/`. */
  uri: string;
  /** What it had to do. */
  expect: Expectation;
  /** Why. */
  reason: string;
  /** Outcome of the whole document. */
  whole: Outcome;
  /** Outcome of the document in random chunks. */
  chunked: Outcome;
  /** Outcome of the document fed one byte at a time. */
  bytewise: Outcome;
  /** What went wrong; empty when the case passed. */
  problems: string[];
}

/** The seed of the chunk sizes (override with CONFORMANCE_SEED). */
export function chunkSeed(): number {
  let value: string | undefined;
  try {
    value = Deno.env.get("CONFORMANCE_SEED");
  } catch {
    value = undefined;
  }
  return value === undefined ? 0x5eed : Number(value) >>> 0;
}

/**
 * A seeded source of chunk sizes (mulberry32): mostly 1 to 8 bytes, at
 * times up to 64, so that every token boundary gets split somewhere.
 *
 * @param seed The seed.
 * @returns A function giving the next chunk size.
 */
export function chunkSizes(seed: number): () => number {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => 1 + Math.floor(next() * (next() < 0.8 ? 8 : 64));
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

function describe(outcome: Outcome): string {
  switch (outcome.kind) {
    case "accepted":
      return "accepted";
    case "rejected":
      return `rejected ${outcome.condition} (${outcome.message})`;
    case "crashed":
      return `crashed: ${outcome.message}`;
  }
}

/**
 * The first place where two serialised trees differ, with some context.
 *
 * @param got Our tree.
 * @param want The expected tree.
 * @returns A short description.
 */
function difference(got: string, want: string): string {
  let i = 0;
  while (i < got.length && got[i] === want[i]) i++;
  const from = Math.max(0, i - 40);
  return `trees differ at ${i}: got …${got.slice(from, i + 60)}… ` +
    `want …${want.slice(from, i + 60)}…`;
}

/**
 * Checks outcomes against an expectation.
 *
 * @param expect The expectation.
 * @param whole The outcome of the whole document.
 * @param chunked The outcome of the chunked document.
 * @returns The problems found (none when the case passes).
 */
export function check(
  expect: Expectation,
  whole: Outcome,
  chunked: Outcome,
): string[] {
  const problems: string[] = [];
  if (whole.kind === "crashed") problems.push(describe(whole));
  if (expect.kind === "accept" && whole.kind === "rejected") {
    problems.push(`expected acceptance, ${describe(whole)}`);
  }
  if (
    expect.kind !== "reject" && expect.tree !== undefined &&
    whole.kind === "accepted"
  ) {
    const want = JSON.stringify(plain(expect.tree));
    if (whole.tree !== want) problems.push(difference(whole.tree, want));
  }
  switch (expect.kind) {
    case "reject":
      if (whole.kind === "accepted") {
        problems.push("expected rejection, accepted");
      } else if (
        whole.kind === "rejected" && expect.conditions !== undefined &&
        !expect.conditions.includes(whole.condition)
      ) {
        problems.push(
          `expected ${expect.conditions.join(" or ")}, ${describe(whole)}`,
        );
      }
      break;
  }
  problems.push(...compareSplit("in chunks", whole, chunked));
  return problems;
}

/**
 * Checks that a document split into chunks had the outcome it had whole.
 *
 * @param how How it was split.
 * @param whole The outcome of the whole document.
 * @param split The outcome of the split document.
 * @returns The problems found.
 */
function compareSplit(how: string, whole: Outcome, split: Outcome): string[] {
  if (split.kind === "crashed") return [`${how}: ${describe(split)}`];
  if (
    whole.kind !== "crashed" &&
    (split.kind !== whole.kind ||
      (split.kind === "accepted" && whole.kind === "accepted" &&
        split.tree !== whole.tree) ||
      (split.kind === "rejected" && whole.kind === "rejected" &&
        split.condition !== whole.condition))
  ) {
    return [
      `${how}, the outcome changes: whole ${describe(whole)}, ` +
      `${how} ${describe(split)}`,
    ];
  }
  return [];
}

function run(
  subject: Subject,
  id: string,
  bytes: Uint8Array,
  expect: Expectation,
  seed: number,
): [Outcome, Outcome, Outcome, string[]] {
  const whole = subject.whole(bytes);
  const chunked = subject.chunked(bytes, chunkSizes(seed ^ hash(id)));
  const bytewise = subject.chunked(bytes, () => 1);
  return [whole, chunked, bytewise, [
    ...check(expect, whole, chunked),
    ...compareSplit("one byte at a time", whole, bytewise),
  ]];
}

/**
 * Runs a suite case.
 *
 * @param subject The parser.
 * @param c The case.
 * @param seed The chunking seed.
 * @returns The result.
 */
export function runCase(
  subject: Subject,
  c: Classified,
  seed: number,
): CaseResult {
  const [whole, chunked, bytewise, problems] = run(
    subject,
    c.test.id,
    c.test.bytes,
    c.expect,
    seed,
  );
  return {
    id: c.test.id,
    group: c.category,
    uri: c.test.uri,
    expect: c.expect,
    reason: c.reason,
    whole,
    chunked,
    bytewise,
    problems,
  };
}

/**
 * Runs a derived case.
 *
 * @param subject The parser.
 * @param d The case.
 * @param seed The chunking seed.
 * @returns The result.
 */
export function runDerived(
  subject: Subject,
  d: DerivedCase,
  seed: number,
): CaseResult {
  const id = `${d.from.id}#cut`;
  const [whole, chunked, bytewise, problems] = run(
    subject,
    id,
    d.bytes,
    d.expect,
    seed,
  );
  return {
    id,
    group: "derived",
    uri: d.from.uri,
    expect: d.expect,
    reason: d.reason,
    whole,
    chunked,
    bytewise,
    problems,
  };
}

/** The suite, classified, and the derived cases; loaded once. */
export interface Prepared {
  /** Every suite case, classified. */
  cases: Classified[];
  /** The derived cases. */
  derived: DerivedCase[];
  /** Cases from which no case was derived, by reason. */
  notDerived: Map<string, number>;
}

let prepared: Prepared | undefined;

/**
 * Loads and classifies the suite (once per process).
 *
 * @returns The prepared cases.
 */
export function prepare(): Prepared {
  if (prepared) return prepared;
  const cases = loadSuite().map(classify);
  const derived: DerivedCase[] = [];
  const notDerived = new Map<string, number>();
  for (const c of cases) {
    const d = derive(c);
    if (typeof d === "string") notDerived.set(d, (notDerived.get(d) ?? 0) + 1);
    else derived.push(d);
  }
  prepared = { cases, derived, notDerived };
  return prepared;
}

/**
 * Runs everything.
 *
 * @param subject The parser.
 * @param seed The chunking seed.
 * @returns One result per suite case, then one per derived case.
 */
export function runAll(subject: Subject, seed: number): CaseResult[] {
  const { cases, derived } = prepare();
  return [
    ...cases.map((c) => runCase(subject, c, seed)),
    ...derived.map((d) => runDerived(subject, d, seed)),
  ];
}

/** Counts of one group. */
export interface GroupSummary {
  /** The group. */
  group: Group;
  /** Cases. */
  total: number;
  /** Cases without problems. */
  passed: number;
  /** Cases accepted (whole document). */
  accepted: number;
  /** Rejections by condition (whole document). */
  rejected: Map<string, number>;
  /** Crashes (whole document). */
  crashed: number;
}

/**
 * Counts results per group.
 *
 * @param results The results.
 * @returns One summary per group that has cases.
 */
export function summarize(results: CaseResult[]): Map<Group, GroupSummary> {
  const groups = new Map<Group, GroupSummary>();
  for (const r of results) {
    let s = groups.get(r.group);
    if (!s) {
      s = {
        group: r.group,
        total: 0,
        passed: 0,
        accepted: 0,
        rejected: new Map(),
        crashed: 0,
      };
      groups.set(r.group, s);
    }
    s.total++;
    if (r.problems.length === 0) s.passed++;
    if (r.whole.kind === "accepted") s.accepted++;
    else if (r.whole.kind === "crashed") s.crashed++;
    else {
      const n = s.rejected.get(r.whole.condition) ?? 0;
      s.rejected.set(r.whole.condition, n + 1);
    }
  }
  return groups;
}

/**
 * Lists failures, one line each, for an assertion message.
 *
 * @param results The results of one group.
 * @param limit How many to list in full.
 * @returns The message.
 */
export function failureReport(results: CaseResult[], limit = 40): string {
  const failed = results.filter((r) => r.problems.length > 0);
  const lines = failed.slice(0, limit).map((r) =>
    `  ${r.id} (${r.uri}): ${r.problems.join("; ")}`
  );
  if (failed.length > limit) {
    lines.push(`  … and ${failed.length - limit} more`);
  }
  return `${failed.length} of ${results.length} failed: ` +
    failed.map((r) => r.id).join(", ") + "\n" + lines.join("\n");
}
