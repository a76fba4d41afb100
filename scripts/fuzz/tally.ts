/**
 * Counting helpers shared by both halves of the fuzzer.
 *
 * @module
 */

/** Something that broke an invariant, with what it takes to see it again. */
export interface Failure {
  /** Which invariant. */
  kind: string;
  /** The seed of the input or session. */
  seed: number;
  /** What happened. */
  detail: string;
  /** Options of `main.ts` that reproduce it. */
  hint: string;
}

/** Broken invariants: all counted, the first few of each kind kept. */
export class Failures {
  /** The failures kept, in the order they happened. */
  readonly kept: Failure[] = [];
  /** How many of each kind. */
  readonly byKind = new Map<string, number>();
  /** How many in all. */
  count = 0;

  /** @param keepPerKind How many of each kind to keep. */
  constructor(readonly keepPerKind = 5) {}

  /**
   * Counts a failure, and keeps it if it is one of the first of its kind.
   *
   * @param failure The failure.
   */
  add(failure: Failure): void {
    this.count++;
    if (bump(this.byKind, failure.kind) <= this.keepPerKind) {
      this.kept.push(failure);
    }
  }
}

/**
 * Counts one more of `key`.
 *
 * @param map Counts by key.
 * @param key The key.
 * @returns The new count.
 */
export function bump(map: Map<string, number>, key: string): number {
  const n = (map.get(key) ?? 0) + 1;
  map.set(key, n);
  return n;
}
