// Randomised malformed Jingle requests, sent through the server at a live
// session and at absent ones, from the session's peer and from a stranger:
// each is answered (a result or a stanza error), nothing throws out of the
// engine, and the live session keeps working throughout.

import assert from "node:assert/strict";
import fc from "fast-check";
import { firstValueFrom } from "rxjs";
import { message } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import type { Element } from "../../src/xml/element.ts";
import { runs } from "../xml/_arbitraries.ts";
import {
  hostileNet,
  IBB,
  JINGLE,
  legitimate,
  outcome,
  XMLSTREAM,
} from "./_hostile_net.ts";
import { S5B } from "./_offers.ts";
import { JULIET, openPair } from "./_jingle_pair.ts";

const MALLORY = "mallory@evil.example/lair";

const ACTIONS = [
  "session-initiate",
  "session-accept",
  "session-terminate",
  "session-info",
  "transport-info",
  "transport-replace",
  "transport-accept",
  "transport-reject",
  "content-add",
  "security-info",
  "no-such-action",
];

/** Numbers as a peer may write them: fine, zero, negative, huge, junk. */
const number = fc.oneof(
  fc.constantFrom("0", "-1", "1", "4096", "65535", "65536", "99999999999"),
  fc.constantFrom("4096.5", "0x10", " 7", "1e3", "", "NaN"),
  fc.integer({ min: -1_000_000, max: 5_000_000_000 }).map(String),
);

const attr = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom("", "x", "127.0.0.1", "::1", MALLORY, JULIET),
  fc.string({ maxLength: 12 }),
);

function attrs(
  entries: [string, string | undefined][],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of entries) if (v !== undefined) out[k] = v;
  return out;
}

const candidate = fc.record({
  cid: attr,
  host: fc.oneof(attr, fc.constant("no-such-host.invalid")),
  jid: attr,
  port: fc.option(number, { nil: undefined }),
  priority: fc.option(number, { nil: undefined }),
  type: fc.option(
    fc.constantFrom("direct", "proxy", "assisted", "tunnel", "bogus"),
    { nil: undefined },
  ),
}).map((c) => xml("candidate", attrs(Object.entries(c))));

const info = fc.constantFrom(
  [],
  [xml("candidate-used", { cid: "c1" })],
  [xml("candidate-used")],
  [xml("candidate-error")],
  [xml("activated", { cid: "c1" })],
  [xml("proxy-error")],
  [xml("candidate-error"), xml("candidate-used", { cid: "x" })],
);

const transport = fc.record({
  ns: fc.constantFrom(IBB, S5B, "urn:example:nope", JINGLE),
  sid: attr,
  blockSize: fc.option(number, { nil: undefined }),
  stanza: fc.option(fc.constantFrom("iq", "message", "presence"), {
    nil: undefined,
  }),
  mode: fc.option(fc.constantFrom("tcp", "udp"), { nil: undefined }),
  candidates: fc.array(candidate, { maxLength: 24 }),
  info,
}).map((t) =>
  xml(
    "transport",
    {
      xmlns: t.ns,
      ...attrs([
        ["sid", t.sid],
        ["block-size", t.blockSize],
        ["stanza", t.stanza],
        ["mode", t.mode],
      ]),
    },
    ...t.candidates,
    ...t.info,
  )
);

const description = fc.constantFrom(
  [],
  [xml("description", { xmlns: XMLSTREAM })],
  [
    xml("description", { xmlns: XMLSTREAM }),
    xml("description", { xmlns: XMLSTREAM }),
  ],
  [xml("description", { xmlns: "urn:xmpp:jingle:apps:rtp:1" })],
);

const content = fc.record({
  description,
  transports: fc.array(transport, { maxLength: 2 }),
  creator: fc.constantFrom("initiator", "responder", "nobody"),
}).map((c) =>
  xml(
    "content",
    { creator: c.creator, name: "xmlstream" },
    ...c.description,
    ...c.transports,
  )
);

const reason = fc.constantFrom(
  [],
  [xml("reason", null, xml("success"))],
  [xml("reason", null, xml("no-such-reason"))],
  [xml("reason")],
  [xml(
    "reason",
    null,
    xml("gone"),
    xml("decline"),
    xml("text", null, "x".repeat(2000)),
  )],
);

/** A Jingle request, mangled: which sid, from whom, and the payload. */
const request = fc.record({
  action: fc.constantFrom(...ACTIONS),
  sid: fc.constantFrom("live", "absent", "", undefined, "x".repeat(3000)),
  fromPeer: fc.boolean(),
  initiator: attr,
  ns: fc.constantFrom(JINGLE, JINGLE, JINGLE, "urn:xmpp:jingle:0"),
  contents: fc.array(content, { maxLength: 3 }),
  reason,
});

/** A well-formed request but for one or two fields a peer got wrong. */
const nearlyValid = fc.record({
  action: fc.constantFrom(...ACTIONS),
  sid: fc.constantFrom("live", "absent", "fresh"),
  fromPeer: fc.boolean(),
  initiator: fc.constantFrom(undefined, MALLORY, JULIET),
  ns: fc.constant(JINGLE),
  contents: fc.oneof(
    fc.constantFrom("1", "4096", "65535", "0", "-1", "65536").map((size) => [
      xml(
        "content",
        { creator: "initiator", name: "xmlstream" },
        xml("description", { xmlns: XMLSTREAM }),
        xml("transport", { xmlns: IBB, sid: "t1", "block-size": size }),
      ),
    ]),
    fc.array(
      fc.record({
        port: fc.constantFrom("1", "65535", "0", "70000", "-5"),
        host: fc.constantFrom("127.0.0.1", "no-such-host.invalid", "::1"),
        priority: fc.constantFrom("1", "4294967295", "4294967296", "-1"),
      }),
      { maxLength: 24 },
    ).map((cs) => [
      xml(
        "content",
        { creator: "initiator", name: "xmlstream" },
        xml("description", { xmlns: XMLSTREAM }),
        xml(
          "transport",
          { xmlns: S5B, sid: "t2" },
          ...cs.map((c, i) =>
            xml("candidate", { cid: `c${i}`, jid: MALLORY, ...c })
          ),
        ),
      ),
    ]),
  ),
  reason,
});

Deno.test("randomised malformed Jingle requests at a live session and at absent ones are each answered, and the live session keeps working", async () => {
  const net = await hostileNet({ timeoutMs: 1000 });
  const { mine, hers } = await openPair(net.romeo, net.juliet);
  net.romeo.jingle.accept((o) => o.decline());
  const live = mine.jingle.sid;
  const answers = new Map<string, number>();
  const offers = new Set<string>();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(request, nearlyValid), async (r) => {
      const sid = r.sid === "live"
        ? live
        : r.sid === "fresh"
        ? `fresh${n}`
        : r.sid;
      const from = r.fromPeer ? JULIET : MALLORY;
      // The peer may end its own session: that is no attack.
      fc.pre(!(r.fromPeer && sid === live && r.action === "session-terminate"));
      const payload: Element = xml(
        "jingle",
        {
          xmlns: r.ns,
          action: r.action,
          ...attrs([["sid", sid], ["initiator", r.initiator]]),
        },
        ...r.contents,
        ...r.reason,
      );
      const got = await outcome(net.inject(from, payload));
      answers.set(got, (answers.get(got) ?? 0) + 1);
      // Only an offer is taken from anyone but the live session's peer,
      // and nothing but an offer at a session that is not there (an offer
      // taken makes a session of that peer and sid, a short one).
      const at = `${from} ${sid}`;
      if (r.action === "session-initiate" && got === "result") offers.add(at);
      if (
        r.action !== "session-initiate" && !offers.has(at) &&
        (!r.fromPeer || sid !== live)
      ) {
        assert.notEqual(got, "result", `${r.action} at ${at}`);
      }
      if (++n % 50 === 0) {
        // The live session still carries stanzas both ways.
        const heard = firstValueFrom(hers.stanzas$);
        await mine.send(message({ body: `ping ${n}` }));
        assert.equal((await heard).getChildText("body"), `ping ${n}`);
        const back = firstValueFrom(mine.stanzas$);
        await hers.send(message({ body: `pong ${n}` }));
        assert.equal((await back).getChildText("body"), `pong ${n}`);
      }
    }),
    {
      numRuns: runs(300),
      seed: Number(Deno.env.get("JINGLE_FUZZ_SEED") ?? 247),
    },
  );
  assert.ok(n > 200, `${n} requests sent`);
  // Something was refused, something taken (an offer, then declined).
  assert.ok(
    (answers.get("bad-request") ?? 0) > 0,
    JSON.stringify([...answers]),
  );
  assert.equal(mine.state, "open");
  assert.equal(hers.state, "open");
  await mine.close();
  await hers.closed;
  // The declined offers are over: the engine opens again.
  await new Promise((resolve) => setTimeout(resolve, 100));
  await legitimate(net);
  await net.close();
});
