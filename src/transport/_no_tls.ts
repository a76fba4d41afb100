// The refusal shared by the transports that have no TLS of their own.

import { type TlsInfo, TransportError } from "./transport.ts";

/**
 * Rejects a `startTls()` call on a transport that cannot do TLS.
 *
 * @param what The transport, as the start of a sentence ("An in-memory
 *   transport").
 * @returns A promise rejected with a {@linkcode TransportError}.
 */
export function refuseTls(what: string): Promise<TlsInfo> {
  return Promise.reject(
    new TransportError(
      `${what} cannot do TLS; turn TLS off by name (tls: "off") to use it`,
    ),
  );
}
