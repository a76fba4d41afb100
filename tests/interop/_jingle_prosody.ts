/**
 * Two of our clients on one Prosody (romeo and juliet, with mod_proxy65),
 * each logged in (STARTTLS, SASL, bind) and with a Jingle engine, for the
 * Jingle XML Streams interop tests; and the exchange of numbered messages
 * those tests check for loss and order.
 *
 * @module
 */

import assert from "node:assert/strict";
import { filter, firstValueFrom, tap, toArray } from "rxjs";
import type { E2EStream } from "../../src/e2e.ts";
import { message } from "../../src/stanza/stanza.ts";
import type { Element } from "../../src/xml/element.ts";
import { generateCertificate } from "../../src/transport/certificate.ts";
import { KnownPeers } from "../../src/transport/known_peers.ts";
import {
  type JingleStream,
  JingleStreams,
  type JingleStreamsOptions,
} from "../../src/jingle/mod.ts";
import {
  login,
  type Prosody,
  type ProsodyOptions,
  startProsody,
} from "../../scripts/interop/prosody.ts";
import { TcpTap } from "./_tcp_tap.ts";

/** The plaintext every message carries: never to be seen on the servers. */
export const MARKER = "Wherefore-art-thou-Romeo-7f3a";

const romeoCert = await generateCertificate({ names: ["romeo@pronto"] });
const julietCert = await generateCertificate({ names: ["juliet@pronto"] });

/** How long an exchange may take before it counts as stalled. */
const STALL_MS = 90_000;

/** One of the two clients. */
export interface Party {
  /** Its client stream to Prosody. */
  client: E2EStream;
  /** Its Jingle engine. */
  jingle: JingleStreams;
  /** Its full JID. */
  jid: string;
  /** The relay its client stream goes through, with `tapJuliet`. */
  tap: TcpTap | undefined;
}

/** What {@linkcode withLovers} sets up. */
export interface LoversOptions {
  /** Prosody's options (users and proxy65 are set). */
  prosody?: ProsodyOptions;
  /** Romeo's engine options. */
  romeo?: Partial<JingleStreamsOptions>;
  /** Juliet's engine options. */
  juliet?: Partial<JingleStreamsOptions>;
  /** Put juliet's client stream through a relay (to cut it). */
  tapJuliet?: boolean;
  /** Runs once Prosody is up, before anyone logs in. */
  before?: (prosody: Prosody) => Promise<void> | void;
}

/** What a test gets. */
export interface Lovers {
  prosody: Prosody;
  romeo: Party;
  juliet: Party;
}

async function party(
  prosody: Prosody,
  index: number,
  resource: string,
  cert: { certPem: string; keyPem: string },
  options: Partial<JingleStreamsOptions>,
  tapped: boolean,
): Promise<Party> {
  const tap = tapped
    ? new TcpTap({ hostname: "127.0.0.1", port: prosody.port }, false)
    : undefined;
  const client = await login(prosody, index, resource, { port: tap?.port })
    .catch(async (error) => {
      await tap?.close();
      throw error;
    });
  const jingle = new JingleStreams(client, {
    certificate: { cert: cert.certPem, key: cert.keyPem },
    knownPeers: await KnownPeers.open({ approve: () => true }),
    ...options,
  });
  return { client, jingle, jid: jingle.jid, tap };
}

/**
 * Starts Prosody with romeo and juliet and its SOCKS5 proxy, logs both in
 * (`romeo@pronto/orchard`, `juliet@pronto/balcony`) with a Jingle engine
 * each, runs `test`, and closes everything whatever happens.
 *
 * @param options Prosody's and the engines' options.
 * @param test The test.
 */
export async function withLovers(
  options: LoversOptions,
  test: (lovers: Lovers) => Promise<void>,
): Promise<void> {
  const prosody = await startProsody({
    ...options.prosody,
    users: ["romeo", "juliet"],
    proxy65: true,
  });
  const parties: Party[] = [];
  try {
    await options.before?.(prosody);
    parties.push(
      await party(prosody, 0, "orchard", romeoCert, options.romeo ?? {}, false),
    );
    parties.push(
      await party(
        prosody,
        1,
        "balcony",
        julietCert,
        options.juliet ?? {},
        options.tapJuliet ?? false,
      ),
    );
    await test({ prosody, romeo: parties[0]!, juliet: parties[1]! });
  } finally {
    for (const p of parties) {
      await p.jingle.close();
      await p.client.close().catch(() => {});
      await p.tap?.close();
    }
    await prosody.stop();
  }
}

/**
 * Romeo opens a stream to juliet, who accepts.
 *
 * @param lovers The two clients.
 * @returns Romeo's stream and juliet's.
 */
export async function openPair(
  lovers: Lovers,
): Promise<[JingleStream, JingleStream]> {
  const accepted = Promise.withResolvers<JingleStream>();
  lovers.juliet.jingle.accept(async (offer) => {
    try {
      accepted.resolve(await offer.accept());
    } catch (error) {
      accepted.reject(error);
    }
  });
  accepted.promise.catch(() => {});
  const mine = await lovers.romeo.jingle.open(lovers.juliet.jid);
  return [mine, await accepted.promise];
}

/**
 * The message stanzas a stream gets until it closes cleanly (`all`), and
 * when the last of `count` from `tag` came (`last`).
 */
function heard(
  stream: E2EStream,
  tag: string,
  count: number,
): { all: Promise<Element[]>; last: Promise<void>; got: () => number } {
  const last = Promise.withResolvers<void>();
  const final = `${tag}-${count - 1}`;
  let got = 0;
  const all = firstValueFrom(
    stream.stanzas$.pipe(
      filter((s) => s.name === "message"),
      tap((s) => {
        got++;
        if (s.attrs.id === final) last.resolve();
      }),
      toArray(),
    ),
  );
  const ended = all.then(() => {
    throw new Error(`The stream closed before ${final} came`);
  });
  ended.catch(() => {});
  return { all, last: Promise.race([last.promise, ended]), got: () => got };
}

async function sendNumbered(
  stream: E2EStream,
  tag: string,
  count: number,
): Promise<void> {
  for (let i = 0; i < count; i++) {
    await stream.send(
      message({ id: `${tag}-${i}`, body: `${MARKER} ${tag} ${i}` }),
    );
  }
}

function checkNumbered(got: Element[], tag: string, count: number): void {
  assert.equal(got.length, count, `${tag}: ${got.length} of ${count} came`);
  for (let i = 0; i < count; i++) {
    const stanza = got[i]!;
    if (stanza.attrs.id !== `${tag}-${i}`) {
      assert.fail(`${tag}: stanza ${i} is ${stanza.attrs.id}`);
    }
    if (stanza.getChildText("body") !== `${MARKER} ${tag} ${i}`) {
      assert.fail(`${tag}: stanza ${i} has another body`);
    }
  }
}

/**
 * Both send `count` numbered messages at once; once juliet's last is in,
 * romeo closes: every message arrives once, in order, and both streams end
 * cleanly (the inner stream, then the Jingle session).
 *
 * @param mine Romeo's stream.
 * @param hers Juliet's stream.
 * @param count How many each way.
 */
export async function exchangeAndClose(
  mine: JingleStream,
  hers: JingleStream,
  count: number,
): Promise<void> {
  const atRomeo = heard(mine, "juliet", count);
  const atJuliet = heard(hers, "romeo", count);
  // A stall fails the test, with how far each side got, instead of hanging.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() =>
      reject(
        new Error(
          `Stalled after ${STALL_MS} ms: romeo has ${atRomeo.got()}, ` +
            `juliet ${atJuliet.got()} of ${count}`,
        ),
      ), STALL_MS);
  });
  try {
    await Promise.race([
      Promise.all([
        sendNumbered(mine, "romeo", count),
        sendNumbered(hers, "juliet", count),
        atRomeo.last,
        atJuliet.last,
      ]),
      stalled,
    ]);
  } finally {
    clearTimeout(timer);
  }
  assert.deepEqual(await mine.close(), { clean: true });
  assert.deepEqual(await hers.closed, { clean: true });
  assert.deepEqual(await hers.close(), { clean: true });
  checkNumbered(await atJuliet.all, "romeo", count);
  checkNumbered(await atRomeo.all, "juliet", count);
}
