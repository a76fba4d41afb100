/**
 * STARTTLS inside an In-Band Bytestream: the package's `node:tls` channel,
 * the one TCP transports use, run over the bytestream instead of a socket,
 * so that the servers relaying the data packets carry only ciphertext.
 *
 * @module
 */

import { type ByteConn, ConnTransport } from "../transport/_conn.ts";
import { nodeTls } from "../transport/_node_socket.ts";
import type {
  ConnectTlsOptions,
  ListenTlsOptions,
} from "../transport/node_tcp.ts";
import type { Transport } from "../transport/transport.ts";
import type { IbbTransport } from "./_ibb_session.ts";

/** How STARTTLS runs inside a bytestream: the role and its settings. */
export type IbbTlsRole =
  | {
    /** The stream's initiator: TLS client. */
    role: "client";
    /**
     * The name the peer's certificate must be valid for (also SNI), unless
     * `tls` pins it or checks only the leaf.
     */
    serverName: string;
    /** How the peer's certificate is verified. */
    tls: ConnectTlsOptions;
  }
  | {
    /** The stream's recipient: TLS server. */
    role: "server";
    /** Key and certificate. */
    tls: ListenTlsOptions;
  };

/**
 * A bytestream read and written as the `node:tls` channel expects of a
 * connection: reads fill the caller's buffer (keeping the rest for the next
 * read), writes take everything.
 */
class BytestreamConn implements ByteConn {
  readonly #stream: IbbTransport;
  #rest: Uint8Array | undefined;

  constructor(stream: IbbTransport) {
    this.#stream = stream;
  }

  get remoteAddr(): Deno.Addr {
    return { transport: "unix", path: "" };
  }

  async read(p: Uint8Array): Promise<number | null> {
    const chunk = this.#rest ?? await this.#stream.read();
    this.#rest = undefined;
    if (chunk === null) return null;
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#rest = chunk.subarray(n);
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    await this.#stream.write(p);
    return p.length;
  }

  closeWrite(): Promise<void> {
    return this.#stream.closeWrite();
  }

  close(): void {
    this.#stream.close();
  }
}

/**
 * Makes a bytestream a transport that can start TLS: `startTls()` runs the
 * handshake inside the bytestream with `node:tls`, in the role given, and
 * verifies the peer as the TCP transports of this package do (a pinned
 * fingerprint, trust anchors and a name, or the leaf rules only for trust
 * on first use). Bytes received before `startTls()` and not yet read go to
 * TLS as ciphertext, where plaintext fails the handshake. Read and write
 * failures of the bytestream surface as a `TransportError` whose `cause` is
 * the bytestream's `IbbError`.
 *
 * @example An encrypted stream inside an In-Band Bytestream
 * ```ts
 * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
 * import { generateCertificate } from "@xmpp-e2e/streams/transport";
 * import { InBandBytestreams, withTls } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * const [a, b] = memoryPair();
 * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
 *   recipient.negotiate(),
 * ]);
 * const juliet = new E2EStream(recipient);
 *
 * const cert = await generateCertificate({ names: ["juliet@pronto"] });
 * const expected = new InBandBytestreams(juliet).expect("s1");
 * const mine = withTls(await new InBandBytestreams(romeo).open("s1"), {
 *   role: "client",
 *   serverName: "juliet@pronto",
 *   tls: { pinnedFingerprint256: cert.fingerprint256 },
 * });
 * const hers = withTls(await expected, { role: "server", tls: { key: cert.keyPem, cert: cert.certPem } });
 * const inner = new Session({ role: "recipient", transport: hers, from: "juliet@pronto" });
 * const [inside] = await Promise.all([
 *   initiate({ transport: mine, from: "romeo@forza", to: "juliet@pronto" }),
 *   inner.negotiate(),
 * ]);
 * assert.equal(inside.info.encrypted, true);
 * assert.equal(inside.info.tls?.peerFingerprint256, cert.fingerprint256);
 * await Promise.all([inside.close(), inner.closed]);
 * await Promise.all([romeo.close(), juliet.closed]);
 * ```
 *
 * @param stream An open bytestream, not yet read from or written to under
 *   another wrapper.
 * @param role The TLS role and its settings.
 * @returns A transport with `canStartTls` true.
 */
export function withTls(stream: IbbTransport, role: IbbTlsRole): Transport {
  return new ConnTransport<ByteConn>(
    new BytestreamConn(stream),
    role.role === "client"
      ? nodeTls({ name: "client", hostname: role.serverName, tls: role.tls })
      : nodeTls({ name: "server", tls: role.tls }),
  );
}
