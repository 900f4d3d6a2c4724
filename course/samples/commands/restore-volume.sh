#!/usr/bin/env bash
# Restore an archive made by backup-volume.sh into a named volume.
#
#   ./restore-volume.sh VOLUME ARCHIVE
#
# The volume is created if it does not exist. To never mix old and new files, the script refuses
# to restore into a volume that already holds something.
set -euo pipefail

volume="${1:?usage: restore-volume.sh VOLUME ARCHIVE}"
archive="${2:?usage: restore-volume.sh VOLUME ARCHIVE}"
archive_dir="$(cd "$(dirname "$archive")" && pwd)"
archive_name="$(basename "$archive")"

docker volume create "$volume" > /dev/null

# tar runs as root in the container, so it restores the files' original owners and permissions.
docker run --rm \
  --mount "type=volume,source=${volume},target=/data" \
  --mount "type=bind,source=${archive_dir},target=/backup,readonly" \
  debian:bookworm-slim \
  sh -c 'if [ -n "$(ls -A /data)" ]; then echo "volume is not empty: not restoring" >&2; exit 1; fi
         tar -xzf "/backup/$1" -C /data' \
  sh "$archive_name"

echo "restored ${archive} into volume ${volume}"
