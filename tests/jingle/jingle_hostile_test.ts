// The Jingle engine against hostile peers that reach it through the
// server: floods of offers from many addresses, every refused one
// answered and nothing kept for it, and a legitimate session still
// working after.

import { LimitError } from "../../src/stream/errors.ts";
import assert from "node:assert/strict";
import type { JingleOfferHandler } from "../../src/jingle/mod.ts";
import {
  type HostileNet,
  hostileNet,
  legitimate,
  offer,
  outcome,
} from "./_hostile_net.ts";

const FLOOD = 500;

/** Offers from `count` addresses: all at once, or one after another. */
async function flood(
  net: HostileNet,
  count: number,
  oneByOne = false,
): Promise<Map<string, number>> {
  const send = (i: number) =>
    outcome(net.inject(`mallory${i}@evil.example/r${i}`, offer(`s${i}`)));
  const answers: string[] = [];
  if (oneByOne) {
    for (let i = 0; i < count; i++) {
      answers.push(await send(i));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } else {
    answers.push(
      ...await Promise.all(Array.from({ length: count }, (_, i) => send(i))),
    );
  }
  const tally = new Map<string, number>();
  for (const a of answers) tally.set(a, (tally.get(a) ?? 0) + 1);
  return tally;
}

const handlers: [string, JingleOfferHandler | undefined][] = [
  ["no accept handler", undefined],
  ["a handler that declines", (o) => o.decline()],
  ["a handler that never decides", () => new Promise<void>(() => {})],
];

for (const [name, handler] of handlers) {
  Deno.test(`a flood of ${FLOOD} session-initiates from as many addresses, with ${name}, is answered in full, keeps at most maxSessions, and leaves open() working`, async () => {
    const net = await hostileNet({ timeoutMs: 400, maxSessions: 16 });
    if (handler !== undefined) net.romeo.jingle.accept(handler);
    const tally = await flood(net, FLOOD);
    const total = [...tally.values()].reduce((a, b) => a + b, 0);
    assert.equal(total, FLOOD, "every offer is answered");
    if (handler === undefined) {
      assert.deepEqual([...tally], [["service-unavailable", FLOOD]]);
    } else {
      const taken = tally.get("result") ?? 0;
      assert.ok(taken > 0 && taken <= 16, `taken ${taken}`);
      assert.equal(tally.get("resource-constraint"), FLOOD - taken);
    }
    // The offers taken are ended (declined, or timed out undecided).
    await new Promise((resolve) => setTimeout(resolve, 600));
    await legitimate(net);
    await net.close();
  });
}

Deno.test("a flood of declined offers whose session-terminates the peers never acknowledge holds at most maxSessions requests of ours, and open() still works meanwhile", async () => {
  const net = await hostileNet(
    { timeoutMs: 3000, maxSessions: 16 },
    {},
    { maxPending: 100 },
  );
  net.hold = true;
  net.romeo.jingle.accept((o) => o.decline());
  const tally = await flood(net, FLOOD, true);
  const taken = tally.get("result") ?? 0;
  assert.equal(taken + (tally.get("resource-constraint") ?? 0), FLOOD);
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(net.held <= 16, `${net.held} requests of ours held`);
  assert.equal(net.toStrangers.length, taken, "each offer taken is declined");
  await legitimate(net);
  net.release();
  await net.close();
});

Deno.test("by design, offers left undecided take the session slots open() shares (offers included in maxSessions), so open() is refused with a LimitError naming maxSessions until they time out, and works after", async () => {
  const net = await hostileNet({ timeoutMs: 300, maxSessions: 4 });
  net.romeo.jingle.accept(() => new Promise<void>(() => {}));
  const tally = await flood(net, 8);
  assert.equal(tally.get("result"), 4);
  assert.equal(tally.get("resource-constraint"), 4);
  await assert.rejects(
    net.romeo.jingle.open("juliet@pronto/balcony"),
    (error) =>
      error instanceof LimitError && error.limit === "maxSessions" &&
      error.max === 4,
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  await legitimate(net);
  await net.close();
});
