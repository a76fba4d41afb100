/**
 * Hostile raw peers for `bench/attack_report.ts` (and for tests that want a
 * short version of an attack): sockets driven by hand over `node:net` and
 * `node:tls`, each bound to a chosen loopback source address.
 *
 * `node:net`'s `localAddress` is what binds the source address: Deno 2.9's
 * `Deno.connect` takes no local address (an extra `localAddress` option is
 * ignored, the connection comes from 127.0.0.1).
 *
 * | function           | what the peer does                                                    |
 * | ------------------ | --------------------------------------------------------------------- |
 * | `connect()`        | opens a TCP connection from a source address, sends nothing           |
 * | `openSilent()`     | the same (named for the attack)                                       |
 * | `openHeaderOnly()` | sends a stream header, then nothing                                   |
 * | `startTlsRaw()`    | header, `<starttls/>`, the TLS handshake; returns the TLS socket      |
 * | `openTlsStalled()` | connects and runs `startTlsRaw()`, then says nothing                  |
 * | `openStream()`     | the header again under TLS, up to the features: the stream is open    |
 * | `negotiateRaw()`   | all of the above: a negotiated stream as a raw, paused TLS socket     |
 * | `negotiateDeno()`  | the same over `Deno.connect` and `Deno.startTls`, from 127.0.0.1       |
 * | `trickle()`        | writes a text one byte at a time                                      |
 * | `flood()`          | writes the same chunk again and again, heeding only its own backpressure |
 * | `floodConn()`      | the same on a Deno connection                                         |
 * | `unreadBytes()`    | what a socket received and nobody read                                |
 *
 * None of them reads more than negotiation needs. But a paused `node:tls`
 * socket in Deno 2.9 still takes in everything the peer sends (and holds
 * it, outside `readableLength`), so the listener never sees a peer that
 * stops reading: `negotiateDeno()` is the one whose silence backs up the
 * listener's writes.
 *
 * @module
 */

import * as net from "node:net";
import * as tls from "node:tls";
import { Buffer } from "node:buffer";

/** The STARTTLS namespace. */
export const TLS_NS = "urn:ietf:params:xml:ns:xmpp-tls";

/** Where the attacked listener is, and the certificate it presents. */
export interface Target {
  /** The listener's host. */
  hostname: string;
  /** The listener's port. */
  port: number;
  /** The listener's certificate (PEM), trusted as its own anchor. */
  caCert: string;
  /** The name its certificate carries. Default `pronto`. */
  serverName?: string;
  /** The address written in `to`. Default `juliet@pronto`. */
  to?: string;
}

/** Where a connection comes from, and how long connecting may take. */
export interface OpenOptions {
  /** Source address to bind (a loopback address such as `127.0.0.2`). */
  localAddress?: string;
  /** Deadline of each step that waits for the listener, in ms. Default 10 s. */
  timeoutMs?: number;
}

/**
 * An initiator's stream header.
 *
 * @param to The listener's address.
 * @param from The attacker's address.
 * @returns The XML declaration and `<stream:stream ...>`.
 */
export function streamHeader(
  to = "juliet@pronto",
  from = "mallory@attack",
): string {
  return "<?xml version='1.0'?><stream:stream xmlns='jabber:client'" +
    ` xmlns:stream='http://etherx.jabber.org/streams' from='${from}'` +
    ` to='${to}' version='1.0'>`;
}

/**
 * The n-th attacker source address, cycling over `count` of them:
 * 127.0.0.2, 127.0.0.3, ... (127.0.0.1 is left to the legitimate peer).
 *
 * @param n The connection's index.
 * @param count How many addresses to spread over (1 to 250).
 * @returns A loopback address.
 */
export function sourceAddress(n: number, count = 10): string {
  return `127.0.0.${2 + n % Math.max(1, Math.min(250, count))}`;
}

function noop(): void {}

// Runs `run`, which calls `settle` once (with an error or without); rejects
// after `ms` if it has not.
function deadline(
  ms: number,
  what: string,
  run: (settle: (error?: Error) => void) => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const settle = (error?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (error === undefined) resolve();
      else reject(error);
    };
    const timer = setTimeout(
      () => settle(new Error(`${what}: no answer in ${ms} ms`)),
      ms,
    );
    run(settle);
  });
}

// The plain socket under each TLS socket, to destroy both on hang-up.
const under = new WeakMap<net.Socket, net.Socket>();

/**
 * Opens a TCP connection and sends nothing. The socket has an error
 * listener (an attacker does not crash on a reset); it is destroyed if
 * connecting fails or times out.
 *
 * @param target The listener.
 * @param options Source address and deadline.
 * @returns The connected socket.
 */
export function connect(
  target: Target,
  options: OpenOptions = {},
): Promise<net.Socket> {
  const socket = net.connect({
    host: target.hostname,
    port: target.port,
    ...(options.localAddress ? { localAddress: options.localAddress } : {}),
  });
  socket.on("error", noop);
  socket.setNoDelay(true);
  return deadline(options.timeoutMs ?? 10_000, "connect", (settle) => {
    socket.once("connect", () => settle());
    socket.once("close", () => settle(new Error("connect: closed")));
  }).then(() => socket, (error) => {
    socket.destroy();
    throw error;
  });
}

/** `connect()` under the name of the attack: connect, then silence. */
export const openSilent = connect;

/**
 * Connects and sends a stream header, then nothing.
 *
 * @param target The listener.
 * @param options Source address and deadline.
 * @returns The socket.
 */
export async function openHeaderOnly(
  target: Target,
  options: OpenOptions = {},
): Promise<net.Socket> {
  const socket = await connect(target, options);
  socket.write(streamHeader(target.to));
  return socket;
}

/**
 * Reads until `marker` matches what came since the call, then stops
 * reading (the socket is paused, with no reader left).
 *
 * @param socket The socket.
 * @param marker What ends the wait.
 * @param timeoutMs Deadline.
 * @returns What was read.
 */
export async function readUntil(
  socket: net.Socket,
  marker: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  let text = "";
  const decoder = new TextDecoder();
  let detach = noop;
  await deadline(timeoutMs, `waiting for ${marker}`, (settle) => {
    const onData = (data: Buffer) => {
      text += decoder.decode(data, { stream: true });
      if (marker.test(text)) settle();
    };
    const onClose = () => settle(new Error(`closed before ${marker}`));
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.once("end", onClose);
    detach = () => {
      socket.off("data", onData);
      socket.off("close", onClose);
      socket.off("end", onClose);
      socket.pause();
    };
    socket.resume();
  }).finally(() => detach());
  return text;
}

const FEATURES_END = /<stream:features\s*\/>|<\/stream:features\s*>/;

/**
 * On a connected socket: sends the header, reads the features, asks for
 * STARTTLS, and runs the TLS handshake (trusting `target.caCert`). Nothing
 * is read after `<proceed/>` but the handshake.
 *
 * @param socket A connected socket, nothing sent yet.
 * @param target The listener.
 * @param timeoutMs Deadline of each wait.
 * @returns The TLS socket, paused.
 */
export async function startTlsRaw(
  socket: net.Socket,
  target: Target,
  timeoutMs = 10_000,
): Promise<tls.TLSSocket> {
  socket.write(streamHeader(target.to));
  await readUntil(socket, FEATURES_END, timeoutMs);
  socket.write(`<starttls xmlns='${TLS_NS}'/>`);
  await readUntil(socket, /<proceed\b[^>]*>/, timeoutMs);
  const secure = tls.connect({
    socket,
    servername: target.serverName ?? "pronto",
    host: target.serverName ?? "pronto",
    ca: [target.caCert],
  });
  secure.on("error", noop);
  under.set(secure, socket);
  try {
    await deadline(timeoutMs, "TLS handshake", (settle) => {
      secure.once("secureConnect", () => settle());
      secure.once("error", (error: Error) => settle(error));
      secure.once("close", () => settle(new Error("closed during TLS")));
    });
  } catch (error) {
    secure.destroy();
    socket.destroy();
    throw error;
  }
  secure.pause();
  return secure;
}

/**
 * Connects and runs STARTTLS up to the end of the handshake, then says
 * nothing.
 *
 * @param target The listener.
 * @param options Source address and deadline.
 * @returns The TLS socket, paused.
 */
export async function openTlsStalled(
  target: Target,
  options: OpenOptions = {},
): Promise<tls.TLSSocket> {
  const socket = await connect(target, options);
  try {
    return await startTlsRaw(socket, target, options.timeoutMs);
  } catch (error) {
    socket.destroy();
    throw error;
  }
}

/**
 * Under TLS: sends the header again and reads up to the features. The
 * stream is then open (no SASL is offered by default).
 *
 * @param secure The TLS socket `startTlsRaw()` returned.
 * @param target The listener.
 * @param timeoutMs Deadline.
 * @returns The same socket, paused, with no reader.
 */
export async function openStream(
  secure: tls.TLSSocket,
  target: Target,
  timeoutMs = 10_000,
): Promise<tls.TLSSocket> {
  secure.write(streamHeader(target.to));
  await readUntil(secure, FEATURES_END, timeoutMs);
  return secure;
}

/**
 * A fully negotiated stream (header, STARTTLS, TLS, header, features) as a
 * raw TLS socket that is paused and never read again.
 *
 * @param target The listener.
 * @param options Source address and deadline.
 * @returns The TLS socket.
 */
export async function negotiateRaw(
  target: Target,
  options: OpenOptions = {},
): Promise<tls.TLSSocket> {
  const secure = await openTlsStalled(target, options);
  try {
    return await openStream(secure, target, options.timeoutMs);
  } catch (error) {
    hangUp(secure);
    throw error;
  }
}

/**
 * Reads a Deno connection until `marker` matches what came since the call;
 * no read is left pending (so that `Deno.startTls` may follow). On the
 * deadline the connection is closed.
 *
 * @param conn The connection.
 * @param marker What ends the wait.
 * @param timeoutMs Deadline.
 * @returns What was read.
 */
export async function readConnUntil(
  conn: Deno.Conn,
  marker: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  const buffer = new Uint8Array(16 * 1024);
  const decoder = new TextDecoder();
  let text = "";
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    while (!marker.test(text)) {
      const n = await conn.read(buffer);
      if (n === null) throw new Error(`closed before ${marker}`);
      text += decoder.decode(buffer.subarray(0, n), { stream: true });
    }
  } finally {
    clearTimeout(timer);
  }
  return text;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let at = 0; at < bytes.length;) {
    at += await conn.write(bytes.subarray(at));
  }
}

/**
 * A fully negotiated stream over `Deno.connect` and `Deno.startTls`, never
 * read again: unlike a paused `node:tls` socket, which in Deno 2.9 goes on
 * taking in (and holding) whatever the peer sends, a `Deno.TlsConn` that
 * is not read leaves the bytes in the kernel, so the listener's writes back
 * up. Deno.connect cannot bind a source address: it comes from 127.0.0.1.
 *
 * @param target The listener.
 * @param timeoutMs Deadline of each wait.
 * @returns The TLS connection.
 */
export async function negotiateDeno(
  target: Target,
  timeoutMs = 10_000,
): Promise<Deno.TlsConn> {
  const encoder = new TextEncoder();
  const tcp = await Deno.connect({
    hostname: target.hostname,
    port: target.port,
  });
  let conn: Deno.Conn = tcp;
  try {
    tcp.setNoDelay(true);
    await writeAll(tcp, encoder.encode(streamHeader(target.to)));
    await readConnUntil(tcp, FEATURES_END, timeoutMs);
    await writeAll(tcp, encoder.encode(`<starttls xmlns='${TLS_NS}'/>`));
    await readConnUntil(tcp, /<proceed\b[^>]*>/, timeoutMs);
    const secure = await Deno.startTls(tcp, {
      hostname: target.serverName ?? "pronto",
      caCerts: [target.caCert],
    });
    conn = secure;
    await secure.handshake();
    await writeAll(secure, encoder.encode(streamHeader(target.to)));
    await readConnUntil(secure, FEATURES_END, timeoutMs);
    return secure;
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Already closed.
    }
    throw error;
  }
}

/**
 * `flood()` for a Deno connection: writes `chunk` again and again (each
 * write waits until the kernel took it) until `stopped()` or a failure.
 *
 * @param conn The connection (for a flood that never reads, never read).
 * @param chunk What to write each time.
 * @param stopped Asked before each write.
 * @param onWrite Called with the bytes of each write.
 * @returns The bytes written.
 */
export async function floodConn(
  conn: Deno.Conn,
  chunk: Uint8Array,
  stopped: () => boolean = () => false,
  onWrite: (bytes: number) => void = noop,
): Promise<number> {
  let sent = 0;
  try {
    while (!stopped()) {
      await writeAll(conn, chunk);
      sent += chunk.length;
      onWrite(chunk.length);
    }
  } catch {
    // Closed, by the listener or by us.
  }
  return sent;
}

/**
 * Writes `text` one byte every `intervalMs`, the first at once, until all
 * of it went or the socket closed.
 *
 * @param socket The socket.
 * @param text What to trickle (ASCII).
 * @param intervalMs The pause between two bytes.
 * @param onByte Called after each byte written.
 * @returns The bytes written, once done or cut.
 */
export function trickle(
  socket: net.Socket,
  text: string,
  intervalMs: number,
  onByte: () => void = noop,
): Promise<number> {
  return new Promise((resolve) => {
    let sent = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stop = () => {
      clearTimeout(timer);
      socket.off("close", stop);
      resolve(sent);
    };
    const next = () => {
      if (socket.destroyed || sent >= text.length) return stop();
      socket.write(text[sent]!);
      sent++;
      onByte();
      timer = setTimeout(next, intervalMs);
    };
    socket.once("close", stop);
    next();
  });
}

/**
 * Writes `chunk` again and again, waiting only for the socket's own
 * backpressure (`drain`), until `stopped()` or the socket closed.
 *
 * @param socket The socket (for a flood that never reads, a paused one).
 * @param chunk What to write each time.
 * @param stopped Asked before each write.
 * @param onWrite Called with the bytes of each write.
 * @returns The bytes handed to the socket.
 */
export async function flood(
  socket: net.Socket,
  chunk: Uint8Array,
  stopped: () => boolean = () => false,
  onWrite: (bytes: number) => void = noop,
): Promise<number> {
  let sent = 0;
  const buffer = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
  while (!stopped() && !socket.destroyed) {
    const more = socket.write(buffer);
    sent += chunk.length;
    onWrite(chunk.length);
    if (!more) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off("drain", done);
          socket.off("close", done);
          resolve();
        };
        socket.once("drain", done);
        socket.once("close", done);
      });
    }
  }
  return sent;
}

/**
 * `count` iq gets of a namespace nobody handles, each to be answered
 * `service-unavailable`, as one text.
 *
 * @param count How many.
 * @param to The listener's address.
 * @returns The iqs.
 */
export function iqGets(count: number, to = "juliet@pronto"): string {
  let text = "";
  for (let i = 0; i < count; i++) {
    text += `<iq type='get' id='q${i}' to='${to}'>` +
      "<query xmlns='urn:example:attack'/></iq>";
  }
  return text;
}

/**
 * A message whose body makes it about `bytes` long.
 *
 * @param bytes The size of the body.
 * @param to The listener's address.
 * @returns The message.
 */
export function bigMessage(bytes: number, to = "juliet@pronto"): string {
  return `<message to='${to}' id='big'><body>${"x".repeat(bytes)}</body>` +
    "</message>";
}

/**
 * Bytes a socket received that nobody read: its own buffer, plus the plain
 * socket's under a TLS one.
 *
 * @param socket The socket.
 * @returns The bytes held.
 */
export function unreadBytes(socket: net.Socket): number {
  return socket.readableLength + (under.get(socket)?.readableLength ?? 0);
}

/**
 * Destroys a socket, and the plain socket under it if it is a TLS one.
 *
 * @param socket The socket.
 */
export function hangUp(socket: net.Socket): void {
  socket.destroy();
  under.get(socket)?.destroy();
}
