#!/bin/sh
# The course engine's first process (under tini): dockerd on the socket the host sees, labelled with the
# address at which the host reaches what it publishes, and the one host folder it shares.
set -eu
socket=/run/mastery/docker.sock
rm -f "$socket"  # a socket left by an engine that did not stop cleanly (a host reboot) would block dockerd
# The engine's address on the host's bridge: Docker writes it next to the container's hostname.
address=$(awk -v name="$(cat /etc/hostname)" '$2 == name { print $1; exit }' /etc/hosts)
set -- --host "unix://$socket" --group "${MASTERY_GID:-0}" --label "io.mastery.published-host=${address:-127.0.0.1}" "$@"
# Its containers' cgroups go below its own, so the limits the host's engine gave this container (memory,
# processes) hold for everything that runs in it, build steps included: the second wall, for resources.
own=$(awk -F: '$2 ~ /(^|,)pids(,|$)/ { print $3; exit }' /proc/self/cgroup)
case "$own" in /?*) set -- --cgroup-parent "$own" "$@" ;; esac
# BuildKit runs every build step below "$own/buildkit" (cgroup v1, where $own is found). That cgroup is made
# here with limits of its own, so all builds together stop there: a fork bomb or a memory hog in a RUN step
# fails its build, and dockerd, containerd and the graded containers keep the rest of the engine's share.
pen() {  # controller, file, value
  dir="/sys/fs/cgroup/$1$own/buildkit"
  mkdir -p "$dir" && echo "$3" > "$dir/$2" || echo "mastery-engine: could not set $2 for builds" >&2
}
case "$own" in /?*)
  if [ -n "${MASTERY_BUILD_PIDS:-}" ]; then pen pids pids.max "$MASTERY_BUILD_PIDS"; fi
  if [ -n "${MASTERY_BUILD_MEMORY:-}" ]; then
    pen memory memory.limit_in_bytes "$MASTERY_BUILD_MEMORY"
    if [ -e "/sys/fs/cgroup/memory$own/buildkit/memory.memsw.limit_in_bytes" ]; then
      pen memory memory.memsw.limit_in_bytes "$MASTERY_BUILD_MEMORY"
    fi
  fi ;;
esac
# Its own MTU no larger than the path's: inside a VM or a container (Docker Desktop, a CI runner) path MTU
# discovery does not reach this engine, and a packet larger than the path (a TLS handshake to PyPI) is reset.
# What runs inside gets its "fragmentation needed" from this hop instead, where it does arrive.
if [ -n "${MASTERY_MTU:-}" ]; then
  dev=$(ip route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }')
  ip link set dev "${dev:-eth0}" mtu "$MASTERY_MTU" || echo "mastery-engine: could not set the MTU to $MASTERY_MTU" >&2
  # Its containers and build steps no larger either: a packet from this machine larger than the engine's own
  # MTU is dropped at its interface, unannounced (a download from the package cache stalled after 64 KB).
  set -- --mtu "$MASTERY_MTU" "$@"
fi
[ -n "${MASTERY_SHARED:-}" ] && set -- --label "io.mastery.shared-folder=$MASTERY_SHARED" "$@"
exec dockerd "$@"
