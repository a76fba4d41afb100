/**
 * SCRAM-SHA-1 (RFC 5802), SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-512
 * (draft-melnikov-scram-sha-512, the name IANA registered), with the -PLUS
 * variants bound to the TLS channel through data that the caller supplies:
 * `tls-server-end-point` and `tls-unique` (RFC 5929) or `tls-exporter`
 * (RFC 9266).
 *
 * Passwords and names go through a minimal SASLprep (RFC 4013): non-ASCII
 * spaces become SPACE, "mapped to nothing" characters are dropped, NFKC is
 * applied and control characters are rejected. Full SASLprep (prohibited
 * and unassigned code points, bidi rules) and PRECIS (RFC 8265) are not
 * implemented.
 *
 * @module
 */

import { decodeBase64, encodeBase64 } from "./_base64.ts";
import { digest, hashLength, hi, hmac, xor } from "./_crypto.ts";
import {
  concat,
  escapeSaslname,
  isAttribute,
  isNonce,
  randomNonce,
  saslPrep,
  type ScramHash,
  scramKeys,
  serverErrorCondition,
  unescapeSaslname,
  utf8,
} from "./_scram.ts";
import { SaslError } from "./errors.ts";
import { timingSafeEqual } from "./timing_safe_equal.ts";

export type { ScramHash } from "./_scram.ts";

/** What a server stores for a SCRAM user (RFC 5802 section 3). */
export interface ScramCredentials {
  /** The salt sent to the client. */
  salt: Uint8Array;
  /** The PBKDF2 iteration count sent to the client. */
  iterations: number;
  /** StoredKey = H(ClientKey). */
  storedKey: Uint8Array;
  /** ServerKey = HMAC(SaltedPassword, "Server Key"). */
  serverKey: Uint8Array;
}

/** A TLS channel binding type, as the IANA registry names it. */
export type ScramChannelBindingType =
  | "tls-exporter"
  | "tls-unique"
  | "tls-server-end-point";

/** TLS channel binding data for the -PLUS mechanisms (RFC 5056). */
export interface ScramChannelBinding {
  /**
   * The channel binding type: `tls-server-end-point` (RFC 5929, the hash of
   * the server's certificate), `tls-unique` (RFC 5929, TLS 1.2 only) or
   * `tls-exporter` (RFC 9266).
   */
  type: ScramChannelBindingType;
  /** The channel binding data of that type for this connection. */
  data: Uint8Array;
}

/**
 * The default and minimum PBKDF2 iteration count (RFC 7677 section 4), and
 * the default for SCRAM-SHA-1 and SCRAM-SHA-256.
 *
 * @example The value
 * ```ts
 * import { SCRAM_DEFAULT_ITERATIONS } from "@xmpp-e2e/streams/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SCRAM_DEFAULT_ITERATIONS, 4096);
 * ```
 */
export const SCRAM_DEFAULT_ITERATIONS = 4096;

/**
 * The default iteration count for SCRAM-SHA-512: draft-melnikov-scram-sha-512
 * section 3 asks servers for at least 10,000.
 *
 * @example The value
 * ```ts
 * import { SCRAM_SHA512_DEFAULT_ITERATIONS } from "@xmpp-e2e/streams/sasl";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SCRAM_SHA512_DEFAULT_ITERATIONS, 10_000);
 * ```
 */
export const SCRAM_SHA512_DEFAULT_ITERATIONS = 10_000;

function defaultIterations(hash: ScramHash): number {
  return hash === "SHA-512"
    ? SCRAM_SHA512_DEFAULT_ITERATIONS
    : SCRAM_DEFAULT_ITERATIONS;
}

/**
 * Derives the credentials a server stores for a SCRAM user.
 *
 * @param password The password (minimal SASLprep is applied).
 * @param hash The SCRAM hash function.
 * @param options `salt` (default: 16 random bytes) and `iterations`
 * (default: 4096, or 10,000 for SHA-512).
 * @returns The salt, iteration count, StoredKey and ServerKey.
 * @throws {SaslError} `malformed-request` if the password has a control
 * character.
 *
 * @example Deriving credentials with a random salt
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const creds = await deriveScramCredentials("pencil", "SHA-256");
 * assert.equal(creds.salt.length, 16);
 * assert.equal(creds.iterations, 4096);
 * assert.equal(creds.storedKey.length, 32);
 * ```
 */
export async function deriveScramCredentials(
  password: string,
  hash: ScramHash,
  options: { salt?: Uint8Array; iterations?: number } = {},
): Promise<ScramCredentials> {
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  const iterations = options.iterations ?? defaultIterations(hash);
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError(`Cannot derive credentials: bad iteration count`);
  }
  const salted = await hi(
    hash,
    utf8(saslPrep(password, "Password")),
    salt,
    iterations,
  );
  const { storedKey, serverKey } = await scramKeys(hash, salted);
  return { salt: new Uint8Array(salt), iterations, storedKey, serverKey };
}

type ClientState = "initial" | "first" | "final" | "done";

/** Options for {@linkcode ScramClient}. */
export interface ScramClientOptions {
  /** The SCRAM hash function. */
  hash: ScramHash;
  /** The authentication identity. */
  username: string;
  /** The password. */
  password: string;
  /** The authorization identity, if different from the username's. */
  authzid?: string;
  /** Channel binding data; its presence means the client supports binding. */
  channelBinding?: ScramChannelBinding;
  /** Use the -PLUS mechanism (requires `channelBinding`). */
  plus?: boolean;
  /**
   * The server offered a -PLUS mechanism. With `channelBinding` set, the
   * client must then use `plus` (a TypeError otherwise); without it, the
   * gs2 flag `y` tells the server that the client supports binding but saw
   * no -PLUS offer, so a stripped offer is detected.
   */
  serverOffersPlus?: boolean;
  /** The client nonce (tests only; default: 24 random characters). */
  nonce?: string;
  /** Lowest iteration count accepted from the server (default: 4096). */
  minIterations?: number;
  /** Highest iteration count accepted from the server (default: 1,000,000). */
  maxIterations?: number;
}

/**
 * The client side of one SCRAM exchange: {@linkcode ScramClient.first},
 * then {@linkcode ScramClient.final}, then {@linkcode ScramClient.verify}.
 * Each method may be called once, in that order.
 *
 * @example A full exchange against a ScramServer
 * ```ts
 * import assert from "node:assert/strict";
 *
 * const creds = await deriveScramCredentials("pencil", "SHA-256");
 * const server = new ScramServer({
 *   hash: "SHA-256",
 *   offeredPlus: false,
 *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
 * });
 * const client = new ScramClient({
 *   hash: "SHA-256",
 *   username: "user",
 *   password: "pencil",
 * });
 * assert.equal(client.mechanism, "SCRAM-SHA-256");
 * const serverFirst = await server.first(client.first());
 * const result = await server.final(await client.final(serverFirst));
 * assert.equal(result.username, "user");
 * await client.verify(result.serverFinal);
 * ```
 */
export class ScramClient {
  /** The SASL mechanism name, e.g. `SCRAM-SHA-1-PLUS`. */
  readonly mechanism: string;
  readonly #hash: ScramHash;
  readonly #password: string;
  readonly #gs2Header: string;
  readonly #cbInput: Uint8Array;
  readonly #nonce: string;
  readonly #clientFirstBare: string;
  readonly #minIterations: number;
  readonly #maxIterations: number;
  #state: ClientState = "initial";
  #serverSignature: Uint8Array | undefined;

  /**
   * Creates a SCRAM client.
   *
   * @example A client for SCRAM-SHA-256
   * ```ts
   * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const creds = await deriveScramCredentials("pencil", "SHA-256");
   * const server = new ScramServer({
   *   hash: "SHA-256",
   *   offeredPlus: false,
   *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
   * });
   * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
   * assert.equal(client.mechanism, "SCRAM-SHA-256");
   * ```
   *
   * @param o The client options.
   * @throws {TypeError} If `plus` lacks `channelBinding`, if the server
   * offers -PLUS and binding data is present but `plus` is not set, or if
   * `nonce` is not a valid nonce.
   * @throws {SaslError} `malformed-request` if a name or the password has
   * a control character.
   */
  constructor(o: ScramClientOptions) {
    if (o.plus && o.channelBinding === undefined) {
      throw new TypeError("Cannot use SCRAM -PLUS without channel binding");
    }
    if (o.serverOffersPlus && o.channelBinding !== undefined && !o.plus) {
      throw new TypeError(
        "Cannot use SCRAM without -PLUS: the server offers -PLUS and channel binding is available",
      );
    }
    const nonce = o.nonce ?? randomNonce();
    if (!isNonce(nonce)) throw new TypeError("Cannot use an invalid nonce");
    this.#hash = o.hash;
    this.mechanism = `SCRAM-${o.hash}${o.plus ? "-PLUS" : ""}`;
    this.#password = saslPrep(o.password, "Password");
    const flag = o.plus
      ? `p=${o.channelBinding!.type}`
      : o.channelBinding
      ? "y"
      : "n";
    const authzid = o.authzid === undefined
      ? ""
      : `a=${escapeSaslname(saslPrep(o.authzid, "Authzid"))}`;
    this.#gs2Header = `${flag},${authzid},`;
    this.#cbInput = o.plus && o.channelBinding
      ? concat(utf8(this.#gs2Header), o.channelBinding.data)
      : utf8(this.#gs2Header);
    this.#nonce = nonce;
    const username = saslPrep(o.username, "Username");
    if (username === "") throw new TypeError("Cannot use an empty username");
    this.#clientFirstBare = `n=${escapeSaslname(username)},r=${nonce}`;
    this.#minIterations = o.minIterations ?? SCRAM_DEFAULT_ITERATIONS;
    this.#maxIterations = o.maxIterations ?? 1_000_000;
  }

  /**
   * Builds the client-first-message.
   *
   * @example The client-first-message
   * ```ts
   * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const creds = await deriveScramCredentials("pencil", "SHA-256");
   * const server = new ScramServer({
   *   hash: "SHA-256",
   *   offeredPlus: false,
   *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
   * });
   * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
   * assert.match(client.first(), /^n,,n=user,r=/);
   * ```
   *
   * @returns The client-first-message (gs2 header and client-first-bare).
   */
  first(): string {
    this.#advance("initial", "first");
    return this.#gs2Header + this.#clientFirstBare;
  }

  /**
   * Checks the server-first-message and builds the client-final-message.
   *
   * @example The client-final-message, with the proof
   * ```ts
   * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const creds = await deriveScramCredentials("pencil", "SHA-256");
   * const server = new ScramServer({
   *   hash: "SHA-256",
   *   offeredPlus: false,
   *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
   * });
   * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
   * const serverFirst = await server.first(client.first());
   * assert.match(await client.final(serverFirst), /,p=/);
   * ```
   *
   * @param serverFirst The server-first-message.
   * @returns The client-final-message, carrying the client proof.
   * @throws {SaslError} `malformed-request` if the server-first-message is
   * malformed, does not extend our nonce, or has too few or too many
   * iterations.
   */
  async final(serverFirst: string): Promise<string> {
    this.#advance("first", "done");
    const parts = serverFirst.split(",");
    const [r, s, i] = parts;
    const malformed = (why: string) =>
      new SaslError("malformed-request", `server-first-message: ${why}`);
    if (!r?.startsWith("r=") || !s?.startsWith("s=") || !i?.startsWith("i=")) {
      throw malformed("expected r=, s= and i=");
    }
    if (!parts.slice(3).every(isAttribute)) throw malformed("bad extension");
    const nonce = r.slice(2);
    if (
      !isNonce(nonce) || !nonce.startsWith(this.#nonce) ||
      nonce.length === this.#nonce.length
    ) {
      throw malformed("nonce does not extend the client nonce");
    }
    const salt = decodeBase64(s.slice(2));
    if (salt === undefined || salt.length === 0) throw malformed("bad salt");
    const iterations = /^[1-9][0-9]{0,15}$/.test(i.slice(2))
      ? Number(i.slice(2))
      : NaN;
    if (
      !(iterations >= this.#minIterations && iterations <= this.#maxIterations)
    ) {
      throw malformed("bad iteration count");
    }
    const hash = this.#hash;
    const salted = await hi(hash, utf8(this.#password), salt, iterations);
    const { clientKey, storedKey, serverKey } = await scramKeys(hash, salted);
    const withoutProof = `c=${encodeBase64(this.#cbInput)},r=${nonce}`;
    const authMessage = utf8(
      `${this.#clientFirstBare},${serverFirst},${withoutProof}`,
    );
    const clientSignature = await hmac(hash, storedKey, authMessage);
    this.#serverSignature = await hmac(hash, serverKey, authMessage);
    this.#state = "final";
    return `${withoutProof},p=${encodeBase64(xor(clientKey, clientSignature))}`;
  }

  /**
   * Checks the server-final-message: the server signature proves that the
   * server knows the credentials (mutual authentication).
   *
   * @example Checking the server's signature
   * ```ts
   * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const creds = await deriveScramCredentials("pencil", "SHA-256");
   * const server = new ScramServer({
   *   hash: "SHA-256",
   *   offeredPlus: false,
   *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
   * });
   * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
   * const serverFirst = await server.first(client.first());
   * const { serverFinal } = await server.final(await client.final(serverFirst));
   * await client.verify(serverFinal); // rejects unless the server knew the keys
   * ```
   *
   * @param serverFinal The server-final-message (`v=...` or `e=...`).
   * @throws {SaslError} `not-authorized` ("server signature mismatch") if
   * the signature is wrong; the mapped condition for an `e=` server error;
   * `malformed-request` for anything else.
   */
  verify(serverFinal: string): Promise<void> {
    try {
      this.#advance("final", "done");
    } catch (error) {
      return Promise.reject(error);
    }
    const first = serverFinal.split(",")[0] ?? "";
    if (first.startsWith("e=")) {
      const value = first.slice(2);
      return Promise.reject(
        new SaslError(serverErrorCondition(value), `server error: ${value}`),
      );
    }
    const signature = first.startsWith("v=")
      ? decodeBase64(first.slice(2))
      : undefined;
    if (signature === undefined) {
      return Promise.reject(
        new SaslError("malformed-request", "server-final-message: bad v="),
      );
    }
    if (!timingSafeEqual(signature, this.#serverSignature!)) {
      return Promise.reject(
        new SaslError("not-authorized", "server signature mismatch"),
      );
    }
    return Promise.resolve();
  }

  #advance(from: ClientState, to: ClientState): void {
    if (this.#state !== from) {
      this.#state = "done";
      throw new Error(`Cannot continue the SCRAM exchange out of order`);
    }
    this.#state = to;
  }
}

/** Options for {@linkcode ScramServer}. */
export interface ScramServerOptions {
  /** The SCRAM hash function. */
  hash: ScramHash;
  /** Finds the stored credentials of a user, or `undefined` if unknown. */
  lookup: (username: string) => Promise<ScramCredentials | undefined>;
  /**
   * Our channel binding data, one entry per type we support; required to
   * accept a -PLUS exchange, which must name one of these types.
   */
  channelBinding?: ScramChannelBinding | readonly ScramChannelBinding[];
  /** Whether we offered a -PLUS mechanism in this negotiation. */
  offeredPlus: boolean;
  /**
   * The mechanism the client selected was -PLUS (`true`) or not (`false`).
   * When given, the gs2 flag must agree with it.
   */
  plus?: boolean;
  /** The server nonce part (tests only; default: 24 random characters). */
  nonce?: string;
}

/** The outcome of a successful {@linkcode ScramServer.final}. */
export interface ScramServerResult {
  /** The server-final-message (`v=...`) to send to the client. */
  serverFinal: string;
  /** The authenticated username. */
  username: string;
  /** The requested authorization identity, if any. */
  authzid: string | undefined;
}

// Keys dummy salts for unknown users, so their salts are stable per name.
let dummyKey: Uint8Array | undefined;

async function dummyCredentials(
  hash: ScramHash,
  username: string,
): Promise<ScramCredentials> {
  dummyKey ??= crypto.getRandomValues(new Uint8Array(32));
  const salt = (await hmac("SHA-256", dummyKey, utf8(username))).slice(0, 16);
  const len = hashLength(hash);
  return {
    salt,
    iterations: defaultIterations(hash),
    storedKey: crypto.getRandomValues(new Uint8Array(len)),
    serverKey: crypto.getRandomValues(new Uint8Array(len)),
  };
}

type ServerState = "initial" | "first" | "done";

/**
 * The server side of one SCRAM exchange: {@linkcode ScramServer.first},
 * then {@linkcode ScramServer.final}. An instance serves exactly one
 * exchange with a fresh random nonce, so a replayed client-final-message
 * fails.
 *
 * Unknown users get dummy credentials (a salt stable per name) and fail
 * the proof check like a wrong password, so the exchange does not reveal
 * which users exist.
 *
 * @example Rejecting a wrong password
 * ```ts
 * import assert from "node:assert/strict";
 * import { SaslError } from "@xmpp-e2e/streams/sasl";
 *
 * const creds = await deriveScramCredentials("pencil", "SHA-1");
 * const server = new ScramServer({
 *   hash: "SHA-1",
 *   offeredPlus: false,
 *   lookup: () => Promise.resolve(creds),
 * });
 * const client = new ScramClient({
 *   hash: "SHA-1",
 *   username: "user",
 *   password: "crayon",
 * });
 * const serverFirst = await server.first(client.first());
 * await assert.rejects(
 *   server.final(await client.final(serverFirst)),
 *   (e) => e instanceof SaslError && e.condition === "not-authorized",
 * );
 * ```
 */
export class ScramServer {
  readonly #o: ScramServerOptions;
  readonly #serverNonce: string;
  #state: ServerState = "initial";
  #nonce = "";
  #cbExpected = "";
  #clientFirstBare = "";
  #serverFirst = "";
  #username = "";
  #authzid: string | undefined;
  #credentials: ScramCredentials | undefined;
  #known = false;

  /**
   * Creates a SCRAM server for one exchange.
   *
   * @example A server for one exchange
   * ```ts
   * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const creds = await deriveScramCredentials("pencil", "SHA-256");
   * const server = new ScramServer({
   *   hash: "SHA-256",
   *   offeredPlus: false,
   *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
   * });
   * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
   * assert.match(await server.first(client.first()), /^r=.*,s=.*,i=4096$/);
   * ```
   *
   * @param o The server options.
   * @throws {TypeError} If `nonce` is not a valid nonce.
   */
  constructor(o: ScramServerOptions) {
    const nonce = o.nonce ?? randomNonce();
    if (!isNonce(nonce)) throw new TypeError("Cannot use an invalid nonce");
    this.#o = o;
    this.#serverNonce = nonce;
  }

  /**
   * Checks the client-first-message and builds the server-first-message.
   *
   * @example The server-first-message
   * ```ts
   * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const creds = await deriveScramCredentials("pencil", "SHA-256");
   * const server = new ScramServer({
   *   hash: "SHA-256",
   *   offeredPlus: false,
   *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
   * });
   * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
   * const serverFirst = await server.first(client.first());
   * assert.match(serverFirst, /^r=/);
   * ```
   *
   * @param clientFirst The client-first-message.
   * @returns The server-first-message (`r=...,s=...,i=...`).
   * @throws {SaslError} `malformed-request` if the message is malformed;
   * `not-authorized` for a channel binding downgrade (flag `y` after we
   * offered -PLUS), a binding we cannot provide, or a flag that disagrees
   * with the selected mechanism.
   */
  async first(clientFirst: string): Promise<string> {
    this.#advance("initial", "done");
    const parts = clientFirst.split(",");
    const [flag, a, n, r] = parts;
    const malformed = (why: string) =>
      new SaslError("malformed-request", `client-first-message: ${why}`);
    if (flag === undefined || a === undefined) throw malformed("no gs2 header");
    if (flag !== "n" && flag !== "y" && !flag.startsWith("p=")) {
      throw malformed("bad gs2 flag");
    }
    let authzid: string | undefined;
    if (a !== "") {
      authzid = a.startsWith("a=") ? unescapeSaslname(a.slice(2)) : undefined;
      if (authzid === undefined) throw malformed("bad authzid");
    }
    if (n?.startsWith("m=")) throw malformed("mandatory extension");
    const username = n?.startsWith("n=")
      ? unescapeSaslname(n.slice(2))
      : undefined;
    if (username === undefined) throw malformed("bad username");
    const clientNonce = r?.startsWith("r=") ? r.slice(2) : "";
    if (!isNonce(clientNonce)) throw malformed("bad nonce");
    if (!parts.slice(4).every(isAttribute)) throw malformed("bad extension");

    const o = this.#o;
    const gs2Header = `${flag},${a},`;
    let cbInput = utf8(gs2Header);
    if (flag === "y" && o.offeredPlus) {
      throw new SaslError("not-authorized", "channel binding downgrade");
    }
    if (flag.startsWith("p=")) {
      const type = flag.slice(2);
      const ours = o.channelBinding === undefined
        ? []
        : Array.isArray(o.channelBinding)
        ? o.channelBinding
        : [o.channelBinding as ScramChannelBinding];
      const binding = ours.find((b) => b.type === type);
      if (binding === undefined || !o.offeredPlus) {
        throw new SaslError(
          "not-authorized",
          "unsupported channel binding type",
        );
      }
      cbInput = concat(cbInput, binding.data);
    }
    if (o.plus !== undefined && o.plus !== flag.startsWith("p=")) {
      throw new SaslError(
        "not-authorized",
        "gs2 flag does not match the mechanism",
      );
    }

    const found = await o.lookup(username);
    this.#known = found !== undefined;
    const creds = found ?? await dummyCredentials(o.hash, username);
    this.#credentials = creds;
    this.#username = username;
    this.#authzid = authzid;
    this.#cbExpected = encodeBase64(cbInput);
    this.#clientFirstBare = parts.slice(2).join(",");
    this.#nonce = clientNonce + this.#serverNonce;
    this.#serverFirst = `r=${this.#nonce},s=${
      encodeBase64(creds.salt)
    },i=${creds.iterations}`;
    this.#state = "first";
    return this.#serverFirst;
  }

  /**
   * Checks the client-final-message and its proof, and builds the
   * server-final-message.
   *
   * @example Authenticating the client
   * ```ts
   * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
   * import assert from "node:assert/strict";
   *
   * const creds = await deriveScramCredentials("pencil", "SHA-256");
   * const server = new ScramServer({
   *   hash: "SHA-256",
   *   offeredPlus: false,
   *   lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
   * });
   * const client = new ScramClient({ hash: "SHA-256", username: "user", password: "pencil" });
   * const serverFirst = await server.first(client.first());
   * const result = await server.final(await client.final(serverFirst));
   * assert.equal(result.username, "user");
   * ```
   *
   * @param clientFinal The client-final-message.
   * @returns The server-final-message and the authenticated identities.
   * @throws {SaslError} `malformed-request` if the message is malformed;
   * `not-authorized` for a wrong nonce (a replay), wrong channel binding
   * data, a wrong proof or an unknown user, or a second call.
   */
  async final(clientFinal: string): Promise<ScramServerResult> {
    if (this.#state !== "first") {
      this.#state = "done";
      throw new SaslError("not-authorized", "exchange not in progress");
    }
    this.#state = "done";
    const malformed = (why: string) =>
      new SaslError("malformed-request", `client-final-message: ${why}`);
    const at = clientFinal.lastIndexOf(",p=");
    if (at < 0) throw malformed("no proof");
    const withoutProof = clientFinal.slice(0, at);
    const proof = decodeBase64(clientFinal.slice(at + 3));
    if (proof === undefined) throw malformed("bad proof");
    const parts = withoutProof.split(",");
    const [c, r] = parts;
    if (!c?.startsWith("c=") || !r?.startsWith("r=")) {
      throw malformed("expected c= and r=");
    }
    if (!parts.slice(2).every(isAttribute)) throw malformed("bad extension");
    if (r.slice(2) !== this.#nonce) {
      throw new SaslError("not-authorized", "nonce mismatch");
    }
    if (c.slice(2) !== this.#cbExpected) {
      throw new SaslError("not-authorized", "channel binding mismatch");
    }

    const hash = this.#o.hash;
    const creds = this.#credentials!;
    const authMessage = utf8(
      `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`,
    );
    const clientSignature = await hmac(hash, creds.storedKey, authMessage);
    const sameLength = proof.length === clientSignature.length;
    const clientKey = xor(
      sameLength ? proof : clientSignature,
      clientSignature,
    );
    const computed = await digest(hash, clientKey);
    const ok = timingSafeEqual(computed, creds.storedKey);
    if (!(ok && sameLength && this.#known)) {
      throw new SaslError("not-authorized", "invalid proof");
    }
    const serverSignature = await hmac(hash, creds.serverKey, authMessage);
    return {
      serverFinal: `v=${encodeBase64(serverSignature)}`,
      username: this.#username,
      authzid: this.#authzid,
    };
  }

  #advance(from: ServerState, to: ServerState): void {
    if (this.#state !== from) {
      this.#state = "done";
      throw new SaslError("not-authorized", "exchange not in progress");
    }
    this.#state = to;
  }
}
