#!/usr/bin/env bash
# A two-host link-local test network, in network namespaces of its own:
# xe2eA and xe2eB joined by a veth pair (interface xe2eA in namespace xe2eA,
# xe2eB in xe2eB), 169.254.77.1/16 and .2, fe80::a and fe80::b, a multicast
# route in each, IPv6 duplicate address detection off. Nothing touches the
# root namespace's interfaces, so no multicast leaves the machine.
#
#   netns.sh up      create it (again, after removing a stale one)
#   netns.sh down    remove it
#   netns.sh status  print whether it is up
#
# Needs root (CAP_NET_ADMIN) and iproute2.
set -euo pipefail

A=xe2eA
B=xe2eB

down() {
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
}

side() { # namespace: DAD and automatic IPv6 addresses off
  local ns=$1
  ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.accept_dad=0 \
    net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.addr_gen_mode=1 \
    net.ipv6.conf.all.addr_gen_mode=1
}

up() {
  down
  ip netns add "$A"
  ip netns add "$B"
  side "$A"
  side "$B"
  ip link add "$A" netns "$A" type veth peer name "$B" netns "$B"
  local ns v4 v6
  for ns in "$A" "$B"; do
    if [[ $ns == "$A" ]]; then v4=169.254.77.1 v6=fe80::a; else v4=169.254.77.2 v6=fe80::b; fi
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -q -w "net.ipv6.conf.$ns.accept_dad=0" \
      "net.ipv6.conf.$ns.addr_gen_mode=1"
    ip -n "$ns" link set "$ns" multicast on
    ip -n "$ns" addr add "$v4/16" dev "$ns"
    ip -n "$ns" -6 addr add "$v6/64" dev "$ns" nodad
    ip -n "$ns" link set "$ns" up
    ip -n "$ns" route add 224.0.0.0/4 dev "$ns"
  done
}

status() {
  if ip netns list | grep -qw "$A" && ip netns list | grep -qw "$B"; then
    echo "up: $A ($(ip -n "$A" -br addr show "$A" | tr -s ' ')), $B ($(ip -n "$B" -br addr show "$B" | tr -s ' '))"
  else
    echo "down"
    return 1
  fi
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
