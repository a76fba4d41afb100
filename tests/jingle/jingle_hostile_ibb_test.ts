// In-Band Bytestream packets aimed at a live Jingle session over IBB:
// from a stranger, for other sids, out of sequence, not base64, over the
// block size. A stranger's are refused and change nothing; the peer's bad
// ones end both ends of the session with typed errors, and the engine
// opens again after.

import { causes } from "./_causes.ts";
import assert from "node:assert/strict";
import { xml } from "../../src/stanza/xml.ts";
import { firstValueFrom } from "rxjs";
import { message } from "../../src/stanza/stanza.ts";
import { IbbError, type JingleStream } from "../../src/jingle/mod.ts";
import {
  type HostileNet,
  hostileNet,
  legitimate,
  outcome,
} from "./_hostile_net.ts";
import { JULIET, openPair } from "./_jingle_pair.ts";

const IBB_NS = "http://jabber.org/protocol/ibb";
const MALLORY = "mallory@evil.example/lair";

async function live(net: HostileNet) {
  const { mine, hers } = await openPair(net.romeo, net.juliet);
  assert.equal(mine.jingle.transport, "ibb");
  return { mine, hers, sid: mine.jingle.transportSid };
}

async function talks(mine: JingleStream, hers: JingleStream, body: string) {
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body }));
  assert.equal((await heard).getChildText("body"), body);
  const back = firstValueFrom(mine.stanzas$);
  await hers.send(message({ body }));
  assert.equal((await back).getChildText("body"), body);
}

/** The seq Juliet's next data packet to Romeo on `sid` carries. */
function nextSeq(net: HostileNet, sid: string): number {
  const last = net.fromJuliet.findLast((r) =>
    r.getChild("data", IBB_NS)?.attrs.sid === sid
  );
  const seq = last?.getChild("data", IBB_NS)?.attrs.seq;
  return seq === undefined ? 0 : (Number(seq) + 1) & 0xffff;
}

Deno.test("IBB data and closes from a stranger, or for another sid, at a live Jingle session are item-not-found and the session carries on", async () => {
  const net = await hostileNet({ timeoutMs: 2000 });
  const { mine, hers, sid } = await live(net);
  const data = (s: string, seq: number) =>
    xml("data", { xmlns: IBB_NS, sid: s, seq }, "AAAA");
  const close = (s: string) => xml("close", { xmlns: IBB_NS, sid: s });
  const seq = nextSeq(net, sid);
  const answers = await Promise.all([
    outcome(net.inject(MALLORY, data(sid, seq))),
    outcome(net.inject(MALLORY, close(sid))),
    outcome(net.inject(JULIET, data("other", 0))),
    outcome(net.inject(JULIET, close("other"))),
    outcome(net.inject(JULIET, xml("data", { xmlns: IBB_NS, seq }, "AAAA"))),
  ]);
  assert.deepEqual(answers, Array(5).fill("item-not-found"));
  await talks(mine, hers, "still here");
  await mine.close();
  await hers.closed;
  await net.close();
});

const bad: [
  string,
  (seq: number) => [number | string, string],
  string,
  string,
][] = [
  [
    "out of sequence",
    (seq) => [(seq + 20_000) & 0xffff, "AAAA"],
    "unexpected-request",
    "sequence",
  ],
  ["with a seq past 65535", () => ["70000", "AAAA"], "bad-request", "bad-data"],
  ["not base64", (seq) => [seq, "A*A="], "bad-request", "bad-data"],
  [
    "past the block size",
    (seq) => [seq, btoa("x".repeat(5000))],
    "bad-request",
    "bad-data",
  ],
];

for (const [name, packet, condition, reason] of bad) {
  Deno.test(`an IBB data packet from the peer ${name} is ${condition}, ends both ends of the Jingle session with typed errors, and the engine opens again`, async () => {
    const net = await hostileNet({ timeoutMs: 2000, blockSize: 4096 });
    const { mine, hers, sid } = await live(net);
    const [seq, text] = packet(nextSeq(net, sid));
    const got = await outcome(
      net.inject(JULIET, xml("data", { xmlns: IBB_NS, sid, seq }, text)),
    );
    assert.equal(got, condition);
    const [myEnd, herEnd] = await Promise.all([mine.closed, hers.closed]);
    assert.equal(myEnd.clean, false);
    assert.ok(
      causes(myEnd.error).some((e) =>
        e instanceof IbbError && e.reason === reason
      ),
      String(myEnd.error),
    );
    assert.equal(herEnd.clean, false);
    await legitimate(net);
    await net.close();
  });
}
