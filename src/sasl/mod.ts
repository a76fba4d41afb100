/**
 * SASL for XMPP (RFC 6120 section 6): the SCRAM and PLAIN mechanisms and
 * the RFC 6120 failure conditions. Messages are the decoded payloads of
 * `<auth/>`, `<challenge/>`, `<response/>` and `<success/>`; base64 on the
 * wire is the caller's job.
 *
 * | Export | Purpose |
 * | --- | --- |
 * | {@linkcode ScramClient} | Client side of SCRAM-SHA-1/-256/-512 (and -PLUS) |
 * | {@linkcode ScramServer} | Server side of one SCRAM exchange |
 * | {@linkcode deriveScramCredentials} | Salt, iterations, StoredKey, ServerKey for a password |
 * | {@linkcode plainInitial} | Build a PLAIN initial response |
 * | {@linkcode parsePlain} | Parse a PLAIN initial response |
 * | {@linkcode SaslError} | A failure with its RFC 6120 condition |
 * | {@linkcode SASL_CONDITIONS} | The RFC 6120 SASL conditions |
 * | {@linkcode timingSafeEqual} | Constant-time byte comparison |
 *
 * SCRAM applies a minimal SASLprep (NFKC, control characters rejected);
 * full SASLprep and PRECIS are not implemented.
 *
 * @example SCRAM-SHA-256-PLUS end to end
 * ```ts
 * import assert from "node:assert/strict";
 * import { deriveScramCredentials, ScramClient, ScramServer } from "@xmpp-e2e/streams/sasl";
 *
 * const channelBinding = {
 *   type: "tls-server-end-point" as const,
 *   data: new Uint8Array(32).fill(7),
 * };
 * const creds = await deriveScramCredentials("pencil", "SHA-256");
 * const server = new ScramServer({
 *   hash: "SHA-256",
 *   offeredPlus: true,
 *   channelBinding,
 *   lookup: () => Promise.resolve(creds),
 * });
 * const client = new ScramClient({
 *   hash: "SHA-256",
 *   username: "juliet",
 *   password: "pencil",
 *   channelBinding,
 *   plus: true,
 *   serverOffersPlus: true,
 * });
 * const serverFirst = await server.first(client.first());
 * const { serverFinal, username } = await server.final(
 *   await client.final(serverFirst),
 * );
 * await client.verify(serverFinal);
 * assert.equal(username, "juliet");
 * ```
 *
 * @module
 */

export { SASL_CONDITIONS, type SaslCondition, SaslError } from "./errors.ts";
export {
  deriveScramCredentials,
  SCRAM_DEFAULT_ITERATIONS,
  SCRAM_SHA512_DEFAULT_ITERATIONS,
  type ScramChannelBinding,
  type ScramChannelBindingType,
  ScramClient,
  type ScramClientOptions,
  type ScramCredentials,
  type ScramHash,
  ScramServer,
  type ScramServerOptions,
  type ScramServerResult,
} from "./scram.ts";
export { parsePlain, plainInitial, type PlainMessage } from "./plain.ts";
export { timingSafeEqual } from "./timing_safe_equal.ts";
