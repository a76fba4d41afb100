/**
 * The parser half of the fuzzer: inputs from {@linkcode parserInput}, each
 * checked by {@linkcode check} (whole and chunked), until the deadline.
 *
 * @module
 */

import { check, chunking, errorKey, parse } from "./parser_check.ts";
import { parserInput } from "./parser_input.ts";
import { itemSeed } from "./rng.ts";
import { bump, Failures } from "./tally.ts";

/** What the parser half did. */
export interface ParserStats {
  /** Inputs generated (each parsed whole and chunked). */
  inputs: number;
  /** Their total size in bytes. */
  bytes: number;
  /** Inputs accepted as well-formed. */
  accepted: number;
  /** Rejected inputs by `XmlError` condition. */
  conditions: Map<string, number>;
  /** Inputs by how they were made. */
  kinds: Map<string, number>;
  /** Milliseconds spent. */
  ms: number;
  /** Broken invariants. */
  failures: Failures;
}

/**
 * Runs inputs until the deadline.
 *
 * @param options Run seed, deadline, corpus and steps.
 * @returns The statistics.
 */
export function fuzzParser(options: {
  seed: number;
  ms: number;
  corpus: readonly Uint8Array[];
  steps: readonly Uint8Array[];
  maxInputs?: number;
}): ParserStats {
  const stats: ParserStats = {
    inputs: 0,
    bytes: 0,
    accepted: 0,
    conditions: new Map(),
    kinds: new Map(),
    ms: 0,
    failures: new Failures(),
  };
  const started = performance.now();
  const deadline = started + options.ms;
  const max = options.maxInputs ?? Infinity;
  while (stats.inputs < max) {
    if ((stats.inputs & 255) === 0 && performance.now() >= deadline) break;
    const seed = itemSeed(options.seed, stats.inputs);
    const input = parserInput(seed, options.corpus, options.steps);
    const { outcome, problem } = check(seed, input);
    stats.inputs++;
    stats.bytes += input.bytes.length;
    bump(stats.kinds, input.kind);
    if (outcome === "accepted") stats.accepted++;
    else bump(stats.conditions, outcome);
    if (problem !== undefined) {
      const hint = `--seed=${options.seed} --input=${seed}`;
      stats.failures.add({ ...problem, seed, hint });
    }
  }
  stats.ms = performance.now() - started;
  return stats;
}

/**
 * Describes one input for a reproduction: its bytes and both outcomes.
 *
 * @param seed The input's seed.
 * @param corpus The corpus.
 * @param steps Negotiation chunks.
 * @returns Readable lines.
 */
export function explainInput(
  seed: number,
  corpus: readonly Uint8Array[],
  steps: readonly Uint8Array[],
): string {
  const input = parserInput(seed, corpus, steps);
  const { chunks, pauses } = chunking(seed, input);
  const whole = parse([input.bytes], input, pauses[0]);
  const chunked = parse(chunks, input, pauses[1]);
  const { problem } = check(seed, input);
  return [
    `input ${seed}: ${input.kind}, ${input.bytes.length} bytes, options ${
      JSON.stringify(input.options)
    }, switch limits ${JSON.stringify(input.switchLimits ?? null)}, ` +
    `pause per frame (whole, chunked) ${pauses}`,
    `bytes (latin1-escaped): ${JSON.stringify(latin1(input.bytes))}`,
    `chunk lengths: ${chunks.map((c) => c.length).join(",")}`,
    `whole:   ${errorKey(whole.error)}`,
    `chunked: ${errorKey(chunked.error)}`,
    `verdict: ${problem ? `${problem.kind}: ${problem.detail}` : "ok"}`,
  ].join("\n");
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}
