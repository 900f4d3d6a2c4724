#!/usr/bin/env bash
# Opens the course: the docs site on http://127.0.0.1:8008 (8000 is the lessons' own) and JupyterLab with the labs on :8888.
# Run it through `make course`, which sets everything up first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
DOCS_PORT=${DOCS_PORT:-8008}
LAB_PORT=${LAB_PORT:-8888}

# The course engine (Docker Engine 28 in a container; mastery engine --help), which grading uses, unless you
# chose another engine (MASTERY_ENGINE=host, a context or a URL, or DOCKER_HOST/DOCKER_CONTEXT of your own). JupyterLab's terminals and notebooks then talk
# to it too (DOCKER_CONTEXT), and `mastery engine forward` brings the ports it publishes to this machine's
# 127.0.0.1, so the lessons' `curl localhost:8000` and your browser reach what you run there.
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
if [ -z "${MASTERY_ENGINE:-}" ] || [ "$MASTERY_ENGINE" = course ]; then
  mastery engine start
  if [ "${MASTERY_ENGINE:-}" = course ] || [ -z "${DOCKER_HOST:-}${DOCKER_CONTEXT:-}" ]; then
    unset DOCKER_HOST
    export DOCKER_CONTEXT=mastery MASTERY_ENGINE=course
    mastery engine forward &
    pids+=($!)
  fi
fi

python -m http.server "$DOCS_PORT" --bind 127.0.0.1 --directory site >/dev/null 2>&1 &
pids+=($!)

echo "Course site:  http://127.0.0.1:$DOCS_PORT/"
echo "JupyterLab:   the URL with its token is printed below. Open labs/<lab>/<lab>.ipynb to start a lab."
echo "Check a lab from a terminal at any time with: mastery check <lab>   (mastery labs lists them)"
extra=()
[ "$(id -u)" = 0 ] && extra+=(--allow-root)
jupyter lab --notebook-dir="$PWD/labs" --ip=127.0.0.1 --port="$LAB_PORT" --no-browser "${extra[@]}"
