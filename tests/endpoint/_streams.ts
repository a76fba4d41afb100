// Romeo (initiate()) and Juliet (an E2EStream over a recipient Session), in
// plaintext (by name) over a pair of connected transports: the set-up the
// endpoint and jingle tests share.

import { E2EStream, initiate } from "../../src/e2e.ts";
import type { E2EStreamSettings, InitiateOptions } from "../../src/e2e.ts";
import { Session, type SessionOptions } from "../../src/stream/session.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { pair } from "../stream/_pair.ts";

/** What {@linkcode plainStreams} changes from its defaults. */
export interface PlainStreamsOptions {
  /** The two ends (romeo's, juliet's). Default: the tests' `pair()`. */
  ends?: [Transport, Transport];
  /** More options for romeo's `initiate()`. */
  romeo?: Partial<InitiateOptions>;
  /** Juliet's E2EStream settings. */
  juliet?: E2EStreamSettings;
  /** More options for juliet's Session. */
  julietSession?: Partial<SessionOptions>;
}

/**
 * Negotiates romeo@forza to juliet@pronto with TLS off.
 *
 * @param options What to change.
 * @returns Both streams and the two ends under them.
 */
export async function plainStreams(
  options: PlainStreamsOptions = {},
): Promise<
  { romeo: E2EStream; juliet: E2EStream; a: Transport; b: Transport }
> {
  const [a, b] = options.ends ?? pair();
  const session = new Session({
    role: "recipient",
    transport: b,
    from: "juliet@pronto",
    tls: "off",
    ...options.julietSession,
  });
  const [romeo] = await Promise.all([
    initiate({
      transport: a,
      from: "romeo@forza",
      to: "juliet@pronto",
      tls: "off",
      ...options.romeo,
    }),
    session.negotiate(),
  ]);
  return { romeo, juliet: new E2EStream(session, options.juliet), a, b };
}
