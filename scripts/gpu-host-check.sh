#!/usr/bin/env bash
# On an NVIDIA host without the container toolkit and without network (../shared/GPU.md): start the
# packed engine, load the GPU probe image, and run the gpu-training lab's GPU checks (graders.checks.gpu)
# against it, printing what they report. Needs .gpu-kit/ from scripts/gpu-kit.sh; runs as root.
#   device tool: run(command="bash scripts/gpu-host-check.sh", carry=[".gpu-kit"], timeout_s=300)
set -euo pipefail
cd "$(dirname "$0")/.."
KIT=$PWD/.gpu-kit
WORK=$(mktemp -d /tmp/mastery-gpu.XXXXXX)
[ -f "$KIT/engine.tar.xz" ] || { echo "no .gpu-kit here: run scripts/gpu-kit.sh on the Debian machine first" >&2; exit 1; }

# MASTERY_NVIDIA_HOME and MASTERY_NVIDIA_DEVICES point at a stand-in driver for a rehearsal on a machine
# with no GPU (scripts/fake-gpu-driver.sh); on a GPU host leave them unset.
echo "== host"
nvidia-smi -L 2>/dev/null || "${MASTERY_NVIDIA_HOME:-/usr/local/nvidia}/bin/nvidia-smi" -L 2>/dev/null \
    || echo "(nvidia-smi -L gave no GPU on this host)"
ls -l "${MASTERY_NVIDIA_DEVICES:-/dev}"/nvidia* 2>/dev/null | head -5 || true

mkdir -p "$WORK/engine" "$WORK/data" "$WORK/site"
tar -C "$WORK/engine" -xJf "$KIT/engine.tar.xz"
export PATH="$WORK/engine/bin:$PATH"
export DOCKER_HOST="unix://$WORK/docker.sock"
stop_engine() {
    [ -n "${DOCKERD_PID:-}" ] && kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null || true
}
trap 'stop_engine; rm -rf "$WORK"' EXIT

# A bridge network where the host allows one; else none (containers then run with --network none,
# as the GPU check does anyway).
start_engine() {
    LD_LIBRARY_PATH="$WORK/engine/lib" dockerd --host "$DOCKER_HOST" --data-root "$WORK/data" \
        --exec-root "$WORK/exec" --pidfile "$WORK/dockerd.pid" --iptables=false --ip-masq=false "$@" \
        >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 1 60); do
        [ -S "$WORK/docker.sock" ] && return 0  # the Python side waits for it to answer
        kill -0 "$DOCKERD_PID" 2>/dev/null || return 1
        sleep 0.5
    done
    return 1
}
if ! start_engine; then
    echo "== dockerd would not start with a bridge; again with --bridge=none"; tail -5 "$WORK/dockerd.log"
    stop_engine; start_engine --bridge=none || { tail -20 "$WORK/dockerd.log"; exit 1; }
fi
echo "== engine up"

PY=""
for candidate in /usr/bin/python3 /opt/torch/.venv/bin/python3 python3; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    version=$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    if [[ " $(cat "$KIT/python-versions") " == *" $version "* ]]; then PY=$candidate; break; fi
    echo "== $candidate is Python $version; the kit has wheels for $(cat "$KIT/python-versions")"
done
[ -n "$PY" ] || { echo "no Python matching the kit: rebuild it with scripts/gpu-kit.sh VERSION" >&2; exit 1; }
echo "== Python: $PY ($version)"
"$PY" -m pip install --quiet --no-index --find-links "$KIT/wheels" --target "$WORK/site" \
    docker testcontainers dockerfile PyYAML rich requests
PYTHONPATH="$WORK/site:$PWD" "$PY" scripts/gpu_host_check.py "$KIT/probe.tar.xz"
