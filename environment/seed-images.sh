#!/usr/bin/env bash
# Copies the labs' base images from this machine's engine into the environment's engine, for a machine that
# cannot pull them (no registry). Run from the course's folder after `docker compose up --wait`; with no
# arguments it copies every base image of the course that this machine has (`mastery images prepare` makes them).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 0 ]; then
  # shellcheck disable=SC2046 # one word per image
  set -- $(.venv/bin/python -c 'from graders.labs import course_images; print(" ".join(course_images()))')
fi
present=()
for ref in "$@"; do
  if docker image inspect "$ref" >/dev/null 2>&1; then present+=("$ref"); else echo "seed: $ref is not on this machine" >&2; fi
done
[ ${#present[@]} -gt 0 ] || { echo "seed: no base image to copy (run: .venv/bin/mastery images prepare --offline)" >&2; exit 1; }
echo "seed: copying ${present[*]} into the environment's engine" >&2
docker save "${present[@]}" | docker compose exec -T engine docker -H unix:///run/mastery/docker.sock load -q
