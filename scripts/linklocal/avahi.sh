#!/usr/bin/env bash
# avahi-daemon as a real mDNS peer in namespace xe2eB of netns.sh: on a
# private D-Bus system bus (a socket of ours), inside a private mount
# namespace with a tmpfs over /run/avahi-daemon (so it neither meets nor
# disturbs another avahi-daemon of the machine), on interface xe2eB only,
# host name xe2e-avahi.
#
#   avahi.sh start   install what is missing (apt-get), start dbus and avahi
#   avahi.sh stop    stop both
#   avahi.sh env     print the DBUS_SYSTEM_BUS_ADDRESS clients need
#
# avahi-publish and avahi-browse then run as
#   ip netns exec xe2eB env "$(avahi.sh env)" avahi-browse -rpt _presence._tcp
set -euo pipefail

NS=xe2eB
DIR=/tmp/xe2e-avahi
BUS="unix:path=$DIR/system_bus_socket"

install() {
  local missing=()
  command -v avahi-daemon >/dev/null || missing+=(avahi-daemon)
  command -v avahi-browse >/dev/null || missing+=(avahi-utils)
  command -v dbus-daemon >/dev/null || missing+=(dbus)
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

stop() {
  for f in "$DIR/avahi.pid" "$DIR/dbus.pid"; do
    if [[ -f $f ]]; then
      kill "$(cat "$f")" 2>/dev/null || true
      rm -f "$f"
    fi
  done
  sleep 0.2
  rm -rf "$DIR"
}

start() {
  install
  stop
  mkdir -p "$DIR"
  cat >"$DIR/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>$BUS</listen>
  <auth>EXTERNAL</auth>
  <pidfile>$DIR/dbus.pid</pidfile>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
CONF
  cat >"$DIR/avahi.conf" <<CONF
[server]
host-name=xe2e-avahi
use-ipv4=yes
use-ipv6=yes
allow-interfaces=$NS
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
CONF
  dbus-daemon --config-file="$DIR/bus.conf" --fork
  # ip netns exec and unshare exec, so $! is avahi-daemon itself.
  ip netns exec "$NS" unshare --mount --propagation private sh -c \
    "mount -t tmpfs tmpfs /run/avahi-daemon 2>/dev/null || { mkdir -p /run/avahi-daemon && mount -t tmpfs tmpfs /run/avahi-daemon; }
     exec env DBUS_SYSTEM_BUS_ADDRESS=$BUS avahi-daemon -f $DIR/avahi.conf --no-drop-root --no-chroot --no-rlimits" \
    >"$DIR/avahi.log" 2>&1 &
  echo $! >"$DIR/avahi.pid"
  for _ in $(seq 50); do
    if grep -q "Server startup complete" "$DIR/avahi.log" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "avahi-daemon did not start:" >&2
  cat "$DIR/avahi.log" >&2
  stop
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  env) echo "DBUS_SYSTEM_BUS_ADDRESS=$BUS" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
