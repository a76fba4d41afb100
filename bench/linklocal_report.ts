/**
 * Link-local discovery over the two-namespace test network: how long from
 * `advertise()` being called (in xe2eA) to our browser in xe2eB telling the
 * peer `appeared`, and to avahi-browse listing it; how long a TXT update
 * and a goodbye take to be seen; and the conflict case, avahi holding the
 * name first: how long `advertise()` takes to probe, rename and announce,
 * and to be seen under its new name. Runs inside the network:
 *
 *     deno task bench:linklocal [--rounds=N]
 *
 * Both processes read the same clock, so times across them compare.
 *
 * @module
 */

import { advertise } from "../src/linklocal/advertise.ts";
import { A, AVAHI_BUS, B, Remote } from "../tests/linklocal/netns/_netns.ts";
import { option } from "./_options.ts";

const ROUNDS = option("rounds", 5);

if (Deno.env.get("XE2E_NETNS") !== A) {
  console.error("Run inside the test network: deno task bench:linklocal");
  Deno.exit(2);
}

const browser = Remote.deno(B, "_browser.ts", [B]);
const avahi = new Remote(
  B,
  ["avahi-browse", "-p", "_presence._tcp"],
  { DBUS_SYSTEM_BUS_ADDRESS: AVAHI_BUS },
  true,
);
const ms = {
  announce: [] as number[],
  seen: [] as number[],
  avahi: [] as number[],
  update: [] as number[],
  goodbye: [] as number[],
  conflictResolved: [] as number[],
  conflictSeen: [] as number[],
};

const epoch = (line: string) => Number(line.split(" ")[2]);
const pause = (n: number) => new Promise((r) => setTimeout(r, n));

for (let round = 0; round < ROUNDS; round++) {
  const name = `bench-${round}@forza`;
  const escaped = `bench-${round}\\064forza`;
  const t0 = Date.now();
  const ad = await advertise({ name, port: 5562, interfaces: [A] });
  ms.announce.push(Date.now() - t0);
  const [seen, avahiSaw] = await Promise.all([
    browser.line((l) => l.startsWith(`appeared ${name} `)),
    avahi.line((l) => l.startsWith("+;") && l.includes(`;${escaped};`)).then(
      () => Date.now(),
    ),
  ]);
  ms.seen.push(epoch(seen) - t0);
  ms.avahi.push(avahiSaw - t0);
  await pause(1500);
  const t1 = Date.now();
  ad.update({ status: "away" });
  ms.update.push(
    epoch(await browser.line((l) => l.startsWith(`changed ${name} `))) - t1,
  );
  const t2 = Date.now();
  await ad.close();
  ms.goodbye.push(
    epoch(await browser.line((l) => l.startsWith(`gone ${name} `))) - t2,
  );

  // The conflict: avahi holds the name first.
  const taken = `taken-${round}@forza`;
  const publisher = new Remote(
    B,
    ["avahi-publish", "-s", taken, "_presence._tcp", "5999", "txtvers=1"],
    { DBUS_SYSTEM_BUS_ADDRESS: AVAHI_BUS },
    true,
  );
  await publisher.line((l) => l.includes("Established under name"));
  await browser.line((l) => l.startsWith(`appeared ${taken} `));
  const t3 = Date.now();
  const renamed = await advertise({ name: taken, port: 5562, interfaces: [A] });
  ms.conflictResolved.push(Date.now() - t3);
  if (renamed.name !== `taken-${round}-1@forza`) {
    throw new Error(`Renamed to ${renamed.name}`);
  }
  ms.conflictSeen.push(
    epoch(
      await browser.line((l) => l.startsWith(`appeared ${renamed.name} `)),
    ) - t3,
  );
  await renamed.close();
  await publisher.stop();
  await pause(500);
}

function row(label: string, values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return `| ${label} | ${median} | ${sorted[0]} | ${sorted.at(-1)} |`;
}

console.log(`link-local discovery, ${ROUNDS} rounds (ms)\n`);
console.log("| from -> to | median | min | max |");
console.log("| --- | ---: | ---: | ---: |");
console.log(
  row("advertise() called -> announced (probing included)", ms.announce),
);
console.log(row("advertise() called -> our browser: appeared", ms.seen));
console.log(row("advertise() called -> avahi-browse lists it", ms.avahi));
console.log(row("TXT update -> our browser: changed", ms.update));
console.log(row("close() (goodbye) -> our browser: gone", ms.goodbye));
console.log(
  row(
    "conflict: advertise() called -> renamed and announced",
    ms.conflictResolved,
  ),
);
console.log(
  row(
    "conflict: advertise() called -> our browser: appeared (renamed)",
    ms.conflictSeen,
  ),
);

await browser.stop();
await avahi.stop();
