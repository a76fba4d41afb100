/**
 * Stream features as plain records, one code path for both roles (the shape
 * of mellium's `xmpp.StreamFeature`).
 *
 * @module
 */

import type { Element } from "../xml/element.ts";
import type { ChannelBindingType, TlsInfo } from "../transport/transport.ts";

/** How SASL authenticated a stream. */
export interface SaslInfo {
  /** The SASL mechanism, such as `SCRAM-SHA-256-PLUS`. */
  mechanism: string;
  /**
   * The channel-binding type the exchange was bound to the TLS channel
   * with (a -PLUS mechanism), or undefined when it was not bound.
   */
  channelBinding: ChannelBindingType | undefined;
}

/** What a feature can do with the stream while it negotiates. */
export interface NegotiationContext {
  /** Which end this is. */
  readonly role: "initiator" | "recipient";
  /** Whether TLS is in place on this stream. */
  readonly tls: boolean;
  /** Whether the transport can start TLS. */
  readonly canStartTls: boolean;
  /** What TLS negotiated, once in place (for channel binding). */
  readonly tlsInfo: TlsInfo | undefined;
  /**
   * Initiator: the peer's whole `<stream:features/>` of this stream, for a
   * feature that reads an element next to its own (XEP-0440's
   * `<sasl-channel-binding/>` next to SASL `<mechanisms/>`).
   */
  readonly features?: Element | undefined;
  /**
   * State that features keep for this stream across restarts (such as
   * "authenticated"), keyed by feature name.
   */
  readonly state: Map<string, unknown>;
  /**
   * Records who the peer (recipient) or this end (initiator) proved to be,
   * exposed as the stream's identity.
   *
   * @param identity The authenticated identity, such as `romeo@forza`.
   * @param sasl How SASL authenticated, when SASL is what authenticated.
   */
  authenticated(identity: string, sasl?: SaslInfo): void;
  /**
   * Sends an element and waits until it was written.
   *
   * @param element The element.
   */
  send(element: Element): Promise<void>;
  /**
   * The next depth-1 element from the peer.
   *
   * @returns The element.
   */
  receive(): Promise<Element>;
  /**
   * Upgrades to TLS now: reading stops at the current frame, anything after
   * it is discarded, the handshake completes, and the stream restarts.
   */
  startTls(): Promise<void>;
}

/**
 * One stream feature. The recipient lists what `offer()` returns; the
 * initiator negotiates what it wants of what was offered; either side stops
 * when a mandatory feature cannot be negotiated.
 */
export interface StreamFeature {
  /** Local name of the feature element, such as `"starttls"`. */
  readonly name: string;
  /** Namespace of the feature element. */
  readonly ns: string;
  /**
   * Recipient: the element to list in `<stream:features/>` now, or
   * `undefined` when the feature is not offered in this state.
   */
  offer(context: NegotiationContext): Element | undefined;
  /**
   * Recipient: more top-level elements to list next to what `offer()`
   * returned, when it returned one (XEP-0440's `<sasl-channel-binding/>`
   * next to SASL `<mechanisms/>`). Optional.
   */
  alongside?(context: NegotiationContext): Element[];
  /**
   * Whether no stanza may flow until this feature was negotiated (in this
   * state). An initiator whose peer does not offer a mandatory feature stops.
   */
  mandatory(context: NegotiationContext): boolean;
  /** Recipient: whether `element` from the initiator starts this feature. */
  starts(element: Element): boolean;
  /**
   * Recipient side, once `first` arrived.
   *
   * @returns Whether the stream restarts.
   * @throws {NegotiationError} When the negotiation fails.
   */
  receive(first: Element, context: NegotiationContext): Promise<boolean>;
  /** Initiator: whether to negotiate the feature that was offered. */
  wanted(offered: Element, context: NegotiationContext): boolean;
  /**
   * Initiator side, for the offered feature element.
   *
   * @returns Whether the stream restarts.
   * @throws {NegotiationError} When the negotiation fails.
   */
  initiate(offered: Element, context: NegotiationContext): Promise<boolean>;
}
