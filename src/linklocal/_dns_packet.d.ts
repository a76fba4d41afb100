// The part of `dns-packet` (which ships no types) that `_dns.ts` uses.
// Without this, TypeScript infers types from the package's JavaScript,
// in terms of Node's Buffer, which `deno publish` cannot serialise.

/** `dns-packet`'s codec, as far as this package calls it. */
declare const dnsPacket: {
  /** Decodes a DNS message; throws on malformed input. */
  decode(bytes: Uint8Array): unknown;
  /** Encodes a DNS message object. */
  encode(packet: unknown): Uint8Array;
  /** The AA flag. */
  AUTHORITATIVE_ANSWER: number;
};
export default dnsPacket;
