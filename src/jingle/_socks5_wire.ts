// The SOCKS5 (RFC 1928) bytes XEP-0065 uses, shared by the client and our
// server: exact reads (so that a connection handed on is positioned right
// after the handshake, nothing of the bytestream read ahead), the address
// encoding, the reply codes, and one deadline-and-abort guard per step.

import { Socks5Error } from "./socks5_error.ts";

/** The SOCKS version byte. */
export const VERSION = 5;
/** The method "no authentication required". */
export const NO_AUTH = 0;
/** The method reply "no acceptable methods". */
export const NO_METHOD = 0xff;
/** The CONNECT command. */
export const CONNECT = 1;
/** Address types. */
export const ATYP_IPV4 = 1;
export const ATYP_DOMAIN = 3;
export const ATYP_IPV6 = 4;

/** RFC 1928 section 6 reply codes (`REP`). */
export const REPLY = {
  succeeded: 0,
  generalFailure: 1,
  notAllowed: 2,
  networkUnreachable: 3,
  hostUnreachable: 4,
  connectionRefused: 5,
  ttlExpired: 6,
  commandNotSupported: 7,
  addressTypeNotSupported: 8,
} as const;

const REPLY_TEXT: Record<number, string> = {
  1: "general failure",
  2: "connection not allowed",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

/**
 * What a reply code means, in words.
 *
 * @param code The `REP` byte.
 * @returns The words.
 */
export function replyText(code: number): string {
  return REPLY_TEXT[code] ?? `reply code ${code}`;
}

/** The largest deadline a timer takes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Checks a deadline option.
 *
 * @param ms The deadline in ms.
 * @param name The option's name, for the message.
 * @returns It, when positive and at most 2^31 - 1, or `Infinity`.
 * @throws {RangeError} Otherwise.
 */
export function checkTimeout(ms: number, name: string): number {
  if (!(ms > 0) || (ms !== Infinity && ms > MAX_TIMER_MS)) {
    throw new RangeError(
      `Cannot use ${name} ${ms}: it must be a positive number of ms up to ${MAX_TIMER_MS}, or Infinity`,
    );
  }
  return ms;
}

/**
 * Checks a DST.ADDR and encodes it: 1 to 255 printable ASCII characters
 * (an XEP-0065 hash is 40).
 *
 * @param dstAddr The address.
 * @returns Its bytes.
 * @throws {TypeError} When it is empty, too long or not printable ASCII.
 */
export function encodeDstAddr(dstAddr: string): Uint8Array {
  if (!/^[\x21-\x7e]{1,255}$/.test(dstAddr)) {
    throw new TypeError(
      "Cannot use the DST.ADDR: it must be 1 to 255 printable ASCII characters",
    );
  }
  return new TextEncoder().encode(dstAddr);
}

/**
 * A CONNECT request or a reply with a domain address and port 0:
 * `VER CODE RSV ATYP=3 LEN ADDR 0 0`.
 *
 * @param code `CMD` in a request, `REP` in a reply.
 * @param addr The address bytes.
 * @returns The message.
 */
export function domainMessage(code: number, addr: Uint8Array): Uint8Array {
  const message = new Uint8Array(5 + addr.length + 2);
  message.set([VERSION, code, 0, ATYP_DOMAIN, addr.length]);
  message.set(addr, 5);
  return message;
}

/**
 * A failure reply with the unspecified IPv4 address, port 0.
 *
 * @param code The `REP` byte.
 * @returns The reply.
 */
export function failureReply(code: number): Uint8Array {
  return new Uint8Array([VERSION, code, 0, ATYP_IPV4, 0, 0, 0, 0, 0, 0]);
}

/**
 * Reads exactly `n` bytes, never more.
 *
 * @param conn The connection.
 * @param n How many.
 * @returns The bytes.
 * @throws {Socks5Error} `protocol` when the peer closes first.
 */
export async function readExactly(
  conn: Deno.Conn,
  n: number,
): Promise<Uint8Array> {
  const bytes = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await conn.read(bytes.subarray(filled));
    if (got === null) {
      throw new Socks5Error(
        "protocol",
        "The connection closed in the middle of the SOCKS5 handshake",
      );
    }
    filled += got;
  }
  return bytes;
}

/**
 * Writes all of `bytes`.
 *
 * @param conn The connection.
 * @param bytes What to write.
 */
export async function writeAll(
  conn: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.length) {
    written += await conn.write(bytes.subarray(written));
  }
}

/**
 * Closes a connection, ignoring that it is closed already.
 *
 * @param conn The connection, if any.
 */
export function closeQuietly(conn: Deno.Conn | undefined): void {
  try {
    conn?.close();
  } catch {
    // Closed already.
  }
}

/** A deadline and the caller's signal over one step. */
export interface Guard {
  /** Aborts when the deadline passes or the caller's signal aborts. */
  readonly signal: AbortSignal;
  /** What the step fails with once `signal` aborted. */
  readonly failure: Socks5Error | undefined;
  /** Clears the timer and the listener. */
  dispose(): void;
}

/**
 * Starts a guard: `timeout` after `timeoutMs`, `aborted` when `outer`
 * aborts.
 *
 * @param what The step, for messages ("Cannot connect to ...").
 * @param timeoutMs The deadline (`Infinity` for none).
 * @param outer The caller's signal.
 * @returns The guard; dispose of it when the step ends.
 */
export function guard(
  what: string,
  timeoutMs: number,
  outer: AbortSignal | undefined,
): Guard {
  const controller = new AbortController();
  let failure: Socks5Error | undefined;
  const fire = (error: Socks5Error) => {
    if (failure !== undefined) return;
    failure = error;
    controller.abort(error);
  };
  const timer = timeoutMs === Infinity ? undefined : setTimeout(
    () =>
      fire(
        new Socks5Error(
          "timeout",
          `${what}: no answer within ${timeoutMs} ms`,
        ),
      ),
    timeoutMs,
  );
  const aborted = () =>
    fire(
      new Socks5Error("aborted", `${what}: aborted`, { cause: outer!.reason }),
    );
  if (outer?.aborted) aborted();
  else outer?.addEventListener("abort", aborted, { once: true });
  return {
    signal: controller.signal,
    get failure() {
      return failure;
    },
    dispose() {
      clearTimeout(timer);
      outer?.removeEventListener("abort", aborted);
    },
  };
}
