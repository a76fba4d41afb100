// A peer that offers IBB with its data in messages (XEP-0261 allows
// stanza='message'): the offer is accepted as it is, and the stream inside
// runs over it.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { iq, iqResult, message } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import type { Element } from "../../src/xml/element.ts";
import { KnownPeers } from "../../src/transport/known_peers.ts";
import { InBandBytestreams, type JingleStream } from "../../src/jingle/mod.ts";
import { innerStream } from "../../src/jingle/_inner_stream.ts";
import { network } from "./_jingle_network.ts";
import { IBB, JINGLE, sessionInitiate } from "./_offers.ts";
import { JULIET, julietCert, party, ROMEO, romeoCert } from "./_jingle_pair.ts";

Deno.test("an IBB offer with stanza='message' is accepted as offered, and the stream inside runs over messages", async () => {
  const net = await network([ROMEO, JULIET]);
  const romeo = await party(net.clients.get(ROMEO)!, romeoCert);
  const accepted = Promise.withResolvers<JingleStream>();
  romeo.jingle.accept(async (offer) => {
    assert.equal(offer.transport, "ibb");
    accepted.resolve(await offer.accept());
  });
  // Juliet by hand: a client stream with IBB, and no Jingle engine.
  const juliet = net.clients.get(JULIET)!.stream;
  const ibb = new InBandBytestreams(juliet);
  const accept = Promise.withResolvers<Element>();
  const terminated = Promise.withResolvers<void>();
  juliet.handle("set", JINGLE, "jingle", (request) => {
    const payload = request.getChild("jingle", JINGLE)!;
    if (payload.attrs.action === "session-accept") accept.resolve(payload);
    if (payload.attrs.action === "session-terminate") terminated.resolve();
    return iqResult(request);
  });
  await juliet.request(
    iq(
      { type: "set", to: ROMEO },
      sessionInitiate(
        "j1",
        xml("transport", {
          xmlns: IBB,
          sid: "b1",
          "block-size": 2048,
          stanza: "message",
        }),
        { initiator: JULIET },
      ),
    ),
  );
  const transport = (await accept.promise).getChild("content", JINGLE)!
    .getChild("transport", IBB)!;
  assert.equal(transport.attrs.stanza, "message");
  const bytestream = await ibb.open("b1", {
    to: ROMEO,
    blockSize: 2048,
    stanza: "message",
  });
  const [hers, mine] = await Promise.all([
    innerStream(bytestream, {
      role: "initiator",
      ownBare: "juliet@pronto",
      peerBare: "romeo@forza",
      knownPeers: await KnownPeers.open({ approve: () => true }),
      certificate: { cert: julietCert.certPem, key: julietCert.keyPem },
      stream: {},
      jingle: {
        sid: "j1",
        peer: ROMEO,
        role: "initiator",
        transport: "ibb",
        fellBack: false,
        transportSid: "b1",
      },
      hooks: { ended: terminated.promise },
      started: () => {},
    }),
    accepted.promise,
  ]);
  assert.equal(mine.jingle.transport, "ibb");
  assert.equal(mine.info.encrypted, true);
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.closed, { clean: true });
  await terminated.promise;
  await bytestream.closed;
  ibb.close();
  await romeo.jingle.close();
  await net.close();
});
