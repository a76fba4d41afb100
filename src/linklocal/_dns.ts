// The few DNS message shapes mDNS browsing needs, typed, over `dns-packet`
// (which ships no types). Decoding never throws: a malformed packet is
// undefined, and records of other types are dropped here.

import { Buffer } from "node:buffer";
// @ts-types="./_dns_packet.d.ts"
import dnsPacket from "dns-packet";

/** A record this package reads: its name, type, TTL and cache-flush bit. */
export type DnsRecord =
  & { name: string; ttl: number; flush: boolean }
  & (
    | { type: "PTR"; data: string }
    | {
      type: "SRV";
      data: { target: string; port: number; priority: number; weight: number };
    }
    | { type: "TXT"; data: Uint8Array[] }
    | { type: "A" | "AAAA"; data: string }
  );

/** A question. `unicast` is the QU bit (RFC 6762 section 5.4). */
export interface DnsQuestion {
  name: string;
  type: "PTR" | "SRV" | "TXT" | "A" | "AAAA" | "ANY";
  unicast?: boolean;
}

/** A decoded message. */
export interface DnsMessage {
  response: boolean;
  questions: DnsQuestion[];
  /** Answers, then additional records (authority records for probes). */
  records: DnsRecord[];
  /** Authority records (a probe's proposed records). */
  authorities: DnsRecord[];
}

const TYPES = new Set(["PTR", "SRV", "TXT", "A", "AAAA"]);

// deno-lint-ignore no-explicit-any
function record(raw: any): DnsRecord | undefined {
  if (raw === null || typeof raw !== "object" || !TYPES.has(raw.type)) {
    return undefined;
  }
  if (typeof raw.name !== "string" || typeof raw.ttl !== "number") {
    return undefined;
  }
  const base = { name: raw.name, ttl: raw.ttl, flush: raw.flush === true };
  switch (raw.type) {
    case "PTR":
    case "A":
    case "AAAA":
      return typeof raw.data === "string"
        ? { ...base, type: raw.type, data: raw.data }
        : undefined;
    case "SRV": {
      const d = raw.data;
      if (
        d === null || typeof d !== "object" || typeof d.target !== "string" ||
        typeof d.port !== "number"
      ) return undefined;
      return {
        ...base,
        type: "SRV",
        data: {
          target: d.target,
          port: d.port,
          priority: d.priority ?? 0,
          weight: d.weight ?? 0,
        },
      };
    }
    case "TXT": {
      const parts = Array.isArray(raw.data) ? raw.data : [raw.data];
      return {
        ...base,
        type: "TXT",
        data: parts.filter((p: unknown) => p instanceof Uint8Array).map((
          p: Uint8Array,
        ) => new Uint8Array(p)),
      };
    }
  }
  return undefined;
}

/**
 * Decodes an mDNS message; undefined when it is not one.
 *
 * @param bytes The UDP payload.
 * @returns The message, or undefined.
 */
export function decodeMessage(bytes: Uint8Array): DnsMessage | undefined {
  // deno-lint-ignore no-explicit-any
  let raw: any;
  try {
    raw = dnsPacket.decode(Buffer.from(bytes));
  } catch {
    return undefined;
  }
  const pick = (list: unknown) =>
    (Array.isArray(list) ? list : []).map(record).filter((r) =>
      r !== undefined
    ) as DnsRecord[];
  return {
    response: raw.type === "response",
    // deno-lint-ignore no-explicit-any
    questions: (raw.questions ?? []).flatMap((q: any) =>
      typeof q?.name === "string" && typeof q?.type === "string"
        ? [{ name: q.name, type: q.type, unicast: q.qu === true }]
        : []
    ),
    records: [...pick(raw.answers), ...pick(raw.additionals)],
    authorities: pick(raw.authorities),
  };
}

/**
 * Encodes an mDNS query (id 0, RFC 6762 section 18.1) with known answers.
 *
 * @param questions The questions.
 * @param knownAnswers Answers the querier already holds (RFC 6762 7.1).
 * @returns The UDP payload.
 */
export function encodeQuery(
  questions: DnsQuestion[],
  knownAnswers: DnsRecord[] = [],
): Uint8Array {
  return new Uint8Array(dnsPacket.encode({
    type: "query",
    id: 0,
    flags: 0,
    questions: questions.map((q) => ({
      name: q.name,
      type: q.type,
      class: "IN",
      ...(q.unicast ? { qu: true } : {}),
    })),
    // deno-lint-ignore no-explicit-any
    answers: knownAnswers.map(encodable) as any,
  }));
}

/**
 * Encodes an mDNS response (id 0, authoritative), as a responder sends it.
 *
 * @param answers The answers.
 * @returns The UDP payload.
 */
export function encodeResponse(answers: DnsRecord[]): Uint8Array {
  return new Uint8Array(dnsPacket.encode({
    type: "response",
    id: 0,
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    // deno-lint-ignore no-explicit-any
    answers: answers.map(encodable) as any,
  }));
}

function encodable(r: DnsRecord): Record<string, unknown> {
  return {
    name: r.name,
    type: r.type,
    class: "IN",
    ttl: r.ttl,
    ...(r.flush ? { flush: true } : {}),
    data: r.type === "TXT" ? r.data.map((p) => Buffer.from(p)) : r.data,
  };
}
