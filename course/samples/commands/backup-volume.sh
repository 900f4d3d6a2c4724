#!/usr/bin/env bash
# Back up a named volume to a compressed archive on your machine.
#
#   ./backup-volume.sh VOLUME [OUTPUT_DIR]
#
# A throwaway container mounts the volume read-only and packs it with tar. Any small image with tar
# works; debian:bookworm-slim is used here. Stop the containers that write to the volume first, or
# the archive may catch a file halfway through being written.
set -euo pipefail

volume="${1:?usage: backup-volume.sh VOLUME [OUTPUT_DIR]}"
out_dir="$(cd "${2:-.}" && pwd)"                 # docker needs an absolute path for a bind mount
archive="${volume}-$(date +%Y%m%d-%H%M%S).tar.gz"

# Stop early, with Docker's own message, if there is no such volume. (docker run would quietly
# create an empty one, and you would back up nothing.)
docker volume inspect "$volume" > /dev/null

docker run --rm \
  --mount "type=volume,source=${volume},target=/data,readonly" \
  --mount "type=bind,source=${out_dir},target=/backup" \
  debian:bookworm-slim \
  sh -c 'tar -czf "/backup/$1" -C /data . && chown "$2" "/backup/$1"' \
  sh "$archive" "$(id -u):$(id -g)"

echo "backed up volume ${volume} to ${out_dir}/${archive}"
