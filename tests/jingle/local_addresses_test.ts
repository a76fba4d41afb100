import assert from "node:assert/strict";
import { localAddresses } from "../../src/jingle/local_addresses.ts";

Deno.test("localAddresses() leaves out loopback, link-local, unspecified and IPv4-mapped addresses, and gives each once, IPv4 first", () => {
  const got = localAddresses([
    { family: "IPv6", address: "2001:DB8::7", scopeid: 0 },
    { family: "IPv4", address: "127.0.0.1", scopeid: null },
    { family: "IPv4", address: "127.5.0.1", scopeid: null },
    { family: "IPv4", address: "169.254.3.4", scopeid: null },
    { family: "IPv4", address: "0.0.0.0", scopeid: null },
    { family: "IPv4", address: "10.1.2.3", scopeid: null },
    { family: "IPv4", address: "10.1.2.3", scopeid: null },
    { family: "IPv6", address: "::1", scopeid: 0 },
    { family: "IPv6", address: "::", scopeid: 0 },
    { family: "IPv6", address: "fe80::1", scopeid: 2 },
    { family: "IPv6", address: "FEBF::1", scopeid: 2 },
    { family: "IPv6", address: "::ffff:192.0.2.1", scopeid: 0 },
    { family: "IPv6", address: "fd00::5", scopeid: 0 },
    { family: "IPv4", address: "192.0.2.7", scopeid: null },
  ]);
  assert.deepEqual(got, ["10.1.2.3", "192.0.2.7", "2001:db8::7", "fd00::5"]);
});

Deno.test("localAddresses() of this machine gives addresses Deno.listen can bind", () => {
  for (const hostname of localAddresses()) {
    const listener = Deno.listen({ hostname, port: 0 });
    assert.equal(listener.addr.hostname, hostname);
    listener.close();
  }
});
