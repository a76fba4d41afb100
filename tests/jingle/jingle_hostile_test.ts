// The Jingle engine against hostile peers that reach it through the
// server: floods of offers from many addresses, every refused one
// answered and nothing kept for it, and a legitimate session still
// working after.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { message } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import type { Element } from "../../src/xml/element.ts";
import type { JingleOfferHandler, JingleStream } from "../../src/jingle/mod.ts";
import { type HostileNet, hostileNet } from "./_hostile_net.ts";
import { JULIET } from "./_jingle_pair.ts";

export const JINGLE = "urn:xmpp:jingle:1";
export const XMLSTREAM = "urn:xmpp:jingle:apps:xmlstream:0";
export const IBB = "urn:xmpp:jingle:transports:ibb:1";

/** A session-initiate over IBB. */
export function offer(sid: string, initiator?: string): Element {
  return xml(
    "jingle",
    {
      xmlns: JINGLE,
      action: "session-initiate",
      sid,
      ...(initiator !== undefined ? { initiator } : {}),
    },
    xml(
      "content",
      { creator: "initiator", name: "xmlstream" },
      xml("description", { xmlns: XMLSTREAM }),
      xml("transport", { xmlns: IBB, sid: `t-${sid}`, "block-size": 4096 }),
    ),
  );
}

/** What an injected iq got: "result", or the error's condition. */
export async function outcome(answer: Promise<Element>): Promise<string> {
  try {
    await answer;
    return "result";
  } catch (error) {
    if (error instanceof StanzaError) return error.condition;
    throw error;
  }
}

/** Opens Romeo → Juliet and checks a message goes through, then closes. */
export async function legitimate(net: HostileNet): Promise<void> {
  const accepted = Promise.withResolvers<JingleStream>();
  net.juliet.jingle.accept(async (o) => {
    accepted.resolve(await o.accept());
  });
  const mine = await net.romeo.jingle.open(JULIET);
  const hers = await accepted.promise;
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
  await mine.close();
  await hers.closed;
}

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
