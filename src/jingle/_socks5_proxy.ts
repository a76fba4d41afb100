// XEP-0065 sections 4 and 6.3 over a client stream: finding the server's
// SOCKS5 proxies, and asking one to activate a bytestream.

import type { E2EStream } from "../endpoint/e2e_stream.ts";
import { StanzaError } from "../stanza/error.ts";
import { jid } from "../stanza/jid.ts";
import {
  type DiscoInfo,
  discoInfoIq,
  parseDiscoInfo,
} from "../stanza/service_discovery.ts";
import { iq } from "../stanza/stanza.ts";
import { xml } from "../stanza/xml.ts";
import { LimitError, TimeoutError } from "../stream/errors.ts";
import type { Element } from "../xml/element.ts";
import { Socks5Error } from "./socks5_error.ts";
import type { StreamHost } from "./socks5.ts";

/** The namespace of SOCKS5 Bytestreams (XEP-0065). */
export const BYTESTREAMS_NS = "http://jabber.org/protocol/bytestreams";
const DISCO_ITEMS_NS = "http://jabber.org/protocol/disco#items";

/** What {@linkcode discoverProxies} takes. */
export interface DiscoverProxiesOptions {
  /** The server asked for its items. Default: the domain of our JID. */
  server?: string;
  /** Deadline of each request, in ms; the stream's `iqTimeoutMs` else. */
  timeoutMs?: number;
  /** Gives up (`aborted`). */
  signal?: AbortSignal;
  /** Most items asked about; the rest are ignored. Default 32. */
  maxItems?: number;
}

/** What {@linkcode activateProxy} takes. */
export interface ActivateProxyOptions {
  /** Deadline in ms; the stream's `iqTimeoutMs` else. */
  timeoutMs?: number;
  /** Gives up (`aborted`). */
  signal?: AbortSignal;
}

type Ask = (request: Element) => Promise<Element>;

function asker(
  client: E2EStream,
  options: { timeoutMs?: number; signal?: AbortSignal },
): Ask {
  return (request) =>
    client.request(request, {
      ...(options.timeoutMs !== undefined
        ? { timeoutMs: options.timeoutMs }
        : {}),
      ...(options.signal !== undefined ? { signal: options.signal } : {}),
    });
}

/**
 * The typed error for a failed request (other than a stanza error, which
 * each caller reads itself).
 */
function failure(
  error: unknown,
  what: string,
  signal: AbortSignal | undefined,
): Socks5Error {
  if (error instanceof Socks5Error) return error;
  if (signal?.aborted) {
    return new Socks5Error("aborted", `${what}: aborted`, {
      cause: signal.reason,
    });
  }
  if (error instanceof TimeoutError) {
    return new Socks5Error("timeout", `${what}: no answer in time`, {
      cause: error,
    });
  }
  if (error instanceof LimitError) {
    return new Socks5Error("busy", `${what}: too many requests wait`, {
      cause: error,
    });
  }
  if (error instanceof StanzaError) {
    return new Socks5Error(
      "refused",
      `${what}: the answer was ${error.condition}`,
      { cause: error },
    );
  }
  return new Socks5Error("stream-ended", `${what}: the stream ended`, {
    cause: error,
  });
}

/**
 * Finds the server's SOCKS5 proxies (XEP-0065 section 4): `disco#items` on
 * the server, `disco#info` on each item for the identity `proxy` /
 * `bytestreams`, then the bytestreams query on each proxy for its network
 * address. Items that answer `disco#info` or the query with an error are
 * not proxies for us and are left out; so are streamhosts without a host
 * and port (zeroconf).
 *
 * @example Asking a server that has no proxy
 * ```ts
 * import { E2EStream, initiate, iqResult, memoryPair, Session, xml } from "@xmpp-e2e/streams";
 * import { discoverProxies } from "@xmpp-e2e/streams/jingle";
 * import assert from "node:assert/strict";
 *
 * // Here over memory, the other end standing for the server; in real use a
 * // client stream with SASL and bind, whose domain is asked.
 * const [a, b] = memoryPair();
 * const recipient = new Session({ role: "recipient", transport: b, from: "pronto", tls: "off" });
 * const [client] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@pronto", to: "pronto", tls: "off" }),
 *   recipient.negotiate(),
 * ]);
 * const server = new E2EStream(recipient);
 * server.onIq((request) =>
 *   iqResult(request, xml("query", { xmlns: "http://jabber.org/protocol/disco#items" }))
 * );
 * assert.deepEqual(await discoverProxies(client, { server: "pronto", timeoutMs: 5000 }), []);
 * await Promise.all([client.close(), server.closed]);
 * ```
 *
 * @param client An authenticated client stream (`info.identity` is ours).
 * @param options The server, a deadline per request, a signal.
 * @returns The streamhosts, in the order of the server's items; `[]` when
 *   there is none.
 * @throws {Socks5Error} `protocol` on a malformed answer, `timeout`,
 *   `aborted`, `stream-ended`.
 * @throws {TypeError} When no server is given and the stream knows no
 *   identity.
 */
export async function discoverProxies(
  client: E2EStream,
  options: DiscoverProxiesOptions = {},
): Promise<StreamHost[]> {
  const identity = client.info.identity;
  const server = options.server ??
    (identity !== undefined ? jid(identity).domain : undefined);
  if (server === undefined) {
    throw new TypeError(
      "Cannot discover proxies: no server given and no identity bound",
    );
  }
  const maxItems = options.maxItems ?? 32;
  const ask = asker(client, options);
  const what = `Cannot discover the SOCKS5 proxies of ${server}`;
  let items: Element;
  try {
    items = await ask(
      iq({ type: "get", to: server }, xml("query", { xmlns: DISCO_ITEMS_NS })),
    );
  } catch (error) {
    // A server that lists no items has no proxy to offer.
    if (error instanceof StanzaError && !options.signal?.aborted) return [];
    throw failure(error, what, options.signal);
  }
  const query = items.getChild("query", DISCO_ITEMS_NS);
  if (query === undefined) {
    throw new Socks5Error("protocol", `${what}: disco#items holds no query`);
  }
  const jids = [
    ...new Set(
      query.getChildren("item", DISCO_ITEMS_NS)
        .filter((item) => item.attrs.node === undefined)
        .map((item) => item.attrs.jid)
        .filter((item): item is string => item !== undefined && item !== ""),
    ),
  ].slice(0, maxItems);
  const settled = await Promise.allSettled(
    jids.map((item) => streamHostsOf(ask, item, options.signal)),
  );
  const found: StreamHost[] = [];
  for (const result of settled) {
    if (result.status === "rejected") {
      throw failure(result.reason, what, options.signal);
    }
    found.push(...result.value);
  }
  return found;
}

/** The streamhosts of one item: none when it is no proxy. */
async function streamHostsOf(
  ask: Ask,
  item: string,
  signal: AbortSignal | undefined,
): Promise<StreamHost[]> {
  const what = `Cannot ask ${item} for its SOCKS5 streamhosts`;
  let info: DiscoInfo;
  try {
    info = parseDiscoInfo(await ask(discoInfoIq(item)));
  } catch (error) {
    if (error instanceof StanzaError && !signal?.aborted) return [];
    if (error instanceof TypeError) {
      throw new Socks5Error("protocol", `${what}: ${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }
  const proxy = info.identities.some((identity) =>
    identity.category === "proxy" && identity.type === "bytestreams"
  );
  if (!proxy) return [];
  let reply: Element;
  try {
    reply = await ask(
      iq({ type: "get", to: item }, xml("query", { xmlns: BYTESTREAMS_NS })),
    );
  } catch (error) {
    // A proxy that will not serve us (forbidden, say) is none of ours.
    if (error instanceof StanzaError && !signal?.aborted) return [];
    throw error;
  }
  const query = reply.getChild("query", BYTESTREAMS_NS);
  const hosts = query?.getChildren("streamhost", BYTESTREAMS_NS) ?? [];
  if (hosts.length === 0) {
    throw new Socks5Error("protocol", `${what}: the answer has no streamhost`);
  }
  const found: StreamHost[] = [];
  for (const host of hosts) {
    const { jid: hostJid, host: address, port } = host.attrs;
    // Zeroconf streamhosts have no network address.
    if (address === undefined && port === undefined) continue;
    if (
      hostJid === undefined || hostJid === "" || address === undefined ||
      address === "" || port === undefined || !/^[0-9]{1,5}$/.test(port) ||
      Number(port) < 1 || Number(port) > 0xffff
    ) {
      throw new Socks5Error(
        "protocol",
        `${what}: a streamhost lacks a jid, a host or a port from 1 to 65535`,
      );
    }
    found.push({ jid: hostJid, host: address, port: Number(port) });
  }
  return found;
}

/**
 * Asks a SOCKS5 proxy to activate a bytestream (XEP-0065 section 6.3.5):
 * once the target and we (the requester) both connected with the DST.ADDR
 * of `sid`, our full JID and `target`, the proxy relays between us.
 *
 * @example Activating
 * ```ts
 * import { E2EStream, initiate, iqResult, memoryPair, Session } from "@xmpp-e2e/streams";
 * import { activateProxy } from "@xmpp-e2e/streams/jingle";
 *
 * // The other end stands for the server and its proxy, and accepts.
 * const [a, b] = memoryPair();
 * const recipient = new Session({ role: "recipient", transport: b, from: "pronto", tls: "off" });
 * const [client] = await Promise.all([
 *   initiate({ transport: a, from: "romeo@pronto", to: "pronto", tls: "off" }),
 *   recipient.negotiate(),
 * ]);
 * const server = new E2EStream(recipient);
 * server.onIq((request) => iqResult(request));
 * await activateProxy(client, "proxy.pronto", "s1", "juliet@pronto/balcony");
 * await Promise.all([client.close(), server.closed]);
 * ```
 *
 * @param client Our client stream; our bound JID is the requester's.
 * @param proxyJid The proxy's JID.
 * @param sid The bytestream's sid.
 * @param target The target's full JID.
 * @param options A deadline, a signal.
 * @returns Resolves once the proxy activated.
 * @throws {Socks5Error} `activation-refused` when the proxy answers with an
 *   error, `timeout`, `aborted`, `stream-ended`.
 * @throws {TypeError} When an argument is empty.
 */
export async function activateProxy(
  client: E2EStream,
  proxyJid: string,
  sid: string,
  target: string,
  options: ActivateProxyOptions = {},
): Promise<void> {
  if (proxyJid === "" || sid === "" || target === "") {
    throw new TypeError(
      "Cannot activate: the proxy, the sid and the target must not be empty",
    );
  }
  const what = `Cannot activate the bytestream at ${proxyJid}`;
  try {
    await asker(client, options)(
      iq(
        { type: "set", to: proxyJid },
        xml(
          "query",
          { xmlns: BYTESTREAMS_NS, sid },
          xml("activate", null, target),
        ),
      ),
    );
  } catch (error) {
    if (error instanceof StanzaError && !options.signal?.aborted) {
      throw new Socks5Error(
        "activation-refused",
        `${what}: the proxy answered ${error.condition}` +
          (error.text !== undefined ? ` (${error.text})` : ""),
        { cause: error },
      );
    }
    throw failure(error, what, options.signal);
  }
}
