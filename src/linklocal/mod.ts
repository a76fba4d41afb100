/**
 * Link-local messaging ({@link https://xmpp.org/extensions/xep-0174.html | XEP-0174}):
 * find peers on the local network with DNS-SD over multicast DNS (RFC 6763,
 * RFC 6762) and be found by them.
 *
 * | export | what it does |
 * | --- | --- |
 * | {@linkcode LinkLocal} | an endpoint: advertises itself, browses, opens and accepts one TLS stream per peer, trust on first use by instance name |
 * | {@linkcode advertise}, {@linkcode Advertisement} | publish ourselves as a `_presence._tcp` instance `user@machine`: probing, renaming on a conflict, TXT updates, goodbye |
 * | {@linkcode browse} | the peers on the link as they appear, change and go |
 * | {@linkcode presenceTxt}, {@linkcode parseTxt} | the TXT record, written (personal fields opt-in) and read |
 * | {@linkcode loadIdentity} | the endpoint's certificate, made once and kept on disk |
 * | {@linkcode MdnsError} | the sockets could not be opened, or failed |
 *
 * They need `--allow-net` and `--allow-sys` (to list the interfaces), and
 * `LinkLocal` read and write access to its directory.
 *
 * @example Publish a presence and list who is around
 * ```ts ignore
 * import { advertise, browse } from "@xmpp-e2e/streams/linklocal";
 *
 * const ad = await advertise({ name: "juliet@pronto", port: 5562 });
 * browse().subscribe(({ type, peer }) => console.log(type, peer.name));
 * ```
 *
 * @module
 */

export { advertise, Advertisement } from "./advertise.ts";
export type { AdvertiseOptions } from "./advertise.ts";
export { browse, PRESENCE_SERVICE } from "./browse.ts";
export type { BrowseOptions } from "./browse.ts";
export { MdnsError } from "./_mdns_socket.ts";
export { LinkLocal } from "./link_local.ts";
export type { LinkLocalOptions, LinkLocalStream } from "./link_local.ts";
export { loadIdentity } from "./identity.ts";
export type { Identity } from "./identity.ts";
export type { LinkLocalAddress, LinkLocalPeer, PeerEvent } from "./peer.ts";
export { MAX_TXT_BYTES, parseTxt, presenceTxt } from "./txt.ts";
export type { PresenceInfo, PresenceStatus } from "./txt.ts";
