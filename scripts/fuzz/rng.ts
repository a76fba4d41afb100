/**
 * The fuzzer's seeded randomness: the bench's mulberry32 source with the
 * few draws a fuzzer needs, and a mixer that turns (run seed, index) into
 * the seed of one input or one session, so that each can be replayed alone.
 *
 * @module
 */

import { Random } from "../../bench/_random.ts";

/** A seeded source with byte and weighted draws. */
export class Rng extends Random {
  /**
   * An integer in [0, n).
   *
   * @param n Upper bound, at least 1.
   * @returns The draw.
   */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }

  /**
   * Random bytes.
   *
   * @param n How many.
   * @returns The bytes.
   */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.below(256);
    return out;
  }

  /**
   * One choice of a weighted list.
   *
   * @param choices Pairs of weight and value.
   * @returns A value, with probability proportional to its weight.
   */
  weighted<T>(choices: readonly (readonly [number, T])[]): T {
    let total = 0;
    for (const [weight] of choices) total += weight;
    let draw = this.next() * total;
    for (const [weight, value] of choices) {
      draw -= weight;
      if (draw < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }

  /**
   * A size biased to small values: half the time at most `max / 16`.
   *
   * @param max Largest size.
   * @returns A size in [0, max].
   */
  size(max: number): number {
    return this.chance(0.5) ? this.int(0, max >> 4) : this.int(0, max);
  }
}

/**
 * The seed of one item of a run (input or session), well mixed so that
 * neighbouring indexes give unrelated streams.
 *
 * @param run The run's seed.
 * @param index The item's index.
 * @returns A 32-bit seed.
 */
export function itemSeed(run: number, index: number): number {
  let h = Math.imul(run ^ 0x9e3779b9, 0x85ebca6b) ^
    Math.imul(index, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}
