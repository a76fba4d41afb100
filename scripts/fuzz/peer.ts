/**
 * The scripted peer: replays one side of a recorded transcript against our
 * `Session`, conversationally (each chunk waits until our end has written
 * as many chunks as the honest peer had seen), with one fault at a chosen
 * step. SCRAM messages depend on the other end's nonce, so the peer
 * recomputes them with the library's own SCRAM engine (falling back to the
 * recorded bytes when our end said something unexpected).
 *
 * @module
 */

import { ScramClient, ScramServer } from "../../src/sasl/scram.ts";
import { decodeBase64, encodeBase64 } from "../../src/sasl/_base64.ts";
import { concat, mutate, randomFrames, split, utf8 } from "./mutate.ts";
import { sleep } from "./guard.ts";
import type { Rng } from "./rng.ts";
import {
  credentials,
  type Step,
  type Transcript,
  USER,
} from "./transcripts.ts";
import type { End as End } from "../../tests/stream/_pair.ts";

/** What the peer does at the chosen step. */
export const FAULTS = [
  "none", // replay it as recorded
  "mutate", // byte edits of the chunk
  "frames", // random frames instead of the chunk
  "drop", // leave it out
  "duplicate", // send it twice
  "split", // send it in small pieces
  "trickle", // send it a few bytes at a time, slowly
  "inject", // random frames after it, in the same write
  "truncate", // a prefix, then hang up
  "hangup", // hang up instead
  "stall", // stop writing, keep reading
  "reset", // reset the connection (our reads and writes fail)
  "tls-fail", // our TLS handshake fails (TLS steps only)
] as const;

/** One fault. */
export type Fault = typeof FAULTS[number];

/** A stanza injected right after the TLS gate, which must never be delivered. */
export const INJECTED_BODY = "plaintext injected after the TLS gate";

const INJECTED = utf8(
  `<message xmlns='jabber:client'><body>${INJECTED_BODY}</body></message>`,
);

/** What the peer replays, and how it breaks it. */
export interface PeerScript {
  /** The transcript; the peer plays the side that is not ours. */
  transcript: Transcript;
  /** The peer's role. */
  role: "initiator" | "recipient";
  /** Index of the faulty step among the peer's steps. */
  target: number;
  /** The fault. */
  fault: Fault;
  /** Whether the peer's close tag waits for ours (else it closes first). */
  waitForOurClose: boolean;
  /** Valid chunks of every transcript, for random frames and splices. */
  donors: readonly Uint8Array[];
}

const decoder = new TextDecoder();

/** The peer's side of one fuzz session. */
export class ScriptedPeer {
  readonly #end: End;
  readonly #ours: End;
  readonly #script: PeerScript;
  readonly #rng: Rng;
  readonly #steps: Step[];
  readonly #ourNegotiation: number;
  readonly #received: string[] = [];
  #ended = false;
  #hungUp = false;
  #wake: (() => void) | undefined;
  #scramServer: ScramServer | undefined;
  #scramClient: ScramClient | undefined;

  /**
   * @param end The peer's end of the pair.
   * @param ours Our end, to reset it or make its TLS fail.
   * @param script What to replay.
   * @param rng The session's source.
   */
  constructor(end: End, ours: End, script: PeerScript, rng: Rng) {
    this.#end = end;
    this.#ours = ours;
    this.#script = script;
    this.#rng = rng;
    const all = script.transcript.steps;
    this.#steps = all.filter((s) => s.side === script.role);
    this.#ourNegotiation =
      all.filter((s) => s.side !== script.role && s.negotiation).length;
  }

  /** Everything our end wrote, decoded. */
  get received(): string {
    return this.#received.join("");
  }

  /** Whether the peer hung up or reset before our end was done. */
  get hungUp(): boolean {
    return this.#hungUp;
  }

  /** The peer's steps, in order. */
  get steps(): readonly Step[] {
    return this.#steps;
  }

  /**
   * Plays the script, then reads until our end closes, then closes.
   * Never rejects.
   */
  async run(): Promise<void> {
    void this.#read();
    try {
      await this.#play();
      await this.#until(() => false); // until our end has closed
    } catch {
      // The peer is part of the harness: its own failures are not findings.
    } finally {
      this.#end.close();
    }
  }

  /** Closes the peer's end now (the session's watchdog fired). */
  abort(): void {
    this.#end.close();
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.#end.read();
        if (chunk === null) break;
        this.#received.push(decoder.decode(chunk));
        this.#wake?.();
      }
    } catch {
      // A reset: the same as the end.
    }
    this.#ended = true;
    this.#wake?.();
  }

  /** Waits until `done()` holds; false if our end closed first. */
  async #until(done: () => boolean): Promise<boolean> {
    while (!done()) {
      if (this.#ended) return false;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
    return true;
  }

  async #play(): Promise<void> {
    const { target, fault, donors } = this.#script;
    const rng = this.#rng;
    for (const [i, step] of this.#steps.entries()) {
      if (!await this.#until(this.#ready(step))) return;
      const bytes = await this.#produce(step);
      if (i !== target) {
        await this.#write(bytes);
        continue;
      }
      switch (fault) {
        case "none":
        case "tls-fail": // set on our end before the session started
          await this.#write(bytes);
          break;
        case "mutate":
          await this.#write(mutate(rng, bytes, donors));
          break;
        case "frames":
          await this.#write(randomFrames(rng, donors));
          break;
        case "drop":
          break;
        case "duplicate":
          await this.#write(bytes);
          await this.#write(bytes);
          break;
        case "split":
          for (const piece of split(rng, bytes)) await this.#write(piece);
          break;
        case "trickle":
          for (let at = 0; at < bytes.length && !this.#ended;) {
            const next = at + rng.int(1, 8);
            await this.#write(bytes.subarray(at, next));
            await sleep(rng.int(1, 20));
            at = next;
          }
          break;
        case "inject":
          await this.#write(
            concat(
              bytes,
              isTlsGate(step) ? INJECTED : new Uint8Array(0),
              randomFrames(rng, donors),
            ),
          );
          break;
        case "truncate":
          await this.#write(bytes.subarray(0, rng.int(0, bytes.length - 1)));
          this.#hangUp();
          return;
        case "hangup":
          this.#hangUp();
          return;
        case "stall":
          return;
        case "reset":
          this.#hungUp = true;
          this.#ours.reset();
          return;
      }
    }
  }

  #hangUp(): void {
    this.#hungUp = true;
    this.#end.close();
  }

  /** When a step may go: after what the honest peer had seen of ours. */
  #ready(step: Step): () => boolean {
    const received = this.#received;
    if (step.label === "close" && this.#script.waitForOurClose) {
      return () => received.some((text) => text.includes("</stream:stream>"));
    }
    // Once open, our end writes what the fuzzer makes it send: wait only
    // for its negotiation.
    const after = step.negotiation
      ? step.after
      : Math.min(step.after, this.#ourNegotiation);
    return () => received.length >= after;
  }

  #write(bytes: Uint8Array): Promise<void> {
    return this.#end.write(bytes).catch(() => {});
  }

  /** The step's bytes: as recorded, or recomputed for SCRAM. */
  async #produce(step: Step): Promise<Uint8Array> {
    const mechanism = this.#script.transcript.scenario.mechanism;
    if (!mechanism?.startsWith("SCRAM-")) return step.bytes;
    const hash = mechanism === "SCRAM-SHA-1" ? "SHA-1" : "SHA-256";
    try {
      switch (step.label) {
        case "challenge": { // we are the initiator: answer its auth
          const first = this.#ourPayload("auth");
          const ours = /mechanism=['"]SCRAM-SHA-1['"]/.test(first.tag)
            ? "SHA-1"
            : "SHA-256";
          this.#scramServer = new ScramServer({
            hash: ours,
            lookup: (name) => credentials(name, ours),
            offeredPlus: false,
          });
          return withPayload(
            step.bytes,
            await this.#scramServer.first(first.text),
          );
        }
        case "success": {
          const final = this.#ourPayload("response");
          const result = await this.#scramServer!.final(final.text);
          return withPayload(step.bytes, result.serverFinal);
        }
        case "auth":
          this.#scramClient = new ScramClient({
            hash,
            username: USER.name,
            password: USER.password,
            nonce: this.#rng.id(24),
          });
          return withPayload(step.bytes, this.#scramClient.first());
        case "response": {
          const challenge = this.#ourPayload("challenge");
          return withPayload(
            step.bytes,
            await this.#scramClient!.final(challenge.text),
          );
        }
      }
    } catch {
      // Our end said something else: replay the recording, which fails.
    }
    return step.bytes;
  }

  /** The start tag and decoded base64 content of our last `<name>`. */
  #ourPayload(name: string): { tag: string; text: string } {
    const pattern = new RegExp(`(<${name}\\b[^>]*>)([^<]*)</${name}>`);
    for (let i = this.#received.length - 1; i >= 0; i--) {
      const match = pattern.exec(this.#received[i]!);
      if (match === null) continue;
      const bytes = decodeBase64(match[2]!.trim());
      if (bytes === undefined) break;
      return { tag: match[1]!, text: decoder.decode(bytes) };
    }
    throw new Error(`no <${name}/> from our end`);
  }
}

/** The chunk after which a TLS upgrade starts (where plaintext must stop). */
export function isTlsGate(step: Step): boolean {
  return step.label === "proceed" || step.label === "starttls";
}

/** A recorded SASL element with its base64 content replaced. */
function withPayload(bytes: Uint8Array, message: string): Uint8Array {
  return utf8(
    decoder.decode(bytes).replace(
      />[^<]*</,
      `>${encodeBase64(utf8(message))}<`,
    ),
  );
}
