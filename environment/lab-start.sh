#!/bin/bash
# The compose environment's lab service: prepares the labs' base images in the learner's engine (in the
# background, its progress in this service's log and in `mastery doctor`), then runs JupyterLab.
set -euo pipefail
log=/tmp/mastery-images.log
prepare() {
  for _ in $(seq 120); do docker version >/dev/null 2>&1 && break; sleep 1; done
  echo "images: preparing the labs' base images in your engine (pulled, or offline stand-ins)…"
  if mastery images prepare; then
    echo "images: ready"
  else
    echo "images: not all are ready; \`mastery doctor\` says which, and \`mastery images prepare\` tries again"
  fi
}
if [ "${MASTERY_PREPARE_IMAGES:-1}" != 0 ]; then
  prepare 2>&1 | tee "$log" | sed -u 's/^/[mastery] /' &
fi
[ -n "${JUPYTER_TOKEN:-}" ] || unset JUPYTER_TOKEN
# The token: JUPYTER_TOKEN when given, else one JupyterLab makes and prints below with the URL to open.
exec jupyter lab --ip=0.0.0.0 --port=8888 --no-browser --ServerApp.root_dir=/opt/course/labs \
  --ServerApp.custom_display_url="http://127.0.0.1:${LAB_PORT:-8888}" --LabApp.news_url= \
  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate
