import {
  deriveScramCredentials,
  SaslError,
  type ScramClientOptions,
  type ScramCredentials,
  type ScramHash,
  type ScramServerOptions,
} from "../../src/sasl/mod.ts";
import type { SaslCondition } from "../../src/sasl/mod.ts";

/** Small iteration count for fast tests (clients must allow it). */
export const FAST = 16;

/** A predicate for assert.rejects/throws matching a SaslError condition. */
export function sasl(condition: SaslCondition, text?: RegExp) {
  return (e: unknown): boolean =>
    e instanceof SaslError && e.condition === condition &&
    (text === undefined || text.test(e.text ?? ""));
}

/** Credentials for `password`, with a fast iteration count. */
export function fastCredentials(
  password: string,
  hash: ScramHash,
): Promise<ScramCredentials> {
  return deriveScramCredentials(password, hash, { iterations: FAST });
}

/** Client options with the fast iteration count allowed. */
export function clientOptions(
  hash: ScramHash,
  extra: Partial<ScramClientOptions> = {},
): ScramClientOptions {
  return {
    hash,
    username: "user",
    password: "pencil",
    minIterations: 1,
    ...extra,
  };
}

/** Server options that know `user` with `creds`. */
export function serverOptions(
  hash: ScramHash,
  creds: ScramCredentials,
  extra: Partial<ScramServerOptions> = {},
): ScramServerOptions {
  return {
    hash,
    offeredPlus: false,
    lookup: (name) => Promise.resolve(name === "user" ? creds : undefined),
    ...extra,
  };
}

/** 32 bytes of fake tls-server-end-point data. */
export function binding(fill: number) {
  return {
    type: "tls-server-end-point" as const,
    data: new Uint8Array(32).fill(fill),
  };
}
