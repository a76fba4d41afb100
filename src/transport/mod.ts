/**
 * The transport tier of `@xmpp-e2e/streams`: byte transports that the stream
 * layer reads and writes through, all behind one {@linkcode Transport}
 * interface, with TLS upgraded in place for STARTTLS.
 *
 * | export | what it does |
 * | --- | --- |
 * | {@linkcode Transport}, {@linkcode TlsInfo}, {@linkcode PeerAddress} | the interface every transport implements, and what TLS negotiated |
 * | {@linkcode TransportError} | the error type of this tier |
 * | {@linkcode CertificateError}, {@linkcode CertificateFailure} | a refused peer certificate, with the same `reason` on every transport |
 * | {@linkcode checkCertificate}, {@linkcode pinMismatchError}, {@linkcode CERTIFICATE_CLOCK_SKEW_MS} | the certificate policy every transport applies, for certificates checked by hand |
 * | {@linkcode connectTcp} | initiator over `Deno.connect` and `Deno.startTls` (rustls) |
 * | {@linkcode connectTcpNode} | initiator over `Deno.connect` and `node:tls`: pinning, client certificates, full {@linkcode TlsInfo} |
 * | {@linkcode listenTcp} | recipient: a {@linkcode TcpListener} whose connections start TLS in the server role |
 * | {@linkcode memoryPair} | two transports joined in memory (no TLS) |
 * | {@linkcode fromStreams} | a transport over a `ReadableStream` and a `WritableStream` (no TLS) |
 * | {@linkcode generateCertificate} | a self-signed ECDSA P-256 leaf certificate and key |
 * | {@linkcode fingerprint256}, {@linkcode pemToDer}, {@linkcode derToPem} | certificate helpers |
 * | {@linkcode KnownPeers}, {@linkcode PeerChangedError}, {@linkcode PeerRejectedError}, {@linkcode KnownPeersFileError} | trust on first use: peer to certificate fingerprint, in memory or a file shared safely between processes |
 *
 * @example STARTTLS over loopback with a generated certificate
 * ```ts
 * import { connectTcp, generateCertificate, listenTcp } from "@xmpp-e2e/streams/transport";
 * import assert from "node:assert/strict";
 *
 * const cert = await generateCertificate({ names: ["localhost"] });
 * const listener = await listenTcp({
 *   tls: { key: cert.keyPem, cert: cert.certPem },
 * });
 * const client = await connectTcp({
 *   ...listener.addr,
 *   tls: { serverName: "localhost", caCerts: [cert.certPem] },
 * });
 * const server = (await listener.accept())!;
 * await Promise.all([client.startTls(), server.startTls()]);
 * await client.write(new TextEncoder().encode("secret"));
 * assert.equal(new TextDecoder().decode((await server.read())!), "secret");
 * assert.equal(server.tls?.protocol, "TLSv1.3");
 * client.close();
 * server.close();
 * await listener.close();
 * ```
 *
 * @module
 */

export {
  type ChannelBindings,
  type ChannelBindingType,
  type PeerAddress,
  type TlsInfo,
  type Transport,
  TransportError,
} from "./transport.ts";
export {
  CERTIFICATE_CLOCK_SKEW_MS,
  CertificateError,
  type CertificateErrorOptions,
  type CertificateFailure,
  type CertificatePolicyOptions,
  checkCertificate,
  pinMismatchError,
} from "./cert_policy.ts";
export {
  type CertificateOptions,
  derToPem,
  fingerprint256,
  generateCertificate,
  type GeneratedCertificate,
  pemToDer,
} from "./certificate.ts";
export {
  connectTcp,
  type ConnectTcpOptions,
  type DenoTlsOptions,
} from "./deno_tcp.ts";
export {
  connectTcpNode,
  type ConnectTcpNodeOptions,
  type ConnectTlsOptions,
  INSECURE_SKIP_VERIFY,
  listenTcp,
  type ListenTcpOptions,
  type ListenTlsOptions,
  type TcpListener,
} from "./node_tcp.ts";
export { memoryPair } from "./memory.ts";
export {
  KnownPeers,
  KnownPeersFileError,
  type KnownPeersOptions,
  PeerChangedError,
  PeerRejectedError,
} from "./known_peers.ts";
export { fromStreams, type FromStreamsOptions } from "./streams.ts";
