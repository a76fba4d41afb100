#!/usr/bin/env bash
# deno task test:linklocal: the link-local tests over a real multicast
# network. Builds the two-namespace network (netns.sh), starts
# avahi-daemon in one side (avahi.sh), runs tests/linklocal/netns/ inside
# the other side, and tears everything down, whatever happens. Needs root;
# without it (or without iproute2) it says why and stops with success, as
# nothing here can run.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/linklocal

if [[ $(id -u) -ne 0 ]]; then
  echo "test:linklocal skipped: needs root to create network namespaces"
  exit 0
fi
if ! command -v ip >/dev/null; then
  echo "test:linklocal skipped: needs iproute2 (ip)"
  exit 0
fi
if ! ip netns add xe2e-probe 2>/dev/null; then
  echo "test:linklocal skipped: cannot create network namespaces here"
  exit 0
fi
ip netns del xe2e-probe

cleanup() {
  "$here/avahi.sh" stop || true
  "$here/netns.sh" down || true
}
trap cleanup EXIT

# The namespaces have no route out: fetch the npm packages first.
deno cache --quiet tests/linklocal/netns/*.ts
"$here/netns.sh" up
"$here/avahi.sh" start
ip netns exec xe2eA env XE2E_NETNS=xe2eA \
  "$(command -v deno)" test --allow-all tests/linklocal/netns/ "$@"
