// Romeo and Juliet (and Mercutio) on the test network, each with a Jingle
// engine, a certificate and a trust-on-first-use store that approves.

import { generateCertificate } from "../../src/transport/certificate.ts";
import { KnownPeers } from "../../src/transport/known_peers.ts";
import assert from "node:assert/strict";
import { filter, type Subscription } from "rxjs";
import type { E2EStream } from "../../src/endpoint/e2e_stream.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import type { iq } from "../../src/stanza/stanza.ts";
import {
  type JingleStream,
  JingleStreams,
  type JingleStreamsOptions,
} from "../../src/jingle/mod.ts";
import { type Client, type Network, network } from "./_jingle_network.ts";

export const ROMEO = "romeo@forza/orchard";
export const JULIET = "juliet@pronto/balcony";
export const MERCUTIO = "mercutio@forza/street";

export const romeoCert = await generateCertificate({ names: ["romeo@forza"] });
export const julietCert = await generateCertificate({
  names: ["juliet@pronto"],
});

export interface Party {
  client: Client;
  jingle: JingleStreams;
  knownPeers: KnownPeers;
  /** Peers the store was asked to approve. */
  approved: string[];
}

export interface Lovers {
  net: Network;
  romeo: Party;
  juliet: Party;
  /** Closes both engines and the network. */
  close(): Promise<void>;
}

export async function party(
  client: Client,
  cert: { certPem: string; keyPem: string },
  options: Partial<JingleStreamsOptions> = {},
  knownPeers?: KnownPeers,
): Promise<Party> {
  const approved: string[] = [];
  const store = knownPeers ?? await KnownPeers.open({
    approve: (peer) => {
      approved.push(peer);
      return true;
    },
  });
  return {
    client,
    knownPeers: store,
    approved,
    jingle: new JingleStreams(client.stream, {
      jid: client.jid,
      certificate: { cert: cert.certPem, key: cert.keyPem },
      knownPeers: store,
      ...options,
    }),
  };
}

export async function lovers(
  romeoOptions: Partial<JingleStreamsOptions> = {},
  julietOptions: Partial<JingleStreamsOptions> = {},
  extra: string[] = [],
): Promise<Lovers> {
  const net = await network([ROMEO, JULIET, ...extra]);
  const romeo = await party(net.clients.get(ROMEO)!, romeoCert, romeoOptions);
  const juliet = await party(
    net.clients.get(JULIET)!,
    julietCert,
    julietOptions,
  );
  return {
    net,
    romeo,
    juliet,
    async close() {
      await Promise.all([romeo.jingle.close(), juliet.jingle.close()]);
      await net.close();
    },
  };
}

/**
 * `from` opens a session to `to` (at `jid`), which accepts it: the two
 * ends of the one stream.
 */
export async function openPair(
  from: Party,
  to: Party,
  jid = JULIET,
): Promise<{ mine: JingleStream; hers: JingleStream }> {
  const accepted = Promise.withResolvers<JingleStream>();
  to.jingle.accept(async (offer) => {
    accepted.resolve(await offer.accept());
  });
  const mine = await from.jingle.open(jid);
  return { mine, hers: await accepted.promise };
}

/** What `who`'s client stream writes, as it writes it, until `sub` ends. */
export function outgoingOf(
  who: Party,
): { outgoing: string[]; sub: Subscription } {
  const outgoing: string[] = [];
  const sub = who.client.stream.trace$.pipe(
    filter((entry) => entry.direction === "out"),
  ).subscribe((entry) => outgoing.push(entry.text));
  return { outgoing, sub };
}

/**
 * Sends `request` from `from` and checks it is refused with `condition`
 * (and the application condition `application`, or none).
 */
export async function refused(
  from: E2EStream,
  request: ReturnType<typeof iq>,
  condition: string,
  application?: string,
): Promise<void> {
  await assert.rejects(from.request(request), (error) => {
    assert.ok(error instanceof StanzaError, String(error));
    assert.equal(error.condition, condition);
    assert.equal(error.application?.name, application);
    return true;
  });
}

/**
 * Romeo with an engine that declines every offer (`offers()` says how many
 * came), and Juliet's client stream with no engine, to script by hand.
 */
export async function scriptedJuliet(): Promise<{
  net: Network;
  romeo: Party;
  juliet: E2EStream;
  offers: () => number;
}> {
  const net = await network([ROMEO, JULIET]);
  const romeo = await party(net.clients.get(ROMEO)!, romeoCert);
  let offers = 0;
  romeo.jingle.accept((offer) => {
    offers++;
    return offer.decline();
  });
  const juliet = net.clients.get(JULIET)!.stream;
  return { net, romeo, juliet, offers: () => offers };
}
