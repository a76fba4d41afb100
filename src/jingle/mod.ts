/**
 * Jingle XML Streams building blocks: In-Band Bytestreams (XEP-0047) as a
 * transport that a whole end-to-end stream runs over, and SOCKS5
 * Bytestreams (XEP-0065): the DST.ADDR hash, the SOCKS5 handshake as client
 * ({@linkcode connectSocks5}) and as our own streamhost
 * ({@linkcode Socks5Server}), proxy discovery and activation.
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
export { type IbbTlsRole, withTls } from "./ibb_tls.ts";
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
