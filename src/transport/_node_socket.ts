// The node:tls channel behind connectTcpNode() and listenTcp(): a
// node:tls TLSSocket, in either role, over a connection (a Deno.Conn, or
// any ByteConn) that only this channel reads and writes.
//
// node:tls runs over a stream of ours (CipherStream, the part of a Duplex
// it uses) rather than a node:net socket: encrypted bytes go in only when a
// decrypted chunk is wanted, so a peer whose data nobody reads is held back
// by TCP (Deno's node:tls keeps reading a node:net socket that was paused),
// and the peer's end of stream is always seen once it is reached.

import * as tls from "node:tls";
import { isIP } from "node:net";
import { nextTick } from "node:process";
import type { Buffer } from "node:buffer";
import { fingerprint256, pemToDer } from "./certificate.ts";
import { endPointBinding, nodeChannelBindings } from "./_channel_binding.ts";
import { secureContext } from "./_secure_context.ts";
import { TlsSlicer } from "./_tls_slices.ts";
import { CipherStream } from "./_cipher_stream.ts";
import { freeNow } from "./_free_now.ts";
import { CertificateError } from "./cert_policy.ts";
import {
  nodeCodeReason,
  nodePeerFailure,
  type NodeVerification,
} from "./_cert_rules.ts";
import {
  type ByteConn,
  failure,
  Reads,
  type StartTls,
  type TlsChannel,
  writeAll,
} from "./_conn.ts";
import { type TlsInfo, TransportError } from "./transport.ts";
import type { ConnectTlsOptions, ListenTlsOptions } from "./node_tcp.ts";

export { failure };

/** The side a channel plays, with its TLS settings. */
export type Role =
  | { name: "server"; tls: ListenTlsOptions }
  | { name: "client"; hostname: string; tls: ConnectTlsOptions };

function noop(): void {}

// The buffer of a read that is likely to wait (an idle connection's), for
// ciphertext: node:tls copies what it is given into its own 4 KiB buffer,
// so a record larger than this only takes one more read of the
// connection, and an idle connection holds half as much as with 1 KiB.
const TLS_IDLE_READ = 512;

// A TLS record of the handshake protocol starts with this byte.
const TLS_HANDSHAKE = 0x16;
// A fatal unexpected_message alert record (TLS 1.2 framing, as TLS 1.3
// sends it before keys are agreed).
const UNEXPECTED_MESSAGE = new Uint8Array([
  0x15,
  0x03,
  0x03,
  0x00,
  0x02,
  0x02,
  0x0a,
]);

function toBytes(data: Buffer | string): Uint8Array {
  return typeof data === "string"
    ? new TextEncoder().encode(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * The node:tls channel of `role`: the handshake runs over the connection,
 * then decrypted chunks are read one at a time, as they are asked for.
 *
 * @param role Server (key, certificate) or client (verification settings).
 * @returns What starts TLS on a connection.
 */
export function nodeTls(role: Role): StartTls<ByteConn> {
  return async (conn, signal) => {
    const reads = new Reads(TLS_IDLE_READ);
    // A server builds its TLS state (node:tls's socket, the TLS library's
    // configuration for the connection) once the client's first bytes are
    // there, not while it waits for them: a burst of handshakes holds less
    // at once, and a peer that asks for STARTTLS and stalls holds none.
    const first = role.name === "server"
      ? await firstBytes(conn, reads, signal)
      : undefined;
    const channel = new NodeTlsChannel(conn, role, reads, first);
    const abort = () => channel.close();
    if (signal.aborted) abort();
    signal.addEventListener("abort", abort, { once: true });
    try {
      await channel.handshake();
    } catch (error) {
      // Let the alert that tells the peer why go out first.
      if (!signal.aborted) await channel.flush();
      channel.close();
      if (signal.aborted) {
        throw new TransportError("Cannot start TLS: the transport is closed");
      }
      throw error;
    } finally {
      signal.removeEventListener("abort", abort);
    }
    return channel;
  };
}

/**
 * The first chunk the connection delivers (null at its end), read before
 * any TLS state is built; `signal` aborts the wait by closing it.
 */
async function firstBytes(
  conn: ByteConn,
  reads: Reads,
  signal: AbortSignal,
): Promise<Uint8Array | null> {
  const abort = () => closeQuietly(conn);
  if (signal.aborted) abort();
  signal.addEventListener("abort", abort, { once: true });
  try {
    return await reads.next(conn);
  } catch (cause) {
    closeQuietly(conn);
    if (signal.aborted) {
      throw new TransportError("Cannot start TLS: the transport is closed");
    }
    throw failure("The TLS handshake failed", cause);
  } finally {
    signal.removeEventListener("abort", abort);
  }
}

function closeQuietly(conn: ByteConn): void {
  try {
    conn.close();
  } catch {
    // Already closed.
  }
}

class NodeTlsChannel implements TlsChannel {
  // write() resolves once node:tls called back (it has encrypted the bytes)
  // and the ciphertext made so far reached the connection: the bytes are
  // then no longer needed, and the caller may fill the buffer again.
  readonly copiesWrites = true;
  info: TlsInfo = {
    protocol: undefined,
    cipher: undefined,
    peerCertificate: undefined,
    peerFingerprint256: undefined,
    channelBindings: {},
  };
  readonly #conn: ByteConn;
  readonly #role: Role;
  readonly #reads: Reads;
  readonly #slicer = new TlsSlicer();
  readonly #input: CipherStream;
  readonly #socket: tls.TLSSocket;
  #queue: Uint8Array[] = [];
  #reader:
    | {
      resolve: (chunk: Uint8Array | null) => void;
      reject: (e: Error) => void;
    }
    | undefined;
  #firstByte: number | undefined; // of the peer's first record
  #first: Uint8Array | null | undefined; // read before the socket was made
  #handshaking = true;
  #pumping = false;
  #eof = false; // the connection ended (input)
  #ended = false; // the TLS stream ended
  #failure: TransportError | undefined;
  #closed = false;
  #settleHandshake: ((error?: TransportError) => void) | undefined;

  constructor(
    conn: ByteConn,
    role: Role,
    reads: Reads,
    first: Uint8Array | null | undefined,
  ) {
    this.#conn = conn;
    this.#role = role;
    this.#reads = reads;
    this.#first = first;
    // Input is pushed by #pump(), only while something waits for it.
    this.#input = new CipherStream(conn);
    try {
      this.#socket = role.name === "server"
        ? new tls.TLSSocket(
          this.#input as unknown as import("node:net").Socket,
          serverTlsOptions(role.tls),
        )
        : tls.connect(
          clientTlsOptions(this.#input, role.hostname, role.tls),
        );
    } catch (cause) {
      throw failure("Cannot start TLS", cause);
    }
    const socket = this.#socket;
    socket.on("data", (data: Buffer | string) => this.#onData(toBytes(data)));
    const onEnd = () => this.#onEnd();
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", (error: Error) => this.#onError(error));
    // Never removed (it does nothing after the handshake): removing a
    // listener from a node:tls socket turns its table of listeners into a
    // dictionary, 0.4 KiB more for every idle connection.
    socket.on(
      role.name === "server" ? "secure" : "secureConnect",
      () => this.#settleHandshake?.(),
    );
  }

  /** Runs the handshake, reading the connection until it is done. */
  handshake(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.#settleHandshake = (error) => {
        this.#settleHandshake = undefined;
        this.#handshaking = false;
        if (error === undefined) resolve();
        else reject(error);
      };
    });
    // A server TLSSocket starts on the next tick, and must have started
    // before input comes: handshake data that fails at once would tear the
    // socket down inside its own start (a TypeError in Deno 2.9).
    nextTick(() => void this.#pump());
    return done.then(async () => {
      const socket = this.#socket;
      const info = await tlsInfo(socket, this.#role);
      // node:tls refuses nothing itself (rejectUnauthorized: false): every
      // refusal is decided, and named, by the one certificate policy.
      const refused = nodePeerFailure(verification(this.#role), {
        der: info.peerCertificate,
        fingerprint256: info.peerFingerprint256,
        authorized: socket.authorized,
        authorizationError: socket.authorizationError,
      });
      if (refused !== undefined) {
        throw new CertificateError(refused.reason, refused.message, {
          fingerprint256: info.peerFingerprint256,
        });
      }
      this.info = info;
    });
  }

  /**
   * A decrypted chunk is a buffer node:tls made for it alone: once parsed,
   * its memory is freed at once, not at the next garbage collection.
   */
  release(chunk: Uint8Array): void {
    freeNow(chunk);
  }

  read(): Promise<Uint8Array | null> {
    const next = this.#queue.shift();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed || this.#ended) return Promise.resolve(null);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
      void this.#pump();
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed) {
      return Promise.reject(
        new TransportError("Cannot write: the transport is closed"),
      );
    }
    return new Promise<void>((resolve, reject) => {
      this.#socket.write(bytes, (error) => {
        if (error) reject(this.#failure ?? failure("Cannot write", error));
        else resolve();
      });
    }).then(() => this.#flushed());
  }

  /**
   * Resolves once the ciphertext made so far reached the connection: node:tls
   * over a stream may call a write back before handing its ciphertext to
   * the stream (a microtask later), and a transport closed then would lose
   * it.
   */
  async #flushed(): Promise<void> {
    for (;;) {
      await Promise.resolve(); // a scheduled hand-over runs first
      const last = this.#input.written;
      await last;
      if (this.#input.written === last) return;
    }
  }

  async closeWrite(): Promise<void> {
    if (this.#closed) return;
    const socket = this.#socket;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off("close", done);
        socket.off("finish", done);
        resolve();
      };
      socket.once("close", done);
      socket.once("finish", done);
      socket.end();
    });
  }

  /**
   * After a failed handshake, tells the peer with a fatal alert when it sent
   * something that is not TLS at all (node:tls over a stream sends none of
   * its own), and waits (1 s at most) until what is being written is out.
   */
  async flush(): Promise<void> {
    let pending = this.#input.written;
    if (this.#firstByte !== undefined && this.#firstByte !== TLS_HANDSHAKE) {
      // No key was ever agreed: the alert goes in the clear, as TLS says,
      // straight to the connection (node:tls may have closed the stream).
      const alert = writeAll(this.#conn, UNEXPECTED_MESSAGE).catch(noop);
      pending = Promise.all([pending, alert]).then(noop);
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      pending,
      new Promise((resolve) => timer = setTimeout(resolve, 1000)),
    ]);
    clearTimeout(timer);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(null);
    this.#settleHandshake?.(
      this.#failure ?? new TransportError("The transport was closed"),
    );
    this.#socket.destroy();
    this.#input.destroy();
    closeQuietly(this.#conn);
  }

  /**
   * Feeds TLS with what the connection delivers, while the handshake runs
   * or a read waits: never more than one chunk ahead of what was asked.
   */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      while (
        !this.#closed && !this.#eof &&
        (this.#handshaking || this.#reader !== undefined)
      ) {
        let chunk = this.#first;
        this.#first = undefined;
        try {
          if (chunk === undefined) chunk = await this.#reads.next(this.#conn);
        } catch (cause) {
          if (!this.#closed) this.#onError(cause as Error);
          return;
        }
        if (this.#closed) return;
        this.#firstByte ??= chunk?.[0];
        if (chunk === null) {
          this.#eof = true;
          this.#input.push(null);
          return;
        }
        // In slices that leave node:tls's buffers small once idle.
        let taken = true;
        for (const slice of this.#slicer.slices(chunk)) {
          taken = this.#input.push(slice) && taken;
        }
        // Taken at once (the stream holds none of it): node:tls copied the
        // bytes, and the next read may fill the same buffer.
        if (taken) this.#reads.recycle(chunk);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #onData(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.#closed) return;
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader.resolve(chunk);
    } else this.#queue.push(chunk);
  }

  #onEnd(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#settleHandshake?.(
      new TransportError("The connection closed during TLS"),
    );
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader === undefined) return;
    if (this.#failure !== undefined && !this.#closed) {
      reader.reject(this.#failure);
    } else reader.resolve(null);
  }

  #onError(error: Error): void {
    // A certificate the TLS stack refused outright, whatever
    // rejectUnauthorized says (such as a handshake signature by an RSA key
    // under 2048 bits, which node:tls reports as a chain error).
    const reason = this.#handshaking
      ? nodeCodeReason((error as { code?: unknown }).code)
      : undefined;
    this.#failure ??= reason !== undefined
      ? new CertificateError(
        reason,
        `The peer's certificate was refused in the TLS handshake: ${error.message}`,
        { cause: error },
      )
      : failure(
        this.#handshaking
          ? "The TLS handshake failed"
          : "The connection failed",
        error,
      );
    this.#settleHandshake?.(this.#failure);
    const reader = this.#reader;
    this.#reader = undefined;
    if (this.#closed) reader?.resolve(null);
    else reader?.reject(this.#failure);
  }
}

function serverTlsOptions(options: ListenTlsOptions): tls.TLSSocketOptions {
  // allowHalfOpen is passed on to the socket, though not in the type.
  const result: tls.TLSSocketOptions & { allowHalfOpen: boolean } = {
    isServer: true,
    allowHalfOpen: true,
    secureContext: secureContext({ key: options.key, cert: options.cert }),
    requestCert: options.requestCert ?? false,
    rejectUnauthorized: false,
  };
  return result;
}

// How the peer is verified once the handshake completed.
function verification(role: Role): NodeVerification {
  if (role.name === "server") return { mode: "client-certificate" };
  const { pinnedFingerprint256: pin, insecureSkipVerify } = role.tls;
  if (pin !== undefined) return { mode: "pin", pin: normalizePin(pin)! };
  if (insecureSkipVerify !== undefined) return { mode: "none" };
  // The leaf rules alone: the caller checks the fingerprint (trust on first
  // use), as a recipient does with a client certificate.
  if (role.tls.leafOnly) return { mode: "client-certificate" };
  return { mode: "name", serverName: role.tls.serverName ?? role.hostname };
}

function clientTlsOptions(
  socket: CipherStream,
  hostname: string,
  options: ConnectTlsOptions,
): tls.ConnectionOptions {
  const serverName = options.serverName ?? hostname;
  // allowHalfOpen is passed on to the TLSSocket, though not in the type.
  const result: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
    socket: socket as unknown as import("node:net").Socket,
    host: serverName,
    allowHalfOpen: true,
    // The policy decides after the handshake (see verification()).
    rejectUnauthorized: false,
    secureContext: secureContext({
      ca: options.caCerts,
      cert: options.cert,
      key: options.key,
    }),
  };
  if (isIP(serverName) === 0) result.servername = serverName;
  return result;
}

// A server's tls-server-end-point binding, by its settings: it hashes the
// server's own certificate, so one hash serves all its connections.
const ownEndPoints = new WeakMap<ListenTlsOptions, Promise<Uint8Array>>();

function ownEndPoint(options: ListenTlsOptions): Promise<Uint8Array> {
  let binding = ownEndPoints.get(options);
  if (binding === undefined) {
    // The leaf, first in the chain.
    binding = endPointBinding(pemToDer(options.cert));
    ownEndPoints.set(options, binding);
  }
  return binding;
}

async function tlsInfo(socket: tls.TLSSocket, role: Role): Promise<TlsInfo> {
  const peer = socket.getPeerCertificate();
  const raw: Uint8Array | undefined = peer?.raw;
  const peerCertificate = raw === undefined || raw.length === 0
    ? undefined
    : new Uint8Array(raw);
  // tls-server-end-point hashes the server's certificate: ours as server,
  // the peer's as client.
  const server = role.name === "server";
  return {
    protocol: socket.getProtocol() ?? undefined,
    cipher: socket.getCipher()?.name,
    peerCertificate,
    peerFingerprint256: peerCertificate === undefined
      ? undefined
      : await fingerprint256(peerCertificate),
    channelBindings: await nodeChannelBindings(
      socket,
      server ? undefined : peerCertificate,
      server ? ownEndPoint(role.tls) : undefined,
    ),
    stack: "node:tls",
  };
}

/** A pin as upper-case pairs and colons, or undefined if malformed. */
export function normalizePin(pin: string): string | undefined {
  const hex = pin.replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(":");
}
