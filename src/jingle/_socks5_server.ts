// Our own streamhost: the SOCKS5 server side of an XEP-0065 direct
// connection, which hands on the connection whose DST.ADDR was expected.

import {
  ATYP_DOMAIN,
  ATYP_IPV4,
  ATYP_IPV6,
  checkTimeout,
  closeQuietly,
  CONNECT,
  domainMessage,
  encodeDstAddr,
  failureReply,
  guard,
  NO_AUTH,
  NO_METHOD,
  readExactly,
  REPLY,
  VERSION,
  writeAll,
} from "./_socks5_wire.ts";
import { Socks5Error } from "./socks5_error.ts";

/** What {@linkcode Socks5Server.listen} takes. */
export interface Socks5ServerOptions {
  /** The address to listen on. Default `127.0.0.1`. */
  hostname?: string;
  /** The port; 0 (the default) for any free one. */
  port?: number;
  /**
   * Deadline of each incoming handshake, in ms: a connection that has not
   * finished it by then is closed. Default 10,000.
   */
  handshakeTimeoutMs?: number;
  /**
   * Most handshakes under way at once; a connection past it is closed at
   * once. Default 16.
   */
  maxHandshakes?: number;
  /**
   * Told of every incoming connection that was refused or dropped, with
   * why (`hash-mismatch`, `protocol`, `refused`, `timeout`, `busy`).
   */
  onRefused?: (error: Socks5Error) => void;
}

/** What {@linkcode Socks5Server.expect} takes. */
export interface Socks5ServerExpectOptions {
  /** Gives up waiting (`aborted`). */
  signal?: AbortSignal;
  /** Deadline in ms (`Infinity` for none). Default 30,000. */
  timeoutMs?: number;
}

interface Expectation {
  resolve: (conn: Deno.Conn) => void;
  reject: (error: Socks5Error) => void;
}

/**
 * Our own SOCKS5 streamhost, for XEP-0065 direct connections (XEP-0260
 * `direct` candidates): a SOCKS5 server, no authentication, CONNECT with
 * a domain DST.ADDR only. Say which DST.ADDR you wait for with
 * {@linkcode Socks5Server.expect} before the peer learns the candidate; a
 * connection that asks for any other is refused (reply `02`, connection not
 * allowed) and closed, as is a second one for a DST.ADDR already handed on.
 * Handshakes have a deadline, and only so many run at once.
 *
 * @example Waiting for the peer
 * ```ts
 * import { connectSocks5, Socks5Server } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * await using server = Socks5Server.listen({ hostname: "127.0.0.1" });
 * const expected = server.expect("a".repeat(40));
 * const mine = await connectSocks5("127.0.0.1", server.port, "a".repeat(40));
 * const theirs = await expected;
 * assert.ok(theirs.remoteAddr);
 * mine.close();
 * theirs.close();
 * ```
 */
export class Socks5Server implements AsyncDisposable {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it listens on. */
  readonly port: number;
  readonly #listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>;
  readonly #handshakeTimeoutMs: number;
  readonly #maxHandshakes: number;
  readonly #onRefused: ((error: Socks5Error) => void) | undefined;
  readonly #expected = new Map<string, Expectation>();
  readonly #handshakes = new Set<Promise<void>>();
  readonly #closers = new Set<() => void>();
  readonly #accepting: Promise<void>;
  #closed: Promise<void> | undefined;

  /**
   * Starts listening.
   *
   * @example Any free port on loopback
   * ```ts
   * import { Socks5Server } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const server = Socks5Server.listen();
   * assert.equal(server.hostname, "127.0.0.1");
   * assert.ok(server.port > 0);
   * await server.close();
   * ```
   *
   * @param options Address, port, handshake deadline and bound.
   * @returns The listening server; close it when done.
   * @throws {Deno.errors.AddrInUse} When the port is taken.
   * @throws {RangeError} When an option is out of range.
   */
  static listen(options: Socks5ServerOptions = {}): Socks5Server {
    const handshakeTimeoutMs = checkTimeout(
      options.handshakeTimeoutMs ?? 10_000,
      "handshakeTimeoutMs",
    );
    const maxHandshakes = options.maxHandshakes ?? 16;
    if (!Number.isInteger(maxHandshakes) || maxHandshakes < 1) {
      throw new RangeError(
        `Cannot use maxHandshakes ${maxHandshakes}: it must be a positive integer`,
      );
    }
    const listener = Deno.listen({
      hostname: options.hostname ?? "127.0.0.1",
      port: options.port ?? 0,
      transport: "tcp",
    });
    return new Socks5Server(
      listener,
      handshakeTimeoutMs,
      maxHandshakes,
      options.onRefused,
    );
  }

  private constructor(
    listener: Deno.Listener<Deno.TcpConn, Deno.NetAddr>,
    handshakeTimeoutMs: number,
    maxHandshakes: number,
    onRefused: ((error: Socks5Error) => void) | undefined,
  ) {
    this.#listener = listener;
    this.hostname = listener.addr.hostname;
    this.port = listener.addr.port;
    this.#handshakeTimeoutMs = handshakeTimeoutMs;
    this.#maxHandshakes = maxHandshakes;
    this.#onRefused = onRefused;
    this.#accepting = this.#accept();
  }

  /**
   * Waits for a peer to connect with DST.ADDR `dstAddr` and finish the
   * handshake; resolves with that connection, positioned right after our
   * success reply. The connection is then the caller's to close.
   *
   * @example Giving up
   * ```ts
   * import { Socks5Error, Socks5Server } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * await using server = Socks5Server.listen();
   * await assert.rejects(
   *   server.expect("b".repeat(40), { timeoutMs: 10 }),
   *   (error) => error instanceof Socks5Error && error.reason === "timeout",
   * );
   * ```
   *
   * @param dstAddr The DST.ADDR the peer will send.
   * @param options A signal, a deadline.
   * @returns The connection.
   * @throws {Socks5Error} `timeout`, `aborted`, or `closed` when the server
   *   closes first.
   * @throws {TypeError} When `dstAddr` is malformed or already expected.
   * @throws {RangeError} When `timeoutMs` is not a positive number.
   */
  expect(
    dstAddr: string,
    options: Socks5ServerExpectOptions = {},
  ): Promise<Deno.Conn> {
    try {
      encodeDstAddr(dstAddr);
      checkTimeout(options.timeoutMs ?? 30_000, "timeoutMs");
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#closed !== undefined) {
      return Promise.reject(
        new Socks5Error("closed", "Cannot expect: the SOCKS5 server is closed"),
      );
    }
    if (this.#expected.has(dstAddr)) {
      return Promise.reject(
        new TypeError("Cannot expect: that DST.ADDR is already expected"),
      );
    }
    const step = guard(
      "Cannot expect the SOCKS5 connection",
      options.timeoutMs ?? 30_000,
      options.signal,
    );
    return new Promise((resolve, reject) => {
      const expectation: Expectation = {
        resolve: (conn) => {
          step.dispose();
          resolve(conn);
        },
        reject: (error) => {
          step.dispose();
          reject(error);
        },
      };
      const fail = () => {
        if (this.#expected.get(dstAddr) !== expectation) return;
        this.#expected.delete(dstAddr);
        expectation.reject(step.failure!);
      };
      if (step.failure !== undefined) return expectation.reject(step.failure);
      step.signal.addEventListener("abort", fail, { once: true });
      this.#expected.set(dstAddr, expectation);
    });
  }

  /**
   * Stops listening: closes the handshakes under way, and what waits in
   * {@linkcode Socks5Server.expect} rejects (`closed`). Connections already
   * handed on stay open. Idempotent.
   *
   * @example Closing
   * ```ts
   * import { Socks5Error, Socks5Server } from "@xmpp-e2e/streams/jingle";
   * import assert from "node:assert/strict";
   *
   * const server = Socks5Server.listen();
   * const waiting = assert.rejects(server.expect("c".repeat(40)), Socks5Error);
   * await server.close();
   * await waiting;
   * ```
   *
   * @returns Resolves once everything it held is closed.
   */
  close(): Promise<void> {
    return this.#closed ??= (async () => {
      try {
        this.#listener.close();
      } catch {
        // Closed already.
      }
      for (const close of this.#closers) close();
      const expected = [...this.#expected.values()];
      this.#expected.clear();
      const error = new Socks5Error(
        "closed",
        "Cannot expect: the SOCKS5 server was closed",
      );
      for (const expectation of expected) expectation.reject(error);
      await this.#accepting;
      await Promise.all(this.#handshakes);
    })();
  }

  /**
   * Closes the server ({@linkcode Socks5Server.close}).
   *
   * @example With `await using`
   * ```ts
   * import { Socks5Server } from "@xmpp-e2e/streams/jingle";
   *
   * {
   *   await using server = Socks5Server.listen();
   *   server.expect("d".repeat(40)).catch(() => {});
   * } // closed here
   * ```
   *
   * @returns Resolves once closed.
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        // Closed (or a listener error, after which nothing more comes).
        return;
      }
      if (this.#closed !== undefined) {
        closeQuietly(conn);
        return;
      }
      if (this.#handshakes.size >= this.#maxHandshakes) {
        closeQuietly(conn);
        this.#refused(
          new Socks5Error(
            "busy",
            `Cannot serve a SOCKS5 connection: ${this.#maxHandshakes} handshakes are under way`,
          ),
        );
        continue;
      }
      const handshake = this.#serve(conn);
      this.#handshakes.add(handshake);
      void handshake.finally(() => this.#handshakes.delete(handshake));
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const what = "Cannot serve a SOCKS5 connection";
    const step = guard(what, this.#handshakeTimeoutMs, undefined);
    const close = () => closeQuietly(conn);
    step.signal.addEventListener("abort", close, { once: true });
    this.#closers.add(close);
    let handedOn = false;
    try {
      handedOn = await this.#handshake(conn, what);
    } catch (error) {
      this.#refused(
        step.failure ?? (error instanceof Socks5Error ? error : new Socks5Error(
          "connect-failed",
          `${what}: the connection failed`,
          { cause: error },
        )),
      );
    } finally {
      this.#closers.delete(close);
      step.signal.removeEventListener("abort", close);
      step.dispose();
      if (!handedOn) close();
    }
  }

  /** Runs the handshake; true once the connection was handed on. */
  async #handshake(conn: Deno.Conn, what: string): Promise<boolean> {
    const [version, count] = await readExactly(conn, 2);
    if (version !== VERSION) {
      throw new Socks5Error("protocol", `${what}: it is not SOCKS5`);
    }
    const methods = await readExactly(conn, count!);
    if (!methods.includes(NO_AUTH)) {
      await writeAll(conn, new Uint8Array([VERSION, NO_METHOD]));
      throw new Socks5Error(
        "refused",
        `${what}: the client does not offer to go without authentication`,
      );
    }
    await writeAll(conn, new Uint8Array([VERSION, NO_AUTH]));
    const [v, command, , atyp] = await readExactly(conn, 4);
    if (v !== VERSION) {
      throw new Socks5Error("protocol", `${what}: the request is not SOCKS5`);
    }
    const length = atyp === ATYP_DOMAIN
      ? (await readExactly(conn, 1))[0]!
      : atyp === ATYP_IPV4
      ? 4
      : atyp === ATYP_IPV6
      ? 16
      : undefined;
    if (length === undefined) {
      await writeAll(conn, failureReply(REPLY.addressTypeNotSupported));
      throw new Socks5Error(
        "protocol",
        `${what}: the request has address type ${atyp}`,
      );
    }
    const addr = (await readExactly(conn, length + 2)).subarray(0, length);
    if (command !== CONNECT || atyp !== ATYP_DOMAIN) {
      const code = command !== CONNECT
        ? REPLY.commandNotSupported
        : REPLY.addressTypeNotSupported;
      await writeAll(conn, failureReply(code));
      throw new Socks5Error(
        "refused",
        `${what}: only CONNECT to a domain DST.ADDR is served`,
      );
    }
    const dstAddr = new TextDecoder().decode(addr);
    const expectation = this.#expected.get(dstAddr);
    if (expectation === undefined) {
      await writeAll(conn, failureReply(REPLY.notAllowed));
      throw new Socks5Error(
        "hash-mismatch",
        `${what}: nobody here expects its DST.ADDR`,
      );
    }
    // Claimed now: a second connection with the same hash is refused.
    this.#expected.delete(dstAddr);
    try {
      await writeAll(conn, domainMessage(REPLY.succeeded, addr));
    } catch (error) {
      expectation.reject(
        new Socks5Error(
          "connect-failed",
          "Cannot expect the SOCKS5 connection: it failed at the reply",
          { cause: error },
        ),
      );
      throw error;
    }
    expectation.resolve(conn);
    return true;
  }

  #refused(error: Socks5Error): void {
    try {
      this.#onRefused?.(error);
    } catch {
      // The callback's own failure is not the handshake's.
    }
  }
}
