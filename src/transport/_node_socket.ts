// The transport behind connectTcpNode() and listenTcp(): a node:net socket
// read one chunk at a time, upgraded in place with node:tls.

import type * as net from "node:net";
import * as tls from "node:tls";
import { isIP } from "node:net";
import { Buffer } from "node:buffer";
import { fingerprint256 } from "./certificate.ts";
import { CertificateError } from "./cert_policy.ts";
import {
  nodeCodeReason,
  nodePeerFailure,
  type NodeVerification,
} from "./_cert_rules.ts";
import { refuseTls } from "./_no_tls.ts";
import {
  type PeerAddress,
  type TlsInfo,
  type Transport,
  TransportError,
} from "./transport.ts";
import type { ConnectTlsOptions, ListenTlsOptions } from "./node_tcp.ts";

/** The side a transport plays, with its TLS settings. */
export type Role =
  | { name: "server"; tls: ListenTlsOptions | undefined }
  | { name: "client"; hostname: string; tls: ConnectTlsOptions };

interface Received {
  chunk: Uint8Array;
  // How many writes had started when the chunk was received.
  writes: number;
}

// Deno's node:tls (2.9) loses the end of the stream once a TLS socket has
// stopped reading (a paused socket whose buffer filled up): the peer's
// close_notify and FIN never become "end". So a TLS socket is only paused
// when this much is queued and unread, which a reading stream layer never
// reaches; a plain TCP socket is paused as soon as a chunk waits.
const TLS_QUEUE_BYTES = 1 << 20;

export function noop(): void {}

function toBytes(data: Buffer | string): Uint8Array {
  return typeof data === "string"
    ? new TextEncoder().encode(data)
    : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A TransportError that tells its cause's message too. */
export function failure(message: string, cause: unknown): TransportError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new TransportError(message + detail, { cause });
}

/** A transport over a node:net socket, in either role. */
export class NodeTcpTransport implements Transport {
  readonly remote: PeerAddress | undefined;
  readonly canStartTls: boolean;
  readonly #role: Role;
  #raw: net.Socket;
  #socket: net.Socket;
  #detach: () => void = noop;
  #queue: Received[] = [];
  #queuedBytes = 0;
  // Queued bytes above which the socket is paused.
  #pauseAbove = 0;
  #reader:
    | {
      resolve: (chunk: Uint8Array | null) => void;
      reject: (e: Error) => void;
    }
    | undefined;
  #ended = false;
  #failure: TransportError | undefined;
  #writes = 0;
  #chain: Promise<void> = Promise.resolve();
  #writeClosed = false;
  #closed = false;
  #upgrading = false;
  #tls: TlsInfo | undefined;
  #abortUpgrade: ((error: TransportError) => void) | undefined;

  constructor(socket: net.Socket, role: Role) {
    this.#raw = socket;
    this.#socket = socket;
    this.#role = role;
    this.canStartTls = role.name === "client" || role.tls !== undefined;
    this.remote = socket.remoteAddress === undefined
      ? undefined
      : { hostname: socket.remoteAddress, port: socket.remotePort ?? 0 };
    socket.pause();
    this.#attach(socket);
  }

  get tls(): TlsInfo | undefined {
    return this.#tls;
  }

  read(): Promise<Uint8Array | null> {
    if (this.#reader !== undefined) {
      return Promise.reject(
        new TransportError("Cannot read: a read is already pending"),
      );
    }
    if (this.#upgrading) {
      return Promise.reject(
        new TransportError("Cannot read while TLS is starting"),
      );
    }
    const next = this.#queue.shift();
    if (next !== undefined) {
      this.#queuedBytes -= next.chunk.length;
      return Promise.resolve(next.chunk);
    }
    if (this.#closed || this.#ended) return Promise.resolve(null);
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
      this.#socket.resume();
    });
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed || this.#writeClosed) {
      return Promise.reject(
        new TransportError("Cannot write: the transport is closed for writing"),
      );
    }
    const written = this.#chain.then(() => this.#writeNow(bytes));
    this.#chain = written.catch(noop);
    return written;
  }

  startTls(): Promise<TlsInfo> {
    if (!this.canStartTls) {
      return refuseTls(
        "A TCP transport accepted by a listener without a key and certificate",
      );
    }
    let refusal: string | undefined;
    if (this.#closed) refusal = "Cannot start TLS: the transport is closed";
    else if (this.#tls !== undefined || this.#upgrading) {
      refusal = "Cannot start TLS twice";
    } else if (this.#reader !== undefined) {
      refusal = "Cannot start TLS while a read is pending";
    }
    if (refusal !== undefined) {
      return Promise.reject(new TransportError(refusal));
    }
    this.#upgrading = true;
    const upgraded = this.#chain.then(() => this.#upgrade());
    this.#chain = upgraded.then(noop, noop);
    return upgraded.finally(() => this.#upgrading = false);
  }

  async closeWrite(): Promise<void> {
    if (this.#closed || this.#writeClosed) return;
    this.#writeClosed = true;
    await this.#chain;
    const socket = this.#socket;
    if (this.#closed || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        socket.off("close", done);
        resolve();
      };
      socket.once("close", done);
      socket.end(done);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writeClosed = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(null);
    this.#abortUpgrade?.(new TransportError("The transport was closed"));
    this.#socket.destroy();
    if (this.#raw !== this.#socket) this.#raw.destroy();
  }

  #attach(socket: net.Socket): void {
    const onData = (data: Buffer | string) => this.#onData(toBytes(data));
    const onEnd = () => this.#onEnd();
    const onError = (error: Error) => this.#onError(error);
    socket.on("data", onData);
    socket.on("end", onEnd);
    socket.on("close", onEnd);
    socket.on("error", onError);
    this.#detach = () => {
      socket.off("data", onData);
      socket.off("end", onEnd);
      socket.off("close", onEnd);
      socket.off("error", onError);
      socket.on("error", noop);
    };
  }

  #onData(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const reader = this.#reader;
    if (reader !== undefined) {
      this.#reader = undefined;
      reader.resolve(chunk);
    } else {
      this.#queue.push({ chunk, writes: this.#writes });
      this.#queuedBytes += chunk.length;
      if (this.#queuedBytes > this.#pauseAbove) this.#socket.pause();
    }
  }

  #onEnd(): void {
    this.#ended = true;
    const reader = this.#reader;
    this.#reader = undefined;
    if (reader === undefined) return;
    if (this.#failure !== undefined && !this.#closed) {
      reader.reject(this.#failure);
    } else reader.resolve(null);
  }

  #onError(error: Error): void {
    this.#failure ??= failure("The connection failed", error);
    const reader = this.#reader;
    this.#reader = undefined;
    if (this.#closed) reader?.resolve(null);
    else reader?.reject(this.#failure);
  }

  #writeNow(bytes: Uint8Array): Promise<void> {
    if (this.#closed) {
      return Promise.reject(
        new TransportError("Cannot write: the transport is closed"),
      );
    }
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#role.name === "server") this.#takeBuffered();
    this.#writes++;
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      socket.write(bytes, (error) => {
        if (error) reject(failure("Cannot write", error));
        else resolve();
      });
    });
  }

  // Moves what the paused socket holds into the queue, marked as received
  // before the write about to start.
  #takeBuffered(): void {
    const socket = this.#socket;
    while (socket.readableLength > 0 && socket.read() !== null) {
      // The "data" listener queued it.
    }
  }

  async #upgrade(): Promise<TlsInfo> {
    if (this.#closed) {
      throw new TransportError("Cannot start TLS: the transport is closed");
    }
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#ended) {
      throw new TransportError("Cannot start TLS: the peer closed its side");
    }
    const raw = this.#socket;
    raw.pause();
    this.#detach();
    // Bytes not read yet arrived in plaintext before the upgrade: they are
    // dropped, never decrypted. The one exception is the recipient, whose
    // peer may send its ClientHello as soon as it has read <proceed/>: what
    // arrived after the last write (<proceed/>) began goes to TLS as
    // ciphertext, where anything but TLS records fails the handshake.
    const kept = this.#role.name === "server"
      ? this.#queue.filter((r) => r.writes === this.#writes)
      : [];
    this.#queue = [];
    this.#queuedBytes = 0;
    this.#pauseAbove = TLS_QUEUE_BYTES;
    if (this.#role.name === "client") {
      while (raw.read() !== null) {
        // Dropped.
      }
    }
    for (const { chunk } of kept.reverse()) raw.unshift(Buffer.from(chunk));
    let socket: tls.TLSSocket;
    try {
      socket = this.#role.name === "server"
        ? new tls.TLSSocket(raw, serverTlsOptions(this.#role.tls!))
        : tls.connect(
          clientTlsOptions(raw, this.#role.hostname, this.#role.tls),
        );
    } catch (cause) {
      this.close();
      throw failure("Cannot start TLS", cause);
    }
    this.#socket = socket;
    // Flowing during the handshake, so that the peer's going away is seen;
    // data that follows the handshake is queued (and pauses the socket).
    this.#attach(socket);
    socket.resume();
    await this.#handshake(socket);
    const info = await tlsInfo(socket);
    const refused = nodePeerFailure(verification(this.#role), {
      der: info.peerCertificate,
      fingerprint256: info.peerFingerprint256,
      authorized: socket.authorized,
      authorizationError: socket.authorizationError,
    });
    if (refused !== undefined) {
      this.close();
      throw new CertificateError(refused.reason, refused.message, {
        fingerprint256: info.peerFingerprint256,
      });
    }
    this.#tls = info;
    return info;
  }

  #handshake(socket: net.Socket): Promise<void> {
    const event = this.#role.name === "server" ? "secure" : "secureConnect";
    return new Promise<void>((resolve, reject) => {
      const settle = (error?: TransportError) => {
        socket.off(event, onSecure);
        socket.off("error", onError);
        socket.off("close", onClose);
        socket.off("end", onClose);
        this.#abortUpgrade = undefined;
        if (error === undefined) resolve();
        else {
          this.#failure ??= error;
          this.close();
          reject(error);
        }
      };
      const onSecure = () => settle();
      const onError = (error: Error) => {
        // A certificate the TLS stack refused outright, whatever
        // rejectUnauthorized says (such as a handshake signature by an RSA
        // key under 2048 bits, which node:tls reports as a chain error).
        const reason = nodeCodeReason((error as { code?: unknown }).code);
        settle(
          reason === undefined
            ? failure("The TLS handshake failed", error)
            : new CertificateError(
              reason,
              `The peer's certificate was refused in the TLS handshake: ${error.message}`,
              { cause: error },
            ),
        );
      };
      const onClose = () =>
        settle(new TransportError("The connection closed during TLS"));
      socket.once(event, onSecure);
      socket.on("error", onError);
      socket.once("close", onClose);
      socket.once("end", onClose);
      this.#abortUpgrade = settle;
    });
  }
}

function serverTlsOptions(options: ListenTlsOptions): tls.TLSSocketOptions {
  // allowHalfOpen is passed on to the socket, though not in the type.
  const result: tls.TLSSocketOptions & { allowHalfOpen: boolean } = {
    isServer: true,
    allowHalfOpen: true,
    key: options.key,
    cert: options.cert,
    requestCert: options.requestCert ?? false,
    rejectUnauthorized: false,
  };
  return result;
}

// How the peer is verified once the handshake completed: node:tls itself
// refuses nothing (rejectUnauthorized: false), so that every refusal is
// decided, and named, by the one policy.
function verification(role: Role): NodeVerification {
  if (role.name === "server") return { mode: "client-certificate" };
  const { pinnedFingerprint256: pin, insecureSkipVerify } = role.tls;
  if (pin !== undefined) return { mode: "pin", pin: normalizePin(pin)! };
  if (insecureSkipVerify !== undefined) return { mode: "none" };
  return { mode: "name", serverName: role.tls.serverName ?? role.hostname };
}

function clientTlsOptions(
  socket: net.Socket,
  hostname: string,
  options: ConnectTlsOptions,
): tls.ConnectionOptions {
  const serverName = options.serverName ?? hostname;
  // allowHalfOpen is passed on to the TLSSocket, though not in the type.
  const result: tls.ConnectionOptions & { allowHalfOpen: boolean } = {
    socket,
    host: serverName,
    allowHalfOpen: true,
    // The policy decides after the handshake (see verification()).
    rejectUnauthorized: false,
  };
  if (isIP(serverName) === 0) result.servername = serverName;
  if (options.caCerts !== undefined) result.ca = options.caCerts;
  if (options.cert !== undefined) result.cert = options.cert;
  if (options.key !== undefined) result.key = options.key;
  return result;
}

async function tlsInfo(socket: tls.TLSSocket): Promise<TlsInfo> {
  const peer = socket.getPeerCertificate();
  const raw: Uint8Array | undefined = peer?.raw;
  const peerCertificate = raw === undefined || raw.length === 0
    ? undefined
    : new Uint8Array(raw);
  return {
    protocol: socket.getProtocol() ?? undefined,
    cipher: socket.getCipher()?.name,
    peerCertificate,
    peerFingerprint256: peerCertificate === undefined
      ? undefined
      : await fingerprint256(peerCertificate),
  };
}

/** A pin as upper-case pairs and colons, or undefined if malformed. */
export function normalizePin(pin: string): string | undefined {
  const hex = pin.replace(/[:\s]/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)!.join(":");
}
