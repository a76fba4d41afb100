/**
 * What the report scripts compute over their rounds. Private module.
 *
 * @module
 */

/**
 * The median of a non-empty list (the mean of the middle two for an even
 * count).
 *
 * @param values The figures.
 * @returns Their median.
 */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2
    ? sorted[mid]!
    : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
