#!/usr/bin/env bash
# Packs what the GPU check needs on an NVIDIA host that can fetch nothing (see ../shared/GPU.md) into
# .gpu-kit/, which git ignores and the device tool carries (64 MiB at most):
#   engine.tar.xz  Debian's dockerd, containerd, shim and runc, with the libraries they link (not libc)
#   probe.tar.xz   the GPU probe image (scripts/gpu-probe), as `docker save` writes it
#   wheels/        the grader's Python dependencies, for each Python the host may have (3.11 to 3.13)
# Run as root on this Debian machine, with the engine up: bash scripts/gpu-kit.sh [PYTHON_VERSION...]
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=.gpu-kit
PYVERS=${*:-3.11 3.12 3.13}
rm -rf "$KIT" && mkdir -p "$KIT/engine/bin" "$KIT/engine/lib" "$KIT/wheels"

for bin in dockerd containerd containerd-shim-runc-v2 runc docker-init docker-proxy; do
    path=$(command -v "$bin" || true)
    [ -n "$path" ] || { echo "gpu-kit: $bin not found (run scripts/bootstrap-engine.sh first)" >&2; exit 1; }
    cp -L "$path" "$KIT/engine/bin/$bin"
done
# The libraries the engine links, except the C library and the loader, which the host has.
for bin in "$KIT"/engine/bin/*; do
    ldd "$bin" 2>/dev/null | awk '/=> \//{print $3}' | grep -vE '/(libc|libm|libdl|libpthread|librt|ld-linux)[.-]' || true
done | sort -u | while read -r lib; do cp -L "$lib" "$KIT/engine/lib/"; done
tar -C "$KIT/engine" -cJf "$KIT/engine.tar.xz" . && rm -rf "$KIT/engine"

# The Debian client builds with BuildKit without buildx (DESIGN.md); a newer client needs buildx.
DOCKER=$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )
DOCKER_BUILDKIT=1 "$DOCKER" build -q -t mastery-gpu-probe:kit scripts/gpu-probe >/dev/null
docker save mastery-gpu-probe:kit | xz -T0 > "$KIT/probe.tar.xz"

# Only what `graders.checks.gpu` imports, as binary wheels for each Python; pip picks the host's at install.
for pyver in $PYVERS; do
    .venv/bin/pip download --quiet --only-binary=:all: --python-version "$pyver" --implementation cp \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux_2_28_x86_64 \
        --platform any -d "$KIT/wheels" docker testcontainers dockerfile PyYAML rich requests
done
echo "$PYVERS" > "$KIT/python-versions"
du -sh "$KIT"/* | sed 's/^/gpu-kit: /'
total=$(du -sb "$KIT" | cut -f1)
[ "$total" -lt $((60 * 1024 * 1024)) ] || { echo "gpu-kit: $total bytes: over the 60 MiB that can be carried" >&2; exit 1; }
