/**
 * Jingle XML Streams (XEP-0247): end-to-end streams between two clients of
 * XMPP servers, negotiated with Jingle (XEP-0166) over their client
 * streams, carried by SOCKS5 Bytestreams (XEP-0260) or In-Band Bytestreams
 * (XEP-0261), with STARTTLS and trust on first use inside.
 *
 * | export | what it is |
 * | --- | --- |
 * | `JingleStreams` | the engine on one client stream: `open(fullJid)`, `accept(handler)` |
 * | `JingleStream` | the stream it gives: an `E2EStream` with `jingle` (transport, fallback) |
 * | `JingleError` | why a session failed (`declined`, `timeout`, `failed-transport`, ...) |
 * | `Socks5Backend` | what the engine needs of SOCKS5 (the SOCKS5 module's shape) |
 * | `InBandBytestreams`, `withTls` | In-Band Bytestreams as a transport, and TLS inside one |
 * | `connectSocks5`, `Socks5Server`, `discoverProxies`, `activateProxy` | SOCKS5 Bytestreams (XEP-0065): the handshake both ways, proxy discovery and activation |
 *
 * The building block below, In-Band Bytestreams as a transport that a
 * whole end-to-end stream runs over, can also be used on its own.
 *
 * @example An end-to-end stream inside an In-Band Bytestream
 * ```ts
 * import { E2EStream, initiate, memoryPair, Session } from "@xmpp-e2e/streams";
 * import { InBandBytestreams } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * // The outer stream: here over memory, in real use each client's server stream.
 * const [a, b] = memoryPair();
 * const recipient = new Session({ role: "recipient", transport: b, from: "juliet@pronto", tls: "off" });
 * const [romeo] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
 *   recipient.negotiate(),
 * ]);
 * const juliet = new E2EStream(recipient);
 *
 * const expected = new InBandBytestreams(juliet).expect("s1");
 * const outer = await new InBandBytestreams(romeo).open("s1");
 * const inner = new Session({ role: "recipient", transport: await expected, from: "juliet@pronto", tls: "off" });
 * const [inside] = await Promise.all([
 *   initiate({ transport: outer, from: "romeo@forza", to: "juliet@pronto", tls: "off" }),
 *   inner.negotiate(),
 * ]);
 * assert.deepEqual(await inside.close(), { clean: true });
 * await inner.closed;
 * await Promise.all([romeo.close(), juliet.closed]);
 * ```
 *
 * @module
 */

export {
  DEFAULT_IBB_BLOCK_SIZE,
  IBB_NS,
  type IbbExpectOptions,
  type IbbOpenOptions,
  type IbbOptions,
  type IbbTransport,
  InBandBytestreams,
} from "./ibb.ts";
export { IbbError, type IbbErrorReason } from "./ibb_error.ts";
export { type InterfaceAddress, localAddresses } from "./local_addresses.ts";
export { type IbbTlsRole, withTls } from "./ibb_tls.ts";
export {
  type JingleOffer,
  type JingleOfferHandler,
  type JingleOpenOptions,
  type JingleSocks5Options,
  JingleStreams,
  type JingleStreamsOptions,
  type JingleTransport,
} from "./jingle_streams.ts";
export type { JingleInfo, JingleStream } from "./_inner_stream.ts";
export {
  JingleError,
  type JingleErrorReason,
  type JingleReason,
} from "./jingle_error.ts";
export type {
  Socks5Backend,
  Socks5CallOptions,
  Socks5Listener,
  Socks5Proxy,
} from "./socks5_backend.ts";
export {
  activateProxy,
  type ActivateProxyOptions,
  BYTESTREAMS_NS,
  connectSocks5,
  type ConnectSocks5Options,
  DEFAULT_SOCKS5_TIMEOUT_MS,
  discoverProxies,
  type DiscoverProxiesOptions,
  socks5DestinationAddress,
  Socks5Server,
  type Socks5ServerExpectOptions,
  type Socks5ServerOptions,
  type StreamHost,
} from "./socks5.ts";
export { Socks5Error, type Socks5ErrorReason } from "./socks5_error.ts";
