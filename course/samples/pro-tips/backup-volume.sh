#!/usr/bin/env bash
# Back up a named volume into a compressed tar file in the current folder.
#   ./backup-volume.sh VOLUME        -> VOLUME-YYYYmmdd-HHMMSS.tar.gz
# Stop the containers that write to the volume first, or the copy may be inconsistent.
set -euo pipefail

volume="${1:?usage: $0 VOLUME}"
image="${BACKUP_IMAGE:-debian:bookworm-slim}"  # a small image with tar, pinned to a Debian release
archive="${volume}-$(date +%Y%m%d-%H%M%S).tar.gz"

docker volume inspect "$volume" >/dev/null  # stops here if there is no such volume
# tar runs in the container (as root, so it can read every file) and writes to stdout; the shell
# writes the archive on the host, so it belongs to you, not to root.
docker run --rm --network none -v "${volume}:/data:ro" "$image" \
    tar -czf - -C /data . > "$archive"
echo "saved ${archive} ($(du -h "$archive" | cut -f1))"
