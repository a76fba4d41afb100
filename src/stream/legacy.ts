/**
 * What a stream tolerates of the link-local clients deployed before
 * XEP-0174 asked for version 1.0, STARTTLS and an ordered close, when it is
 * opened with `legacy: true`, and the admission of an initiator by the
 * claim of its header. The session applies these rules; they live here so
 * that they read as one list.
 *
 * - A header without `version` (libpurple's Bonjour, both roles): no
 *   stream features follow and TLS cannot start. Accepted only when the
 *   TLS policy lets a peer that cannot do TLS in: `"optional"` (with
 *   `legacy`) or `"off"`. Under `"required"`, the initiator stops with a
 *   `NegotiationError` and the recipient answers `unsupported-version`.
 * - An initiator's own `<stream:features/>` (telepathy-salut), once per
 *   stream before its first stanza: ignored. Without `legacy` it is not a
 *   stanza, and ends the stream with `unsupported-stanza-type` (RFC 6120
 *   gives stream features to the receiving entity only, section 4.3.2).
 * - A peer that closes the connection without `</stream:stream>` (Gajim's
 *   zeroconf, which hangs up after being idle) ends an open stream with
 *   `{ clean: false }` and no error; `stanzas$` completes.
 * - A peer that sends `</stream:stream>` and closes the connection at once
 *   (libpurple): our answer may find the connection gone, and the stream
 *   still ends clean.
 *
 * @module
 */

import type { TlsPolicy } from "../negotiation/starttls.ts";
import type { StreamHeader } from "./header.ts";

/**
 * What an admission check decides about an initiator: `false` refuses it
 * (`invalid-from`), `true` admits it under the stream's TLS policy, and
 * `{ tls }` admits it under that policy instead (say, `"optional"` for a
 * peer the application lets in unencrypted by name, `"required"` for one
 * it holds a certificate for).
 */
export type AdmitVerdict = boolean | { tls: TlsPolicy };

/**
 * A recipient's admission check, asked when the initiator's first header
 * arrives, before anything is answered.
 */
export type AdmitCheck = (
  header: StreamHeader,
) => AdmitVerdict | Promise<AdmitVerdict>;

/**
 * Whether a peer that sent no `version` (and so can do neither features nor
 * TLS) may stay.
 *
 * @param policy The TLS policy of the stream.
 * @param legacy Whether the stream tolerates legacy peers.
 * @returns Whether the stream goes on in plaintext.
 */
export function acceptsNoVersion(policy: TlsPolicy, legacy: boolean): boolean {
  return policy === "off" || (legacy && policy === "optional");
}
