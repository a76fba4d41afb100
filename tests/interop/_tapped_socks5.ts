/**
 * The package's SOCKS5 module as the Jingle backend, with every SOCKS5
 * connection through a {@linkcode TcpTap}: the proxies discovered are
 * offered at a tap in front of them, and each direct listener is offered
 * at a tap in front of it. Everything else is the module's own.
 *
 * @module
 */

import * as socks5 from "../../src/jingle/socks5.ts";
import type { Socks5Backend } from "../../src/jingle/mod.ts";
import { TcpTap } from "./_tcp_tap.ts";

/**
 * The module with taps; each tap made is pushed onto `taps` (close them).
 *
 * @param taps Where the taps go.
 * @returns The backend.
 */
export function tappedSocks5(taps: TcpTap[]): Socks5Backend {
  return {
    ...socks5,
    async discoverProxies(client, options) {
      const found = await socks5.discoverProxies(client, options);
      return found.map((proxy) => {
        const tap = new TcpTap({ hostname: proxy.host, port: proxy.port });
        taps.push(tap);
        return { ...proxy, host: tap.hostname, port: tap.port };
      });
    },
    Socks5Server: {
      listen(options) {
        const real = socks5.Socks5Server.listen(options);
        const tap = new TcpTap({ hostname: real.hostname, port: real.port });
        taps.push(tap);
        return {
          hostname: tap.hostname,
          port: tap.port,
          expect: (dstAddr, expectOptions) =>
            real.expect(dstAddr, expectOptions),
          close: () => real.close(),
        };
      },
    },
  };
}
