#!/bin/sh
# The compose environment's engine service: the course engine's own entrypoint, with its limits taken from
# the machine it runs on, as `mastery engine start` takes them on a Linux host. Compose cannot compute a
# limit, and Docker Desktop's machine is a VM whose memory the learner sets, so this reads /proc/meminfo.
set -eu
gib=1073741824
total=$(awk '$1 == "MemTotal:" { print $2 * 1024; exit }' /proc/meminfo)
# Everything in the engine together: three quarters of the machine, or MASTERY_ENGINE_MEMORY (bytes).
memory=${MASTERY_ENGINE_MEMORY:-$((total / 4 * 3))}
# All build steps together (the entrypoint's pen): a quarter of that, at least 4 GiB, at most half.
build=$((memory / 4))
[ "$build" -lt $((4 * gib)) ] && build=$((4 * gib))
[ "$build" -gt $((memory / 2)) ] && build=$((memory / 2))
export MASTERY_BUILD_MEMORY="${MASTERY_ENGINE_BUILD_MEMORY:-$build}"
export MASTERY_BUILD_PIDS="${MASTERY_ENGINE_BUILD_PIDS:-2048}"
# The engine container's own memory limit, where its cgroup is reachable (cgroup v1, /sys/fs/cgroup mounted):
# compose's pids_limit holds its processes; its memory is set here because compose cannot size it.
own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3; exit }' /proc/self/cgroup)
limit="/sys/fs/cgroup/memory$own/memory.limit_in_bytes"
if [ -n "$own" ] && [ "$own" != / ] && [ -w "$limit" ]; then
  echo "$memory" > "$limit" || echo "engine: could not limit its memory to $memory bytes" >&2
  swap="/sys/fs/cgroup/memory$own/memory.memsw.limit_in_bytes"
  [ -w "$swap" ] && { echo "$memory" > "$swap" || true; }
  echo "engine: memory limit $((memory / 1048576)) MiB, builds $((MASTERY_BUILD_MEMORY / 1048576)) MiB and $MASTERY_BUILD_PIDS processes" >&2
else
  echo "engine: no cgroup v1 memory controller here; the engine's memory is not limited by this script" >&2
fi
mkdir -p /var/lib/mastery/shared && chmod 1777 /var/lib/mastery/shared
exec /usr/local/bin/mastery-engine "$@"
