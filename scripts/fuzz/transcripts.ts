/**
 * Valid transcripts to mutate: two honest `Session`s negotiate over the
 * pretend-TLS pair (STARTTLS, then SASL or not), exchange a message, a
 * presence and an iq each way, and close in order. Every chunk either end
 * writes is kept with what it is (the negotiation step), which stream it
 * belongs to, and how many chunks the other end had written before it, so
 * that a scripted peer can replay one side conversationally.
 *
 * Recording is deterministic: while it runs, `crypto.getRandomValues`
 * draws from a seeded source (stream ids, SCRAM nonces).
 *
 * @module
 */

import { Session, type SessionOptions } from "../../src/stream/session.ts";
import { sasl } from "../../src/negotiation/sasl.ts";
import {
  deriveScramCredentials,
  type ScramCredentials,
  type ScramHash,
} from "../../src/sasl/scram.ts";
import { iq, message, presence, xml } from "../../src/stanza/mod.ts";
import { fakeTlsPair } from "../../tests/stream/_pair.ts";
import { Rng } from "./rng.ts";

/** Which end of a stream. */
export type Role = "initiator" | "recipient";

/** One chunk written by one end of an honest stream. */
export interface Step {
  /** Which end wrote it. */
  side: Role;
  /**
   * What it is: `header`, `features`, `starttls`, `proceed`, `auth`,
   * `challenge`, `response`, `success`, `message`, `presence`, `iq` or
   * `close`.
   */
  label: string;
  /** The writer's stream: 1, then one more after each restart. */
  stream: number;
  /** The bytes. */
  bytes: Uint8Array;
  /** How many chunks the other end had written before this one. */
  after: number;
  /** Whether it belongs to negotiation (else to the open stream). */
  negotiation: boolean;
}

/** One recorded honest stream. */
export interface Transcript {
  /** The scenario it was recorded from. */
  scenario: Scenario;
  /** Every chunk of both ends, in the order they were written. */
  steps: Step[];
}

/** A way to negotiate: STARTTLS and, optionally, one SASL mechanism. */
export interface Scenario {
  /** A short name for the summary. */
  name: string;
  /** The SASL mechanism the initiator insists on, or none for no SASL. */
  mechanism: string | undefined;
}

/** The scenarios recorded and fuzzed. */
export const SCENARIOS: readonly Scenario[] = [
  { name: "scram-sha-256", mechanism: "SCRAM-SHA-256" },
  { name: "scram-sha-1", mechanism: "SCRAM-SHA-1" },
  { name: "plain", mechanism: "PLAIN" },
  { name: "starttls-only", mechanism: undefined },
];

/** The initiator's name and password, and the recipient's name. */
export const USER = { name: "romeo", password: "r0m30!", host: "pronto" };

let keys: Map<ScramHash, ScramCredentials> | undefined;

/**
 * Derives the recipient's stored SCRAM keys for {@linkcode USER} (once).
 * Call before {@linkcode endOptions}.
 */
export async function prepareCredentials(): Promise<void> {
  if (keys !== undefined) return;
  const salt = new Uint8Array(16).fill(0x5a);
  keys = new Map();
  for (const hash of ["SHA-1", "SHA-256"] as const) {
    keys.set(
      hash,
      await deriveScramCredentials(USER.password, hash, {
        salt,
        iterations: 4096,
      }),
    );
  }
}

/**
 * Looks up the stored keys, as a recipient's `credentials` callback.
 *
 * @param username The user.
 * @param hash The SCRAM hash.
 * @returns The keys of {@linkcode USER}, or undefined for anyone else.
 */
export function credentials(
  username: string,
  hash: ScramHash,
): Promise<ScramCredentials | undefined> {
  if (keys === undefined) throw new Error("prepareCredentials() first");
  return Promise.resolve(username === USER.name ? keys.get(hash) : undefined);
}

/**
 * The options one end of a scenario runs with (besides transport and
 * deadlines), the same in the recording and under fuzzing.
 *
 * @param scenario The scenario.
 * @param role Which end.
 * @returns Addresses and features.
 */
export function endOptions(
  scenario: Scenario,
  role: Role,
): Omit<SessionOptions, "transport"> {
  const mechanism = scenario.mechanism;
  const features = mechanism === undefined ? [] : [
    role === "initiator"
      ? sasl({
        client: {
          username: USER.name,
          password: USER.password,
          mechanisms: [mechanism],
        },
      })
      : sasl({ server: { credentials } }),
  ];
  return role === "initiator"
    ? { role, from: `${USER.name}@forza`, to: USER.host, features }
    : { role, from: USER.host, features };
}

/**
 * Records every scenario.
 *
 * @param seed Seeds the randomness the two ends draw while recording.
 * @returns One transcript per scenario.
 */
export async function recordTranscripts(seed: number): Promise<Transcript[]> {
  await prepareCredentials();
  const rng = new Rng(seed);
  const original = crypto.getRandomValues;
  Object.defineProperty(crypto, "getRandomValues", {
    configurable: true,
    writable: true,
    value: <T extends ArrayBufferView | null>(array: T): T => {
      if (array !== null) {
        const bytes = new Uint8Array(
          array.buffer,
          array.byteOffset,
          array.byteLength,
        );
        bytes.set(rng.bytes(bytes.length));
      }
      return array;
    },
  });
  try {
    const transcripts: Transcript[] = [];
    for (const scenario of SCENARIOS) {
      transcripts.push(await record(scenario));
    }
    return transcripts;
  } finally {
    Object.defineProperty(crypto, "getRandomValues", {
      configurable: true,
      writable: true,
      value: original,
    });
  }
}

async function record(scenario: Scenario): Promise<Transcript> {
  const [a, b] = fakeTlsPair();
  const steps: Step[] = [];
  const written = { initiator: 0, recipient: 0 };
  const streams = { initiator: 0, recipient: 0 };
  const log = (side: Role, other: Role) => (bytes: Uint8Array) => {
    const label = labelOf(decoder.decode(bytes));
    if (label === "header") streams[side]++;
    steps.push({
      side,
      label,
      stream: streams[side],
      bytes: bytes.slice(),
      after: written[other],
      negotiation: !OPEN_LABELS.has(label),
    });
    written[side]++;
  };
  a.onWrite = log("initiator", "recipient");
  b.onWrite = log("recipient", "initiator");
  const deadlines = { negotiationTimeoutMs: 10_000, closeTimeoutMs: 10_000 };
  const initiator = new Session({
    ...endOptions(scenario, "initiator"),
    ...deadlines,
    transport: a,
  });
  const recipient = new Session({
    ...endOptions(scenario, "recipient"),
    ...deadlines,
    transport: b,
  });
  await Promise.all([initiator.negotiate(), recipient.negotiate()]);
  for (
    const [end, to] of [[initiator, USER.host], [recipient, "romeo"]] as const
  ) {
    await end.send(message({ to, type: "chat", body: "Hi" }));
    await end.send(presence({ show: "away", status: "Walking" }));
    await end.send(
      iq(
        { type: "get", id: "v1" },
        xml("query", { xmlns: "jabber:iq:version" }),
      ),
    );
  }
  const [closed, answered] = await Promise.all([
    initiator.close(),
    recipient.closed,
  ]);
  if (!closed.clean || !answered.clean) {
    throw new Error(
      `The honest ${scenario.name} stream did not close cleanly: ${
        closed.error ?? answered.error
      }`,
    );
  }
  return { scenario, steps };
}

const OPEN_LABELS = new Set(["message", "presence", "iq", "close"]);
const decoder = new TextDecoder();

/**
 * Names a chunk by its first markup: `header` for a stream header (with or
 * without declaration), `close` for the stream close tag, else the local
 * name of its first element.
 *
 * @param text The chunk, decoded.
 * @returns The label.
 */
export function labelOf(text: string): string {
  const trimmed = text.trimStart();
  if (trimmed.startsWith("<?xml") || trimmed.startsWith("<stream:stream")) {
    return "header";
  }
  if (trimmed.startsWith("</stream:stream")) return "close";
  const name = /^<([^\s/>]+)/.exec(trimmed)?.[1] ?? "text";
  return name.slice(name.indexOf(":") + 1);
}
