/**
 * The legitimate peer of `bench/attack_report.ts`: from 127.0.0.1, one
 * `initiate()`, one message, the echo, `close()`; timed from the dial to the
 * echo.
 *
 * @module
 */

import { filter, firstValueFrom } from "rxjs";
import { type E2EStream, initiate } from "../src/e2e.ts";
import { connectTcp } from "../src/transport/deno_tcp.ts";
import type { Transport } from "../src/transport/transport.ts";
import { message, randomId } from "../src/stanza/stanza.ts";

/** The legitimate peer's address (the `ignore` application answers it). */
export const PROBE_FROM = "romeo@forza";

/** One attempt. */
export interface Attempt {
  /** When it started, ms since the attack began. */
  at: number;
  /** From the dial to the echo (or to the failure), ms. */
  ms: number;
  /** Undefined on success; else the error's class (and detail). */
  error: string | undefined;
}

/** Where the listener is. */
export interface Listening {
  port: number;
  certPem: string;
}

/** Our own deadline, as opposed to the library's `TimeoutError`. */
class Deadline extends Error {
  override name = "Deadline";
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const message = error.message.replace(/\s+/g, " ");
  return `${error.name}: ${
    message.length > 70 ? message.slice(0, 70) + "…" : message
  }`;
}

/**
 * Runs one attempt within `timeoutMs` (dial, negotiation and echo
 * together). What is still running then (a dial the system still retries)
 * goes on in the background, and closes its stream if it ever gets one;
 * `pending` collects it and every close.
 *
 * @param listening The listener.
 * @param timeoutMs The deadline of the whole attempt.
 * @param pending Where the background work goes.
 * @returns How it went.
 */
export async function probe(
  listening: Listening,
  timeoutMs: number,
  pending: Promise<unknown>[],
): Promise<Omit<Attempt, "at">> {
  const start = performance.now();
  let late = false;
  let stage = "dialing";
  let transport: Transport | undefined;
  let stream: E2EStream | undefined;
  const work = (async () => {
    // Dialed here rather than by initiate(), to tell a dial that hangs from
    // a negotiation that does.
    transport = await connectTcp({
      hostname: "127.0.0.1",
      port: listening.port,
      tls: { serverName: "pronto", caCerts: [listening.certPem] },
    });
    if (late) return transport.close();
    stage = "negotiating";
    stream = await initiate({
      transport,
      from: PROBE_FROM,
      to: "juliet@pronto",
      negotiationTimeoutMs: timeoutMs,
      closeTimeoutMs: 2_000,
    });
    if (late) return;
    stage = "waiting for the echo";
    const id = randomId();
    const echo = firstValueFrom(
      stream.stanzas$.pipe(filter((s) => s.attrs.id === id)),
    );
    await stream.send(message({ id, body: "ping" }));
    await echo;
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) =>
    timer = setTimeout(
      () => reject(new Deadline(`still ${stage} after ${timeoutMs} ms`)),
      timeoutMs,
    )
  );
  const closed = work.catch(() => {}).then(async () => {
    if (stream !== undefined) await stream.close();
    else transport?.close();
  });
  pending.push(closed.catch(() => {}));
  try {
    await Promise.race([work, deadline]);
    return { ms: performance.now() - start, error: undefined };
  } catch (error) {
    return { ms: performance.now() - start, error: describe(error) };
  } finally {
    late = true;
    clearTimeout(timer);
  }
}

/** The p-th percentile (0 to 100) of sorted values, nearest rank. */
export function percentile(sorted: number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = Math.ceil(p / 100 * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}
