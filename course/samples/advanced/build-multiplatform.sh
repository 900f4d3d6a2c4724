#!/usr/bin/env bash
# Build the worked example for two CPU architectures and push both, under one tag, to a registry.
# Usage: ./build-multiplatform.sh ghcr.io/<you>/forecast-api:1.0
set -euo pipefail
image="${1:?usage: $0 REGISTRY/NAME:TAG}"

# 1. Let this machine run programs for other CPUs under QEMU emulation (needed for the RUN steps
#    of stages built for the target platform). Docker Desktop has this already.
docker run --privileged --rm tonistiigi/binfmt --install arm64,amd64

# 2. A builder that runs BuildKit in a container: it can build several platforms in one go.
docker buildx create --name multiplatform --driver docker-container --use 2>/dev/null \
    || docker buildx use multiplatform

# 3. Build both platforms and push them as one multi-platform image.
docker buildx build --platform linux/amd64,linux/arm64 --tag "$image" --push .

# 4. The tag now names an index with one image per platform.
docker buildx imagetools inspect "$image"
