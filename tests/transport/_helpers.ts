// Shared helpers for the transport tests: text in and out of transports,
// certificates made once per test file, and a short pause.

import {
  generateCertificate,
  type GeneratedCertificate,
} from "../../src/transport/certificate.ts";
import {
  listenTcp,
  type ListenTcpOptions,
  type TcpListener,
} from "../../src/transport/node_tcp.ts";
import type { PeerAddress, Transport } from "../../src/transport/transport.ts";
import assert from "node:assert/strict";

const encoder = new TextEncoder();

/** Writes `text` as UTF-8. */
export function send(transport: Transport, text: string): Promise<void> {
  return transport.write(encoder.encode(text));
}

/**
 * Reads until exactly `text.length` bytes came (chunks may be split or
 * joined on the way) and returns them as text; `null` if the stream ended
 * first with nothing read.
 */
export async function receive(
  transport: Transport,
  length: number,
): Promise<string | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < length) {
    const chunk = await transport.read();
    if (chunk === null) break;
    chunks.push(chunk);
    size += chunk.length;
  }
  if (size === 0 && length > 0) return null;
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return new TextDecoder().decode(all);
}

/** Reads what `text` is as long as, and returns it. */
export function expect(transport: Transport, text: string) {
  return receive(transport, encoder.encode(text).length);
}

/** Waits `ms` milliseconds (the timer always fires, so nothing leaks). */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const cache = new Map<string, Promise<GeneratedCertificate>>();

/** A certificate for `names`, generated once per test run. */
export function certificate(...names: string[]): Promise<GeneratedCertificate> {
  const key = names.join(" ");
  let cert = cache.get(key);
  if (cert === undefined) {
    cert = generateCertificate({ names });
    cache.set(key, cert);
  }
  return cert;
}

/** Two connected TCP transports and their listener, closed by disposal. */
export interface Connected extends AsyncDisposable {
  client: Transport;
  server: Transport;
  listener: TcpListener;
}

/**
 * Listens with `listen` options, connects with `connect`, accepts, and
 * hands back both ends; `await using` closes all three.
 */
export async function connected(
  connect: (addr: PeerAddress) => Promise<Transport>,
  listen: ListenTcpOptions = {},
): Promise<Connected> {
  const listener = await listenTcp(listen);
  let client: Transport | undefined;
  try {
    client = await connect(listener.addr);
    const server = await listener.accept();
    assert.ok(server !== null);
    return {
      client,
      server,
      listener,
      async [Symbol.asyncDispose]() {
        client!.close();
        server.close();
        await listener.close();
      },
    };
  } catch (error) {
    client?.close();
    await listener.close();
    throw error;
  }
}

/** Settles as `promise` does, or rejects after `ms` milliseconds. */
export async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`No answer in ${ms} ms`)),
          ms,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
