/**
 * The public API of end-to-end streams (XEP-0246): `initiate()` opens a
 * stream to a peer, `listen()` accepts streams from peers; each gives an
 * {@linkcode E2EStream} once headers, features and STARTTLS are done.
 *
 * @module
 */

export {
  DEFAULT_MAX_IQ_HANDLERS,
  DEFAULT_MAX_PENDING_REQUESTS,
  E2EStream,
  type E2EStreamSettings,
  type IqHandler,
  type PeerRequestOptions,
  type RequestOptions,
  type StreamInfo,
  type StreamOptions,
} from "./endpoint/e2e_stream.ts";
export { initiate, type InitiateOptions } from "./endpoint/initiate.ts";
export { type Trust, type TrustedBy } from "./endpoint/trust.ts";
export type { AdmitCheck, AdmitVerdict } from "./stream/legacy.ts";
export {
  type AdmitClaim,
  DEFAULT_MAX_PENDING,
  DEFAULT_MAX_PENDING_PER_ADDRESS,
  E2EListener,
  listen,
  type ListenerFailure,
  type ListenerStats,
  type ListenOptions,
} from "./endpoint/listen.ts";
