#!/usr/bin/env bash
# Runs a command inside the link-local test network: builds the
# two-namespace network (netns.sh), starts avahi-daemon in one side
# (avahi.sh), runs the command inside the other side (xe2eA, with
# XE2E_NETNS=xe2eA), and tears everything down, whatever happens. Needs
# root; without it (or without iproute2, installed when missing) it says
# why and stops with success, as nothing here can run.
#
#   in_netns.sh deno test --allow-all tests/linklocal/netns/   (deno task test:linklocal)
#   in_netns.sh deno run --allow-all bench/linklocal_report.ts (deno task bench:linklocal)
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/linklocal

if [[ $(id -u) -ne 0 ]]; then
  echo "link-local network skipped: needs root to create network namespaces"
  exit 0
fi
if ! command -v ip >/dev/null; then
  echo "installing iproute2" >&2
  apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    iproute2 >/dev/null || true
fi
if ! command -v ip >/dev/null; then
  echo "link-local network skipped: needs iproute2 (ip), which apt-get could not install"
  exit 0
fi
if ! ip netns add xe2e-probe 2>/dev/null; then
  echo "link-local network skipped: cannot create network namespaces here"
  exit 0
fi
ip netns del xe2e-probe

cleanup() {
  "$here/avahi.sh" stop || true
  "$here/netns.sh" down || true
}
trap cleanup EXIT

# The namespaces have no route out: fetch the npm packages first.
deno cache --quiet tests/linklocal/netns/*.ts bench/linklocal_report.ts \
  examples/link_local_chat.ts
"$here/netns.sh" up
"$here/avahi.sh" start
if [[ ${1:-} == deno ]]; then
  shift
  set -- "$(command -v deno)" "$@"
fi
ip netns exec xe2eA env XE2E_NETNS=xe2eA "$@"
