/**
 * Command-line options of the bench scripts: `--name=value`, positive numbers.
 *
 * @module
 */

/**
 * Reads `--name=value` from the command line.
 *
 * @param name Option name, without dashes.
 * @param fallback Value when the option is absent.
 * @returns The value, a positive finite number.
 */
export function option(name: string, fallback: number): number {
  const arg = Deno.args.find((a) => a.startsWith(`--${name}=`));
  const value = arg === undefined
    ? fallback
    : Number(arg.slice(name.length + 3));
  if (!Number.isFinite(value) || value <= 0) throw new Error(`Bad --${name}`);
  return value;
}
