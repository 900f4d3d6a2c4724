#!/usr/bin/env bash
# The same locked-down runtime as compose.yaml, with plain `docker run`.
# Run it from this folder after `docker build -t forecast-api:1.0 .` and after making secrets/api_token.
set -euo pipefail

docker run -d --name forecast \
    --read-only \
    --tmpfs /tmp:size=64m,mode=1777 \
    --cap-drop=ALL \
    --security-opt=no-new-privileges \
    --user 10001:10001 \
    --pids-limit=100 \
    --memory=512m --cpus=1 \
    --restart=unless-stopped \
    --mount type=bind,source="$PWD/secrets/api_token",target=/run/secrets/api_token,readonly \
    -p 127.0.0.1:8000:8000 \
    forecast-api:1.0
