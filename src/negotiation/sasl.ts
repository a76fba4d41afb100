/**
 * SASL (RFC 6120 section 6) as a stream feature, both roles: SCRAM-SHA-256,
 * SCRAM-SHA-1 and their -PLUS variants with `tls-server-end-point` channel
 * binding (RFC 5929), and PLAIN (only over TLS).
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
import { pemToDer } from "../transport/certificate.ts";
import type { TlsInfo } from "../transport/transport.ts";
import type { NegotiationContext, StreamFeature } from "./feature.ts";
import { endPointBinding } from "../transport/_channel_binding.ts";

/** The SASL namespace. */
export const SASL_NS = "urn:ietf:params:xml:ns:xmpp-sasl";

const SCRAM: Record<string, { hash: ScramHash; plus: boolean }> = {
  "SCRAM-SHA-256-PLUS": { hash: "SHA-256", plus: true },
  "SCRAM-SHA-1-PLUS": { hash: "SHA-1", plus: true },
  "SCRAM-SHA-256": { hash: "SHA-256", plus: false },
  "SCRAM-SHA-1": { hash: "SHA-1", plus: false },
};

/** Mechanisms in order of preference, strongest first. */
export const DEFAULT_MECHANISMS: readonly string[] = Object.freeze([
  "SCRAM-SHA-256-PLUS",
  "SCRAM-SHA-1-PLUS",
  "SCRAM-SHA-256",
  "SCRAM-SHA-1",
  "PLAIN",
]);

/** The initiator's side: who it is and which mechanisms it will use. */
export interface SaslClientOptions {
  /** The username (authcid); also the identity reported after success. */
  username: string;
  /** The password (SCRAM, PLAIN); without it only EXTERNAL or ANONYMOUS can work. */
  password?: string;
  /** An authorization identity to act as, if any. */
  authzid?: string;
  /**
   * Acceptable mechanisms in order of preference. Default: the SCRAM ones
   * and PLAIN, strongest first. EXTERNAL (the client certificate speaks for
   * us) and ANONYMOUS are used only when listed here.
   */
  mechanisms?: readonly string[];
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
  /** Offered mechanisms in order. Default: all (PLAIN only over TLS). */
  mechanisms?: readonly string[];
  /** Failed attempts allowed before the stream is closed. Default 3. */
  maxAttempts?: number;
  /**
   * This end's certificate (PEM), whose hash is the `tls-server-end-point`
   * channel binding; without it no -PLUS mechanism is offered.
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
 * recipient. Success restarts the stream and sets its identity.
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
          const identity = await serve(auth, server, context);
          context.state.set(STATE, identity);
          context.authenticated(identity);
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
      const binding = await clientBinding(context);
      const hasPassword = client.password !== undefined;
      const mechanism = (client.mechanisms ?? DEFAULT_MECHANISMS).find((m) =>
        theirs.includes(m) &&
        (m === "EXTERNAL" || m === "ANONYMOUS" ||
          (m === "PLAIN"
            ? context.tls && hasPassword
            : SCRAM[m] !== undefined && hasPassword &&
              (!SCRAM[m]!.plus || binding !== undefined)))
      );
      if (mechanism === undefined) {
        throw new NegotiationError(
          "sasl",
          `No SASL mechanism in common (offered: ${
            theirs.join(", ") || "none"
          })`,
        );
      }
      try {
        await authenticate(mechanism, client, theirs, binding, context);
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
      context.authenticated(client.username);
      return true;
    },
  };
}

function usable(context: NegotiationContext): boolean {
  return !context.state.has(STATE) && (context.tls || !context.canStartTls);
}

function offeredMechanisms(
  server: SaslServerOptions,
  context: NegotiationContext,
): string[] {
  const offered = (server.mechanisms ?? DEFAULT_MECHANISMS).filter((m) =>
    m === "PLAIN" ? context.tls : SCRAM[m] !== undefined &&
      (!SCRAM[m]!.plus || (context.tls && server.certificate !== undefined))
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
  offered: string[],
  bindingData: Uint8Array | undefined,
  context: NegotiationContext,
): Promise<void> {
  let binding = bindingData;
  if (mechanism === "EXTERNAL" || mechanism === "ANONYMOUS") {
    const initial = mechanism === "EXTERNAL" ? client.authzid ?? "" : "";
    await context.send(auth(mechanism, initial));
    outcome(await context.receive());
    return;
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
    return;
  }
  const { hash, plus } = SCRAM[mechanism]!;
  const serverOffersPlus = offered.some((m) => m.endsWith("-PLUS"));
  // Binding data goes in when we bind (-PLUS), or to say "y" (we could, the
  // server seems unable); choosing plain SCRAM while the server offers -PLUS
  // means we do not bind ("n").
  if (!plus && serverOffersPlus) binding = undefined;
  const scram = new ScramClient({
    hash,
    username: client.username,
    password,
    ...(client.authzid !== undefined ? { authzid: client.authzid } : {}),
    ...(binding !== undefined
      ? {
        channelBinding: {
          type: "tls-server-end-point" as const,
          data: binding,
        },
      }
      : {}),
    plus,
    serverOffersPlus,
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
}

/** The recipient's exchange for one `<auth/>`; returns the identity. */
async function serve(
  auth: Element,
  server: SaslServerOptions,
  context: NegotiationContext,
): Promise<string> {
  const mechanism = auth.attrs.mechanism ?? "";
  if (!offeredMechanisms(server, context).includes(mechanism)) {
    throw new SaslError("invalid-mechanism", `${mechanism} is not offered`);
  }
  const initial = fromBase64(auth.text());
  if (mechanism === "EXTERNAL") {
    const authzid = initial.length === 0 ? undefined : decoder.decode(initial);
    const identity = await server.external!(context.tlsInfo!, authzid);
    if (identity === undefined) throw new SaslError("not-authorized");
    await context.send(new Element("success", SASL_NS));
    return identity;
  }
  if (mechanism === "ANONYMOUS") {
    await context.send(new Element("success", SASL_NS));
    return `anonymous-${crypto.randomUUID()}`;
  }
  if (mechanism === "PLAIN") {
    const { authcid, password } = parsePlain(initial);
    const stored = await server.credentials(authcid, "SHA-256") ??
      await server.credentials(authcid, "SHA-1");
    if (stored === undefined || !await matchesStored(password, stored)) {
      throw new SaslError("not-authorized");
    }
    await context.send(new Element("success", SASL_NS));
    return authcid;
  }
  const { hash, plus } = SCRAM[mechanism]!;
  const binding = plus || server.certificate !== undefined
    ? await serverBinding(server, context)
    : undefined;
  const scram = new ScramServer({
    hash,
    lookup: (username) => server.credentials(username, hash),
    ...(binding !== undefined
      ? {
        channelBinding: {
          type: "tls-server-end-point" as const,
          data: binding,
        },
      }
      : {}),
    offeredPlus: offeredMechanisms(server, context).some((m) =>
      m.endsWith("-PLUS")
    ),
  });
  const first = await scram.first(decoder.decode(initial));
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
  return result.username;
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
  const hash: ScramHash = stored.storedKey.length === 20 ? "SHA-1" : "SHA-256";
  const derived = await deriveScramCredentials(password, hash, {
    salt: stored.salt,
    iterations: stored.iterations,
  });
  return timingSafeEqual(derived.storedKey, stored.storedKey);
}

async function clientBinding(
  context: NegotiationContext,
): Promise<Uint8Array | undefined> {
  const der = context.tlsInfo?.peerCertificate;
  return der === undefined ? undefined : await endPointBinding(der);
}

async function serverBinding(
  server: SaslServerOptions,
  context: NegotiationContext,
): Promise<Uint8Array | undefined> {
  if (!context.tls || server.certificate === undefined) return undefined;
  return await endPointBinding(pemToDer(server.certificate));
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
