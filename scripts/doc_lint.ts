/**
 * `deno doc --lint` for the published entry points, minus one known false
 * positive: `private-type-ref` for types of another package (our operators
 * take and return RxJS `Observable`s). Deno drops that diagnostic for
 * `jsr:`/`https:` packages (denoland/deno#27364, fixed by #34339) but still
 * raises it for `npm:` ones, whose files resolve to `file:` paths. Only the
 * RxJS type names below are excused; every other diagnostic fails the run.
 *
 *     deno run --allow-run --allow-read scripts/doc_lint.ts
 *
 * @module
 */

const ENTRY_POINTS = [
  "mod.ts",
  "src/xml/mod.ts",
  "src/stanza/mod.ts",
  "src/transport/mod.ts",
  "src/sasl/mod.ts",
  "src/linklocal/mod.ts",
];
/** Types of the `rxjs` package that our public API uses on purpose. */
const EXTERNAL_TYPES = new Set(["Observable", "OperatorFunction"]);

const { stdout, stderr } = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...ENTRY_POINTS],
  env: { NO_COLOR: "1" },
}).output();
const output = new TextDecoder().decode(stdout) +
  new TextDecoder().decode(stderr);

const headings = [...output.matchAll(/^error\[([a-z-]+)\]: (.*)$/gm)];
const excused = headings.filter(([, code, text]) =>
  code === "private-type-ref" &&
  EXTERNAL_TYPES.has(/references private type '([^']+)'/.exec(text!)?.[1]!)
);
const failing = headings.length - excused.length;
if (failing > 0) {
  console.error(output);
  console.error(`doc lint: ${failing} problem(s)`);
  Deno.exit(1);
}
console.log(
  `doc lint: ok (${excused.length} excused reference(s) to RxJS types)`,
);
