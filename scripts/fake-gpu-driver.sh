#!/usr/bin/env bash
# A stand-in NVIDIA driver, to rehearse the GPU checks' "devices" path on a machine with no GPU:
#   DIR/nvidia  bin/nvidia-smi and lib64/libcuda.so.1 (scripts/fake-gpu-driver), which report one GPU
#               only inside a container that was handed the device nodes
#   DIR/dev     nvidia0, nvidiactl, nvidia-uvm: character devices with /dev/null's numbers, so that a
#               container given them can open them
# Then point the grader at it:  MASTERY_NVIDIA_HOME=DIR/nvidia MASTERY_NVIDIA_DEVICES=DIR/dev
# It proves the plumbing (devices, driver folder, search paths), never a GPU. Needs root and the engine.
set -euo pipefail
DIR=${1:?usage: scripts/fake-gpu-driver.sh DIR}
cd "$(dirname "$0")"
mkdir -p "$DIR/nvidia" "$DIR/dev"
# --output needs BuildKit: the Debian client has it without buildx (DESIGN.md), a newer one needs buildx.
DOCKER=$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || echo docker )
DOCKER_BUILDKIT=1 "$DOCKER" build -q --output "type=local,dest=$DIR/nvidia" fake-gpu-driver >/dev/null
for node in nvidia0 nvidiactl nvidia-uvm; do
    [ -c "$DIR/dev/$node" ] || mknod -m 666 "$DIR/dev/$node" c 1 3
done
echo "$DIR"
