/**
 * Differential fuzzing of JID normalisation against precis_i18n (the
 * PRECIS reference implementation in Python; Debian's python3-precis-i18n):
 * random strings, each enforced as a localpart (UsernameCaseMapped) and as
 * a resourcepart (OpaqueString) by both; the verdicts and the normalised
 * forms must agree. The strings mix ASCII with characters from every class
 * the rules tell apart (letters of many scripts, marks, digits, fullwidth and
 * compatibility forms, spaces, controls, default-ignorables, noncharacters,
 * private use, the RFC 5892 exceptions), and some are right-to-left (Hebrew,
 * Arabic, digits, marks, separators: the Bidi Rule) or Indic and Persian with
 * joiners (CONTEXTJ). Counted apart, not reported: characters RFC 7622
 * forbids in localparts and PRECIS does not (`"&'/:<>@`), and strings with a
 * code point unassigned in the oracle's Unicode version.
 *
 * Exits with 1 and the smallest string of each kind of difference; with 0
 * and a note when the oracle is missing.
 *
 *     deno task fuzz:precis [--inputs=N] [--seed=S]
 *
 * @module
 */

import {
  normalizeLocalpart,
  normalizeResourcepart,
} from "../../src/transport/_jid_normalize.ts";
import { Oracle, runOptions, scriptArgs } from "./_oracle.ts";
import { itemSeed, Rng } from "./rng.ts";

const { inputs, seed } = runOptions(scriptArgs());

// One JSON string per line in; per line out, each profile's result (null
// when refused, with the reason), and whether a code point is unassigned.
const ORACLE = String.raw`
import sys, json, unicodedata
try:
    import precis_i18n
except ImportError:
    print("missing", flush=True); sys.exit(0)
profiles = {"local": precis_i18n.get_profile("UsernameCaseMapped"),
            "resource": precis_i18n.get_profile("OpaqueString")}
print("ready", unicodedata.unidata_version, flush=True)
for line in sys.stdin:
    s = json.loads(line)
    out = {"unassigned": any(unicodedata.category(c) == "Cn" for c in s)}
    for part, profile in profiles.items():
        try:
            out[part] = profile.enforce(s)
        except UnicodeEncodeError as e:
            out[part] = None
            out[part + "Why"] = str(e.reason)
    print(json.dumps(out), flush=True)
`;

// Debian's package is for the system's python3, which another python3 on
// the PATH may hide.
const PYTHON = ["/usr/bin/python3", "python3"];

const ranges = (...bounds: number[]): number[] => {
  const out: number[] = [];
  for (let i = 0; i < bounds.length; i += 2) {
    for (let c = bounds[i]!; c <= bounds[i + 1]!; c++) out.push(c);
  }
  return out;
};
const EVERYTHING = ranges(
  ...[0x00, 0x7f, 0xa0, 0x17f, 0x1c4, 0x1cc, 0x2b0, 0x3ff, 0x400, 0x45f],
  ...[0x5d0, 0x5f4, 0x620, 0x6ff, 0x900, 0x97f, 0x1100, 0x11ff, 0x1e00, 0x1fff],
  ...[0x2000, 0x209f, 0x2100, 0x218f, 0x2460, 0x24ff, 0x3000, 0x30ff],
  ...[0x4e00, 0x4e20, 0xac00, 0xac20, 0xe000, 0xe010, 0xfb00, 0xfb06],
  ...[0xfdd0, 0xfdef, 0xfe00, 0xfe0f, 0xfeff, 0xfeff, 0xff01, 0xffff],
  ...[0x1d400, 0x1d420, 0x1f1e6, 0x1f1ff, 0x1f600, 0x1f610, 0xe0001, 0xe0001],
  ...[0xe0020, 0xe0030, 0x2fa1d, 0x2fa1d, 0x30000, 0x30010, 0x10ffff, 0x10ffff],
);
const RIGHT_TO_LEFT = [
  ...[0x5d0, 0x5d1, 0x5ea, 0x5b0, 0x5b4, 0x5f3, 0x627, 0x628, 0x62e, 0x645],
  ...[0x647, 0x648, 0x64a, 0x6cc, 0x6fd, 0x64b, 0x650, 0x652, 0x660, 0x661],
  ...[0x669, 0x6f0, 0x6f5, 0x7c0, 0x7ca, 0x10d00, 0x10d30, 0x1e900, 0x1e950],
  ...[0x200c, 0x200c, 0x30, 0x35, 0x2d, 0x2e, 0x5f, 0x61, 0x7a, 0xb7, 0x300],
  ...[0x23, 0x2b],
];
const JOINERS = [
  ...[0x915, 0x937, 0x93f, 0x94d, 0xd15, 0xd4d, 0xd9a, 0xdca, 0x1000, 0x1039],
  ...[0x103a, 0x1780, 0x17d2, 0x200c, 0x200d, 0x61],
];

/** One string: a few characters of one of three pools. */
function randomString(rng: Rng): string {
  const length = 1 + rng.below(rng.chance(0.7) ? 3 : 8);
  const pool = rng.weighted(
    [[55, EVERYTHING], [35, RIGHT_TO_LEFT], [10, JOINERS]] as const,
  );
  let out = "";
  for (let i = 0; i < length; i++) {
    out += String.fromCodePoint(
      pool === EVERYTHING && rng.chance(0.5)
        ? 0x61 + rng.below(26)
        : pool[rng.below(pool.length)]!,
    );
  }
  return out;
}

function ours(normalize: (s: string) => string, s: string): string | null {
  try {
    return normalize(s);
  } catch {
    return null;
  }
}

const oracle = await Oracle.start(ORACLE, PYTHON);
if (oracle === undefined) {
  console.log("fuzz:precis skipped: no python3 with precis_i18n");
  Deno.exit(0);
}
await run(oracle);

async function run(oracle: Oracle): Promise<never> {
  console.log(
    `# Differential fuzzing against precis_i18n (Unicode ${oracle.version}), seed ${seed}\n`,
  );
  const strings: string[] = [];
  for (let i = 0; i < inputs; i++) {
    strings.push(randomString(new Rng(itemSeed(seed, i))));
  }
  const encoder = new TextEncoder();
  const writing = (async () => {
    for (const s of strings) {
      await oracle.write(encoder.encode(JSON.stringify(s) + "\n"));
    }
  })();
  const counts = { same: 0, unassigned: 0, rfc7622: 0 };
  const differences = new Map<string, string>();
  for (const s of strings) {
    const answer = JSON.parse(await oracle.line()) as Record<
      string,
      string | boolean | null
    >;
    if (answer.unassigned) {
      counts.unassigned++;
      continue;
    }
    for (const part of ["local", "resource"] as const) {
      const mine = ours(
        part === "local" ? normalizeLocalpart : normalizeResourcepart,
        s,
      );
      const theirs = answer[part] as string | null;
      if (mine === theirs) {
        counts.same++;
        continue;
      }
      if (
        part === "local" && mine === null && theirs !== null &&
        /["&'/:<>@]/.test(theirs)
      ) {
        counts.rfc7622++;
        continue;
      }
      const kind = mine === null
        ? `${part}: we refuse, precis_i18n accepts`
        : theirs === null
        ? `${part}: we accept, precis_i18n refuses (${answer[part + "Why"]})`
        : `${part}: both accept, normalised differently`;
      const shown = `${JSON.stringify(s)} [${
        [...s].map((c) => c.codePointAt(0)!.toString(16)).join(" ")
      }]: ours ${JSON.stringify(mine)}, precis_i18n ${JSON.stringify(theirs)}`;
      const seen = differences.get(kind);
      if (seen === undefined || shown.length < seen.length) {
        differences.set(kind, shown);
      }
    }
  }
  await writing;
  await oracle.close();
  console.log(
    `${inputs} strings, two parts each: ${counts.same} agree; apart: ` +
      `${counts.rfc7622} localparts with a character RFC 7622 forbids, ` +
      `${counts.unassigned} strings unassigned in the oracle's Unicode`,
  );
  if (differences.size === 0) {
    console.log("\nVerdict: PASS (normalisation agrees with precis_i18n)");
    Deno.exit(0);
  }
  for (const [kind, shown] of differences) {
    console.log(`\n## ${kind}\n${shown}`);
  }
  console.log(`\nVerdict: FAIL (replay with --seed=${seed})`);
  Deno.exit(1);
}
