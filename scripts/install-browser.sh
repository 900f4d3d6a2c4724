#!/usr/bin/env bash
# Headless Chromium for the browser tests, from Debian's packages, plus libatomic1, which the
# Playwright driver (a Node binary inside the pip package) links against. Quiet when all is there.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if command -v dpkg-query >/dev/null 2>&1; then
  dpkg-query -W -f='${Status}' libatomic1 2>/dev/null | grep -q "ok installed" || missing+=(libatomic1)
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: installing ${missing[*]} (Debian packages)" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "install-browser: install ${missing[*]} to run the browser tests (skipped without them; CI fails)" >&2
fi
