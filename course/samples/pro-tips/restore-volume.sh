#!/usr/bin/env bash
# Restore a tar file made by backup-volume.sh into a named volume.
#   ./restore-volume.sh ARCHIVE VOLUME
# The volume is created if it does not exist. Files already in it with the same names are replaced.
set -euo pipefail

archive="${1:?usage: $0 ARCHIVE VOLUME}"
volume="${2:?usage: $0 ARCHIVE VOLUME}"
image="${BACKUP_IMAGE:-debian:bookworm-slim}"

test -f "$archive"
docker volume create "$volume" >/dev/null
docker run --rm -i --network none -v "${volume}:/data" "$image" \
    tar -xzf - -C /data < "$archive"
echo "restored ${archive} into volume ${volume}"
