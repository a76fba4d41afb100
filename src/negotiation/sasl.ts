/**
 * SASL (RFC 6120 section 6) as a stream feature, both roles: SCRAM-SHA-512,
 * SCRAM-SHA-256, SCRAM-SHA-1 and their -PLUS variants, bound with the types
 * the transport computes and the peer advertises (XEP-0440), and PLAIN
 * (only over TLS).
 *
 * @module
 */

import { Element } from "../xml/element.ts";
import { NegotiationError, StreamError } from "../stream/errors.ts";
import {
  SASL_CONDITIONS,
  type SaslCondition,
  SaslError,
} from "../sasl/errors.ts";
import {
  deriveScramCredentials,
  ScramClient,
  type ScramCredentials,
  type ScramHash,
  ScramServer,
} from "../sasl/scram.ts";
import { parsePlain, plainInitial } from "../sasl/plain.ts";
import { decodeBase64, encodeBase64 } from "../sasl/_base64.ts";
import { timingSafeEqual } from "../sasl/timing_safe_equal.ts";
import type { ChannelBindingType, TlsInfo } from "../transport/transport.ts";
import type { NegotiationContext, SaslInfo, StreamFeature } from "./feature.ts";
import {
  advertisedTypes,
  advertisement,
  bindingData,
  bindingTypes,
  chooseBinding,
  SASL_CB_NS,
  type SaslChannelBinding,
} from "./_sasl_cb.ts";

export { SASL_CB_NS, type SaslChannelBinding };

/**
 * The SASL namespace.
 *
 * @example The namespace
 * ```ts
 * import { SASL_NS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SASL_NS, "urn:ietf:params:xml:ns:xmpp-sasl");
 * ```
 */
export const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

const SCRAM: Record<string, { hash: ScramHash; plus: boolean }> = {
  "SCRAM-SHA-512-PLUS": { hash: "SHA-512", plus: true },
  "SCRAM-SHA-256-PLUS": { hash: "SHA-256", plus: true },
  "SCRAM-SHA-1-PLUS": { hash: "SHA-1", plus: true },
  "SCRAM-SHA-512": { hash: "SHA-512", plus: false },
  "SCRAM-SHA-256": { hash: "SHA-256", plus: false },
  "SCRAM-SHA-1": { hash: "SHA-1", plus: false },
};

/**
 * Mechanisms in order of preference: a channel-bound mechanism before any
 * unbound one (binding is what stops a man in the middle), then the longer
 * hash, then PLAIN. The initiator's default; the recipient offers the same
 * without SCRAM-SHA-512 unless it is listed (see
 * {@linkcode SaslServerOptions.mechanisms}).
 *
 * @example Bound mechanisms first
 * ```ts
 * import { DEFAULT_MECHANISMS } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DEFAULT_MECHANISMS[0], "SCRAM-SHA-512-PLUS");
 * assert.equal(DEFAULT_MECHANISMS.at(-1), "PLAIN");
 * ```
 */
export const DEFAULT_MECHANISMS: readonly string[] = Object.freeze([
  "SCRAM-SHA-512-PLUS",
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-512",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
]);

// What the recipient offers by default: credentials() written before
// SCRAM-SHA-512 was offered may have no SHA-512 keys, and every client that
// prefers SHA-512 would then fail.
const DEFAULT_OFFERED = Object.freeze(
  DEFAULT_MECHANISMS.filter((m) => SCRAM[m]?.hash !== "SHA-512"),
);

/** The initiator's side: who it is and which mechanisms it will use. */
export interface SaslClientOptions {
  /** The username (authcid); also the identity reported after success. */
  username: string;
  /** The password (SCRAM, PLAIN); without it only EXTERNAL or ANONYMOUS can work. */
  password?: string;
  /** An authorization identity to act as, if any. */
  authzid?: string;
  /**
   * Acceptable mechanisms in order of preference. Default:
   * {@linkcode DEFAULT_MECHANISMS}. EXTERNAL (the client certificate speaks
   * for us) and ANONYMOUS are used only when listed here.
   */
  mechanisms?: readonly string[];
  /**
   * Channel binding (the SCRAM -PLUS mechanisms). Default `"auto"`: bind
   * with the strongest type that both the transport computes and the peer
   * advertises (XEP-0440), or, when it advertises none, only with the
   * default type of the TLS version (RFC 5802: `tls-unique` up to TLS 1.2;
   * RFC 9266: `tls-exporter` from TLS 1.3); otherwise authenticate unbound,
   * with the GS2 flag RFC 5802 section 6 prescribes (`y` when the peer
   * offers no -PLUS mechanism and this end could bind, else `n`).
   * `"required"`: the same, but fail rather than authenticate unbound. A
   * type name: bind with that type even if the peer does not advertise it
   * (a server known to support it), and fail if the transport cannot
   * compute it.
   */
  channelBinding?: SaslChannelBinding;
}

/** The recipient's side: how it checks credentials. */
export interface SaslServerOptions {
  /**
   * The stored SCRAM keys of a user for a hash, or undefined when there is
   * no such user. {@linkcode deriveScramCredentials} makes them from a
   * password; the password itself need never be stored.
   */
  credentials(
    username: string,
    hash: ScramHash,
  ): Promise<ScramCredentials | undefined>;
  /**
   * Offered mechanisms in order. Default: {@linkcode DEFAULT_MECHANISMS}
   * without SCRAM-SHA-512, which needs `credentials()` to give SHA-512 keys:
   * list it to offer it. PLAIN only over TLS; -PLUS only with channel
   * binding data.
   */
  mechanisms?: readonly string[];
  /** Failed attempts allowed before the stream is closed. Default 3. */
  maxAttempts?: number;
  /**
   * This end's certificate (PEM). Giving it offers the -PLUS mechanisms,
   * bound with the types the transport computes (`listenTcp()`:
   * `tls-server-end-point`, from the certificate it presents), or else with
   * `tls-server-end-point` from this one, and advertised with XEP-0440.
   * Without it no -PLUS is offered: a client that does not read XEP-0440
   * binds with its TLS version's default type (`tls-unique`,
   * `tls-exporter`), which Deno 2.9.6 cannot compute, and would fail where
   * unbound SCRAM succeeds.
   */
  certificate?: string;
  /**
   * EXTERNAL: maps the initiator's client certificate (and the authzid it
   * asks for) to an identity, or undefined to refuse. Offered only when
   * given and the initiator presented a certificate.
   */
  external?: (
    tls: TlsInfo,
    authzid: string | undefined,
  ) => string | undefined | Promise<string | undefined>;
  /** Offer ANONYMOUS (RFC 4505); each such peer gets a random identity. */
  anonymous?: boolean;
}

const STATE = "sasl";

/**
 * The SASL feature. Give `client` on the initiator, `server` on the
 * recipient. Success restarts the stream and sets its identity, and its
 * `sasl` info (mechanism, channel-binding type).
 *
 * The recipient offers the -PLUS mechanisms when given its `certificate`,
 * and advertises their types with XEP-0440's
 * `<sasl-channel-binding/>`; see {@linkcode SaslClientOptions.channelBinding}
 * for how the initiator chooses.
 *
 * @example SCRAM-SHA-256 between two ends, the recipient keeping only derived keys
 * ```ts
 * import {
 *   deriveScramCredentials,
 *   initiate,
 *   memoryPair,
 *   sasl,
 *   Session,
 * } from "@xmpp-e2e/streams";
 * import assert from "node:assert/strict";
 *
 * const keys = await deriveScramCredentials("wherefore", "SHA-256");
 * const [a, b] = memoryPair();
 * // Plaintext in memory for the example; over TCP, STARTTLS comes first.
 * const juliet = new Session({
 *   role: "recipient",
 *   transport: b,
 *   from: "pronto",
 *   tls: "off",
 *   features: [sasl({
 *     server: {
 *       mechanisms: ["SCRAM-SHA-256"],
 *       credentials: (user, hash) =>
 *         Promise.resolve(user === "romeo" && hash === "SHA-256" ? keys : undefined),
 *     },
 *   })],
 * });
 * const [romeo] = await Promise.all([
 *   initiate({
 *     transport: a,
 *     to: "pronto",
 *     tls: "off",
 *     features: [sasl({ client: { username: "romeo", password: "wherefore", mechanisms: ["SCRAM-SHA-256"] } })],
 *   }),
 *   juliet.negotiate(),
 * ]);
 * assert.equal(juliet.identity, "romeo");
 * assert.equal(romeo.info.sasl?.mechanism, "SCRAM-SHA-256");
 * await romeo.close();
 * ```
 *
 * @param options The role's options.
 * @returns The feature.
 */
export function sasl(
  options: { client?: SaslClientOptions; server?: SaslServerOptions },
): StreamFeature {
  return {
    name: "mechanisms",
    ns: SASL_NS,
    offer(context) {
      const server = options.server;
      if (server === undefined || !usable(context)) return undefined;
      const offered = offeredMechanisms(server, context);
      return new Element(
        "mechanisms",
        SASL_NS,
        {},
        offered.map((m) => new Element("mechanism", SASL_NS, {}, [m])),
      );
    },
    alongside(context) {
      const server = options.server;
      if (server === undefined || !usable(context)) return [];
      const types = serverTypes(server, context);
      const plus = offeredMechanisms(server, context).some(isPlus);
      return plus ? [advertisement(types)] : [];
    },
    mandatory(context) {
      return usable(context) &&
        (options.server !== undefined || options.client !== undefined);
    },
    starts(element) {
      return element.is("auth", SASL_NS);
    },
    async receive(first, context) {
      const server = options.server!;
      const max = server.maxAttempts ?? 3;
      let auth = first;
      for (let attempt = 1;; attempt++) {
        try {
          const { identity, info } = await serve(auth, server, context);
          context.state.set(STATE, identity);
          context.authenticated(identity, info);
          return true;
        } catch (error) {
          if (!(error instanceof SaslError)) throw error;
          await context.send(failure(error.condition, error.text));
          if (attempt >= max) {
            throw new StreamError("policy-violation", {
              sent: true,
              text: "too many failed authentication attempts",
            });
          }
        }
        auth = await context.receive();
        if (!auth.is("auth", SASL_NS)) {
          throw new StreamError("policy-violation", {
            sent: true,
            text: "authentication must succeed first",
          });
        }
      }
    },
    wanted() {
      return options.client !== undefined;
    },
    async initiate(offered, context) {
      const client = options.client!;
      const theirs = offered.getChildren("mechanism", SASL_NS).map((m) =>
        m.text().trim()
      );
      const ours = bindingTypes(context.tlsInfo, "initiator");
      const offeredPlus = theirs.some(isPlus);
      const binding = chooseBinding({
        ours,
        advertised: advertisedTypes(context.features),
        offeredPlus,
        protocol: context.tlsInfo?.protocol,
        policy: client.channelBinding ?? "auto",
      });
      const hasPassword = client.password !== undefined;
      const list = client.mechanisms ?? DEFAULT_MECHANISMS;
      const mechanism = list.find((m) =>
        theirs.includes(m) &&
        (m === "EXTERNAL" || m === "ANONYMOUS" ||
          (m === "PLAIN"
            ? context.tls && hasPassword && !binding.required
            : SCRAM[m] !== undefined && hasPassword &&
              (SCRAM[m]!.plus
                ? binding.type !== undefined
                : !binding.required)))
      );
      if (mechanism === undefined) {
        const offeredText = `offered: ${theirs.join(", ") || "none"}`;
        const plus = list.find((m) => theirs.includes(m) && SCRAM[m]?.plus);
        throw new NegotiationError(
          "sasl",
          plus !== undefined && hasPassword && binding.type === undefined
            ? `No SASL mechanism in common: ${plus} needs channel binding, and ${binding.why} (${offeredText})`
            : `No SASL mechanism in common (${offeredText})`,
        );
      }
      let info: SaslInfo;
      try {
        info = await authenticate(mechanism, client, {
          offeredPlus,
          ours,
          type: binding.type,
        }, context);
      } catch (error) {
        if (error instanceof SaslError) {
          throw new NegotiationError(
            "sasl",
            `Authentication failed: ${error.condition}${
              error.text ? ` (${error.text})` : ""
            }`,
            { cause: error },
          );
        }
        throw error;
      }
      context.state.set(STATE, client.username);
      context.authenticated(client.username, info);
      return true;
    },
  };
}

function isPlus(mechanism: string): boolean {
  return mechanism.endsWith("-PLUS");
}

function usable(context: NegotiationContext): boolean {
  return !context.state.has(STATE) && (context.tls || !context.canStartTls);
}

/** The binding types the recipient offers on this stream. */
function serverTypes(
  server: SaslServerOptions,
  context: NegotiationContext,
): ChannelBindingType[] {
  if (!context.tls || server.certificate === undefined) return [];
  return bindingTypes(context.tlsInfo, "recipient", server.certificate);
}

function offeredMechanisms(
  server: SaslServerOptions,
  context: NegotiationContext,
): string[] {
  const canBind = serverTypes(server, context).length > 0;
  const offered = (server.mechanisms ?? DEFAULT_OFFERED).filter((m) =>
    m === "PLAIN"
      ? context.tls
      : SCRAM[m] !== undefined && (!SCRAM[m]!.plus || canBind)
  );
  if (
    server.external !== undefined &&
    context.tlsInfo?.peerCertificate !== undefined
  ) offered.push("EXTERNAL");
  if (server.anonymous === true) offered.push("ANONYMOUS");
  return offered;
}

/** The initiator's exchange for one mechanism; throws SaslError on failure. */
async function authenticate(
  mechanism: string,
  client: SaslClientOptions,
  binding: {
    offeredPlus: boolean;
    ours: readonly ChannelBindingType[];
    type: ChannelBindingType | undefined;
  },
  context: NegotiationContext,
): Promise<SaslInfo> {
  const unbound = { mechanism, channelBinding: undefined };
  if (mechanism === "EXTERNAL" || mechanism === "ANONYMOUS") {
    const initial = mechanism === "EXTERNAL" ? client.authzid ?? "" : "";
    await context.send(auth(mechanism, initial));
    outcome(await context.receive());
    return unbound;
  }
  const password = client.password!;
  if (mechanism === "PLAIN") {
    await context.send(
      auth(
        mechanism,
        plainInitial(client.username, password, client.authzid),
      ),
    );
    outcome(await context.receive());
    return unbound;
  }
  const { hash, plus } = SCRAM[mechanism]!;
  // The GS2 flag (RFC 5802 section 6): "p=type" when bound; "y" when the
  // peer offers no -PLUS but this end could bind (a stripped offer is then
  // caught by a server that did offer it); else "n", this end does not bind
  // here: it cannot, or cannot be sure of a type the peer knows.
  const type = plus
    ? binding.type!
    : binding.offeredPlus
    ? undefined
    : binding.ours[0];
  const channelBinding = type === undefined ? undefined : {
    type,
    data: await bindingData(type, context.tlsInfo!, "initiator"),
  };
  const scram = new ScramClient({
    hash,
    username: client.username,
    password,
    ...(client.authzid !== undefined ? { authzid: client.authzid } : {}),
    ...(channelBinding !== undefined ? { channelBinding } : {}),
    plus,
    serverOffersPlus: binding.offeredPlus,
  });
  await context.send(auth(mechanism, encoder.encode(scram.first())));
  const challenge = await context.receive();
  if (!challenge.is("challenge", SASL_NS)) {
    outcome(challenge);
    throw new SaslError("malformed-request", "expected a challenge");
  }
  const final = await scram.final(decoder.decode(fromBase64(challenge.text())));
  await context.send(
    new Element("response", SASL_NS, {}, [toBase64(encoder.encode(final))]),
  );
  const data = outcome(await context.receive());
  // Mutual authentication: the server must prove it knows the keys too.
  await scram.verify(decoder.decode(data));
  return { mechanism, channelBinding: plus ? type : undefined };
}

/** The recipient's exchange for one `<auth/>`; returns who and how. */
async function serve(
  auth: Element,
  server: SaslServerOptions,
  context: NegotiationContext,
): Promise<{ identity: string; info: SaslInfo }> {
  const mechanism = auth.attrs.mechanism ?? "";
  const info = { mechanism, channelBinding: undefined };
  if (!offeredMechanisms(server, context).includes(mechanism)) {
    throw new SaslError("invalid-mechanism", `${mechanism} is not offered`);
  }
  const initial = fromBase64(auth.text());
  if (mechanism === "EXTERNAL") {
    const authzid = initial.length === 0 ? undefined : decoder.decode(initial);
    const identity = await server.external!(context.tlsInfo!, authzid);
    if (identity === undefined) throw new SaslError("not-authorized");
    await context.send(new Element("success", SASL_NS));
    return { identity, info };
  }
  if (mechanism === "ANONYMOUS") {
    await context.send(new Element("success", SASL_NS));
    return { identity: `anonymous-${crypto.randomUUID()}`, info };
  }
  if (mechanism === "PLAIN") {
    const { authcid, password } = parsePlain(initial);
    const stored = await server.credentials(authcid, "SHA-256") ??
      await server.credentials(authcid, "SHA-1") ??
      await server.credentials(authcid, "SHA-512");
    if (stored === undefined || !await matchesStored(password, stored)) {
      throw new SaslError("not-authorized");
    }
    await context.send(new Element("success", SASL_NS));
    return { identity: authcid, info };
  }
  const { hash, plus } = SCRAM[mechanism]!;
  const channelBinding = [];
  for (const type of plus ? serverTypes(server, context) : []) {
    channelBinding.push({
      type,
      data: await bindingData(
        type,
        context.tlsInfo!,
        "recipient",
        server.certificate,
      ),
    });
  }
  const scram = new ScramServer({
    hash,
    lookup: (username) => server.credentials(username, hash),
    channelBinding,
    offeredPlus: offeredMechanisms(server, context).some(isPlus),
    plus,
  });
  const clientFirst = decoder.decode(initial);
  const first = await scram.first(clientFirst);
  await context.send(
    new Element("challenge", SASL_NS, {}, [toBase64(encoder.encode(first))]),
  );
  const response = await context.receive();
  if (response.is("abort", SASL_NS)) throw new SaslError("aborted");
  if (!response.is("response", SASL_NS)) {
    throw new SaslError("malformed-request", "expected a response");
  }
  const result = await scram.final(decoder.decode(fromBase64(response.text())));
  await context.send(
    new Element("success", SASL_NS, {}, [
      toBase64(encoder.encode(result.serverFinal)),
    ]),
  );
  // ScramServer accepted "p=type" only for one of our types.
  const type = plus
    ? clientFirst.slice(2, clientFirst.indexOf(",")) as ChannelBindingType
    : undefined;
  return {
    identity: result.username,
    info: { mechanism, channelBinding: type },
  };
}

/** Reads `<success/>` (returning its data) or throws the `<failure/>`. */
function outcome(element: Element): Uint8Array {
  if (element.is("success", SASL_NS)) return fromBase64(element.text());
  if (element.is("failure", SASL_NS)) {
    let condition: SaslCondition = "not-authorized";
    let text: string | undefined;
    for (const child of element.elements()) {
      if (child.name === "text") text = child.text();
      else if ((SASL_CONDITIONS as readonly string[]).includes(child.name)) {
        condition = child.name as SaslCondition;
      }
    }
    throw new SaslError(condition, text);
  }
  throw new SaslError("malformed-request", `unexpected <${element.name}/>`);
}

/** Whether `password` derives the stored keys (PLAIN against SCRAM keys). */
async function matchesStored(
  password: string,
  stored: ScramCredentials,
): Promise<boolean> {
  const length = stored.storedKey.length;
  const hash: ScramHash = length === 20
    ? "SHA-1"
    : length === 64
    ? "SHA-512"
    : "SHA-256";
  const derived = await deriveScramCredentials(password, hash, {
    salt: stored.salt,
    iterations: stored.iterations,
  });
  return timingSafeEqual(derived.storedKey, stored.storedKey);
}

function auth(mechanism: string, initial: Uint8Array | string): Element {
  const bytes = typeof initial === "string" ? encoder.encode(initial) : initial;
  return new Element("auth", SASL_NS, { mechanism }, [toBase64(bytes)]);
}

function failure(condition: SaslCondition, text?: string): Element {
  const children = [new Element(condition, SASL_NS)];
  if (text !== undefined) {
    children.push(new Element("text", SASL_NS, {}, [text]));
  }
  return new Element("failure", SASL_NS, {}, children);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Base64 as RFC 6120 uses it: "=" stands for an empty payload. */
function toBase64(bytes: Uint8Array): string {
  return bytes.length === 0 ? "=" : encodeBase64(bytes);
}

function fromBase64(text: string): Uint8Array {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed === "=") return new Uint8Array(0);
  const bytes = decodeBase64(trimmed);
  if (bytes === undefined) throw new SaslError("incorrect-encoding");
  return bytes;
}
