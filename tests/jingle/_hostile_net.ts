// Romeo's engine behind a server that a hostile peer reaches it through:
// the test injects iqs to Romeo from any full JID it likes (as a server
// stamps them), and Romeo's requests to those strangers are kept and, when
// `hold` is set, left unanswered until `release()`. Juliet, a well-behaved
// peer, is routed to and from Romeo as on a real server.

import assert from "node:assert/strict";
import { firstValueFrom } from "rxjs";
import { E2EStream, initiate } from "../../src/e2e.ts";
import { message } from "../../src/stanza/stanza.ts";
import { xml } from "../../src/stanza/xml.ts";
import { Session } from "../../src/stream/session.ts";
import { StanzaError } from "../../src/stanza/error.ts";
import { iq, iqResult } from "../../src/stanza/stanza.ts";
import type { Element } from "../../src/xml/element.ts";
import type { JingleStreamsOptions } from "../../src/jingle/mod.ts";
import { pair } from "../stream/_pair.ts";
import { forward } from "./_jingle_network.ts";
import { IBB, sessionInitiate } from "./_offers.ts";
import {
  JULIET,
  julietCert,
  openPair,
  type Party,
  party,
  ROMEO,
  romeoCert,
} from "./_jingle_pair.ts";

export interface HostileNet {
  romeo: Party;
  juliet: Party;
  /** Sends a Jingle (or other) payload to Romeo from `from`: the answer. */
  inject(from: string, payload: Element): Promise<Element>;
  /** Romeo's requests to anyone but Juliet, in order. */
  toStrangers: Element[];
  /** Juliet's requests to Romeo, in order. */
  fromJuliet: Element[];
  /** Told of each of Romeo's requests to strangers, before it is answered. */
  onStranger: ((request: Element) => void) | undefined;
  /** Whether Romeo's requests to strangers are held unanswered. */
  hold: boolean;
  /** How many of them are held now. */
  readonly held: number;
  /** Answers every held request. */
  release(): void;
  close(): Promise<void>;
}

async function connect(full: string, options: { maxPending?: number } = {}) {
  const domain = full.split("@")[1]!.split("/")[0]!;
  const [a, b] = pair();
  const session = new Session({
    role: "recipient",
    transport: b,
    from: domain,
    tls: "off",
  });
  const [stream] = await Promise.all([
    initiate({
      transport: a,
      from: full.split("/")[0]!,
      to: domain,
      tls: "off",
      ...(options.maxPending !== undefined
        ? { maxPendingRequests: options.maxPending }
        : {}),
    }),
    session.negotiate(),
  ]);
  const server = new E2EStream(session, { maxIqHandlers: 4096 });
  server.stanzas$.subscribe({ error: () => {} });
  return { client: { jid: full, stream, wire: a }, server };
}

/** Romeo (with `romeoOptions`) and Juliet behind a server a test speaks for. */
export async function hostileNet(
  romeoOptions: Partial<JingleStreamsOptions> = {},
  julietOptions: Partial<JingleStreamsOptions> = {},
  connection: { maxPending?: number } = {},
): Promise<HostileNet> {
  const r = await connect(ROMEO, connection);
  const j = await connect(JULIET);
  const waiting = new Set<() => void>();
  const toStrangers: Element[] = [];
  const fromJuliet: Element[] = [];
  const net: HostileNet = {
    romeo: undefined!,
    juliet: undefined!,
    toStrangers,
    fromJuliet,
    onStranger: undefined,
    hold: false,
    get held() {
      return waiting.size;
    },
    release() {
      for (const answer of [...waiting]) answer();
    },
    inject(from, payload) {
      return r.server.request(
        iq({ type: "set", to: ROMEO, from }, payload),
        { timeoutMs: 10_000 },
      );
    },
    async close() {
      net.release();
      await Promise.all([net.romeo.jingle.close(), net.juliet.jingle.close()]);
      await Promise.all([r.client.stream.close(), j.client.stream.close()]);
      await Promise.all([r.server.closed, j.server.closed]);
    },
  };
  r.server.onIq((request) => {
    if (request.attrs.to === JULIET) return forward(request, ROMEO, j.server);
    if (request.attrs.to === undefined) return undefined;
    toStrangers.push(request);
    net.onStranger?.(request);
    if (!net.hold) return iqResult(request);
    return new Promise<Element>((resolve) => {
      const answer = () => {
        waiting.delete(answer);
        resolve(iqResult(request));
      };
      waiting.add(answer);
    });
  });
  j.server.onIq((request) => {
    if (request.attrs.to !== ROMEO) {
      return new StanzaError("service-unavailable");
    }
    fromJuliet.push(request);
    if (fromJuliet.length > 10_000) fromJuliet.shift();
    return forward(request, JULIET, r.server);
  });
  net.romeo = await party(r.client, romeoCert, romeoOptions);
  net.juliet = await party(j.client, julietCert, julietOptions);
  return net;
}

export { IBB, JINGLE, XMLSTREAM } from "./_offers.ts";

/** A session-initiate over IBB. */
export function offer(sid: string, initiator?: string): Element {
  return sessionInitiate(
    sid,
    xml("transport", { xmlns: IBB, sid: `t-${sid}`, "block-size": 4096 }),
    initiator !== undefined ? { initiator } : {},
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
  const { mine, hers } = await openPair(net.romeo, net.juliet);
  const heard = firstValueFrom(hers.stanzas$);
  await mine.send(message({ body: "Wherefore art thou" }));
  assert.equal((await heard).getChildText("body"), "Wherefore art thou");
  await mine.close();
  await hers.closed;
}
