/**
 * Routing inbound iq requests to handlers by type, payload name and
 * namespace, with the answers every endpoint gives by itself: XEP-0199
 * ping, XEP-0030 `disco#info` built from what is registered, and XEP-0092
 * software version when the application names itself.
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import { StanzaError } from "./error.ts";
import { unhandledIqReply } from "./iq_tracker.ts";
import { answerPing, PING_NS } from "./ping.ts";
import {
  DEFAULT_IDENTITY,
  DISCO_INFO_NS,
  type DiscoIdentity,
  discoInfoResult,
} from "./service_discovery.ts";
import {
  type SoftwareVersion,
  VERSION_NS,
  versionResult,
} from "./software_version.ts";
import { iqError, iqResult } from "./stanza.ts";
import { STANZA_NAMESPACES } from "./view.ts";
import { isNcName } from "./xml.ts";

/**
 * What an iq handler may answer: the reply iq itself; any other element,
 * sent back as the payload of a `result`; a {@linkcode StanzaError}, sent
 * back as an `error` (throwing one does the same); or `undefined` to let
 * the next handler answer.
 */
export type IqAnswer = Element | StanzaError | undefined;

/**
 * A handler of inbound iq requests.
 *
 * @typeParam C What the router passes along with each request (the stream
 *   it came on, for an endpoint).
 */
export type IqRouteHandler<C> = (
  iq: Element,
  context: C,
) => IqAnswer | Promise<IqAnswer>;

/** What an {@linkcode IqRouter} answers by itself. */
export interface IqRouterOptions {
  /** Answer XEP-0199 pings. Default `true`. */
  ping?: boolean | undefined;
  /**
   * Answer XEP-0030 `disco#info` requests with these identities (default:
   * one, `client`/`pc`) and the features of every registered handler, plus
   * `features`; `false` leaves them unanswered.
   */
  disco?: false | DiscoOptions | undefined;
  /**
   * Answer XEP-0092 software version requests with this name and version
   * (and OS, only if given). Default: no answer (`service-unavailable`).
   */
  softwareVersion?: SoftwareVersion | undefined;
}

/** The `disco` option of {@linkcode IqRouterOptions}. */
export interface DiscoOptions {
  /** Who this entity is; default one identity, `client`/`pc`. */
  identities?: DiscoIdentity[] | undefined;
  /**
   * Features handled outside iq routing (a message extension, say), listed
   * along with the namespaces of the registered handlers.
   */
  features?: string[] | undefined;
}

/**
 * Routes inbound iq `get` and `set` requests to handlers registered by type
 * and by the name and namespace of the payload (the one child element of a
 * request), then to catch-all handlers, then to the built-in answers; what
 * nothing answers gets `service-unavailable` (RFC 6120 section 8.4), and a
 * handler that throws gets `internal-server-error` (or the
 * {@linkcode StanzaError} it threw).
 *
 * A router may inherit the handlers of others (a listener's, for every
 * stream it accepts): its own routes are asked first, then theirs, for each
 * key; then its own catch-alls, then theirs.
 *
 * @typeParam C What each handler gets along with the request.
 *
 * @example Answering a custom request, pings and disco#info
 * ```ts
 * import { discoInfoIq, IqRouter, parseDiscoInfo, pingIq, xml, iq } from "@xmpp-e2e/streams/stanza";
 * import assert from "node:assert/strict";
 *
 * const router = new IqRouter();
 * router.handle("get", "urn:example:time", "time", () => xml("time", { xmlns: "urn:example:time" }, "now"));
 * const time = await router.route(iq({ type: "get" }, xml("time", { xmlns: "urn:example:time" })));
 * assert.equal(time?.getChildText("time", "urn:example:time"), "now");
 * assert.equal((await router.route(pingIq()))?.attrs.type, "result");
 * const info = parseDiscoInfo((await router.route(discoInfoIq()))!);
 * assert.ok(info.features.includes("urn:example:time"));
 * ```
 */
export class IqRouter<C = undefined> {
  readonly #routes = new Map<string, IqRouteHandler<C>[]>();
  readonly #namespaces = new Map<string, number>();
  readonly #catchAll: IqRouteHandler<C>[] = [];
  readonly #parents: readonly IqRouter<C>[];
  readonly #ping: boolean;
  readonly #disco: DiscoOptions | undefined;
  readonly #version: SoftwareVersion | undefined;

  /**
   * Makes a router.
   *
   * @param options The built-in answers: ping (on), disco#info (on, as
   *   `client`/`pc`), software version (off).
   * @param inherit Routers whose handlers this one asks after its own.
   * @throws {TypeError} When a disco identity has no category or type, or
   *   the software version no name or version.
   */
  constructor(
    options: IqRouterOptions = {},
    inherit: readonly IqRouter<C>[] = [],
  ) {
    this.#parents = inherit;
    this.#ping = options.ping ?? true;
    this.#disco = options.disco === false ? undefined : {
      identities: [...(options.disco?.identities ?? [DEFAULT_IDENTITY])],
      features: [...(options.disco?.features ?? [])],
    };
    for (const identity of this.#disco?.identities ?? []) {
      if (!identity.category || !identity.type) {
        throw new TypeError(
          "Cannot route iq: a disco identity needs a category and a type",
        );
      }
    }
    if (this.#disco?.identities?.length === 0) {
      throw new TypeError(
        "Cannot route iq: disco#info needs at least one identity",
      );
    }
    const version = options.softwareVersion;
    if (version !== undefined && (!version.name || !version.version)) {
      throw new TypeError(
        "Cannot route iq: a software version needs a name and a version",
      );
    }
    this.#version = version;
  }

  /**
   * Registers a handler for requests of this type whose payload has this
   * name and namespace. Handlers of one key are asked in the order they
   * were registered, before the catch-alls and the built-in answers (a
   * handler for pings replaces the built-in one). Its namespace is listed
   * in `disco#info` while it is registered.
   *
   * @param type `get` or `set`.
   * @param ns The payload's namespace.
   * @param name The payload's local name.
   * @param handler The handler.
   * @returns A function that removes the handler (calling it again does
   *   nothing).
   * @throws {TypeError} When the type is not `get` or `set`, the name is not
   *   an XML name without a colon, or the namespace is empty.
   *
   * @example Registering and removing
   * ```ts
   * import { iq, IqRouter, iqResult, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const router = new IqRouter();
   * const request = iq({ type: "set" }, xml("q", { xmlns: "urn:example" }));
   * const remove = router.handle("set", "urn:example", "q", (req) => iqResult(req));
   * assert.equal((await router.route(request))?.attrs.type, "result");
   * remove();
   * assert.equal((await router.route(request))?.attrs.type, "error");
   * ```
   */
  handle(
    type: "get" | "set",
    ns: string,
    name: string,
    handler: IqRouteHandler<C>,
  ): () => void {
    if (type !== "get" && type !== "set") {
      throw new TypeError(`Cannot route iq: '${type}' is not get or set`);
    }
    if (!isNcName(name)) {
      throw new TypeError(`Cannot route iq: "${name}" is not an XML name`);
    }
    if (typeof ns !== "string" || ns === "") {
      throw new TypeError("Cannot route iq: the namespace is empty");
    }
    const key = routeKey(type, ns, name);
    const list = this.#routes.get(key) ?? [];
    // Each registration is its own entry, so that a handler given twice
    // is removed once per disposer.
    const entry: IqRouteHandler<C> = (iq, context) => handler(iq, context);
    list.push(entry);
    this.#routes.set(key, list);
    this.#namespaces.set(ns, (this.#namespaces.get(ns) ?? 0) + 1);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const index = list.indexOf(entry);
      if (index >= 0) list.splice(index, 1);
      if (list.length === 0 && this.#routes.get(key) === list) {
        this.#routes.delete(key);
      }
      const count = (this.#namespaces.get(ns) ?? 1) - 1;
      if (count === 0) this.#namespaces.delete(ns);
      else this.#namespaces.set(ns, count);
    };
  }

  /**
   * Registers a handler asked for every request that no routed handler
   * answered, in registration order, before the built-in answers. Its
   * namespaces are unknown, so `disco#info` does not list them (give them
   * as `disco.features`).
   *
   * @param handler The handler.
   * @returns A function that removes it.
   *
   * @example A catch-all
   * ```ts
   * import { iq, IqRouter, iqResult, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const router = new IqRouter();
   * router.onIq((request) => iqResult(request));
   * const reply = await router.route(iq({ type: "get" }, xml("anything", { xmlns: "urn:x" })));
   * assert.equal(reply?.attrs.type, "result");
   * ```
   */
  onIq(handler: IqRouteHandler<C>): () => void {
    const entry: IqRouteHandler<C> = (iq, context) => handler(iq, context);
    this.#catchAll.push(entry);
    return () => {
      const index = this.#catchAll.indexOf(entry);
      if (index >= 0) this.#catchAll.splice(index, 1);
    };
  }

  /**
   * The features `disco#info` lists: its own namespace, ping and software
   * version when answered, every namespace with a registered handler (here
   * and in inherited routers), and the extra features given; each once, in
   * code-point order.
   *
   * @returns The features.
   *
   * @example The defaults
   * ```ts
   * import { IqRouter } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * assert.deepEqual(new IqRouter().features, [
   *   "http://jabber.org/protocol/disco#info",
   *   "urn:xmpp:ping",
   * ]);
   * ```
   */
  get features(): string[] {
    const features = new Set<string>(this.#disco?.features);
    if (this.#disco) features.add(DISCO_INFO_NS);
    if (this.#ping) features.add(PING_NS);
    if (this.#version) features.add(VERSION_NS);
    this.#collectNamespaces(features);
    return [...features].sort();
  }

  #collectNamespaces(into: Set<string>): void {
    for (const ns of this.#namespaces.keys()) into.add(ns);
    for (const parent of this.#parents) parent.#collectNamespaces(into);
  }

  /**
   * The reply to an inbound stanza: for an iq `get` or `set` with an id,
   * the first answer of its handlers (see the class notes), else
   * `service-unavailable`; for anything else `undefined` (replies are never
   * answered). Never rejects: a handler's failure becomes the error reply.
   *
   * @param iq The inbound stanza.
   * @param context Passed to each handler.
   * @returns The reply to send, or `undefined`.
   *
   * @example An unknown request
   * ```ts
   * import { iq, IqRouter, xml } from "@xmpp-e2e/streams/stanza";
   * import assert from "node:assert/strict";
   *
   * const reply = await new IqRouter().route(iq({ type: "get" }, xml("x", { xmlns: "urn:unknown" })));
   * assert.equal(reply?.getChild("error")?.elements()[0]?.name, "service-unavailable");
   * ```
   */
  async route(iq: Element, context: C): Promise<Element | undefined>;
  /**
   * The reply to an inbound stanza, for a router that passes no context.
   *
   * @param iq The inbound stanza.
   * @returns The reply to send, or `undefined`.
   */
  async route(
    this: IqRouter<undefined>,
    iq: Element,
  ): Promise<Element | undefined>;
  async route(iq: Element, context?: C): Promise<Element | undefined> {
    const { id, type } = iq.attrs;
    if (
      iq.name !== "iq" || !STANZA_NAMESPACES.includes(iq.ns) ||
      (type !== "get" && type !== "set") || id === undefined
    ) {
      return undefined;
    }
    const payload = iq.elements().find((child) => !child.is("error", iq.ns));
    // Taken now: a handler that registers or removes others changes nothing
    // for this request.
    const handlers = [
      ...(payload === undefined
        ? []
        : this.#routed(routeKey(type, payload.ns, payload.name))),
      ...this.#catchAlls(),
    ];
    try {
      for (const handler of handlers) {
        const answer = await handler(iq, context as C);
        if (answer !== undefined) return replyOf(iq, answer);
      }
      return this.#builtIn(iq) ?? unhandledIqReply(iq);
    } catch (error) {
      return iqError(
        iq,
        error instanceof StanzaError ? error : new StanzaError(
          "internal-server-error",
          error instanceof Error ? { text: error.message } : {},
        ),
      );
    }
  }

  #routed(key: string): IqRouteHandler<C>[] {
    return [
      ...(this.#routes.get(key) ?? []),
      ...this.#parents.flatMap((parent) => parent.#routed(key)),
    ];
  }

  #catchAlls(): IqRouteHandler<C>[] {
    return [
      ...this.#catchAll,
      ...this.#parents.flatMap((parent) => parent.#catchAlls()),
    ];
  }

  #builtIn(iq: Element): Element | undefined {
    if (this.#ping) {
      const pong = answerPing(iq);
      if (pong !== undefined) return pong;
    }
    if (iq.attrs.type !== "get") return undefined;
    if (this.#disco && iq.getChild("query", DISCO_INFO_NS)) {
      return discoInfoResult(iq, {
        identities: this.#disco.identities ?? [DEFAULT_IDENTITY],
        features: this.features,
      });
    }
    if (this.#version && iq.getChild("query", VERSION_NS)) {
      return versionResult(iq, this.#version);
    }
    return undefined;
  }
}

function routeKey(type: string, ns: string, name: string): string {
  return `${type} {${ns}}${name}`;
}

/** The reply an answer stands for. */
function replyOf(iq: Element, answer: Element | StanzaError): Element {
  if (answer instanceof StanzaError) return iqError(iq, answer);
  if (answer.name === "iq" && STANZA_NAMESPACES.includes(answer.ns)) {
    return answer;
  }
  return iqResult(iq, answer);
}
