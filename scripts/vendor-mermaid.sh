#!/usr/bin/env bash
# Puts mermaid.min.js where the site serves it, so diagrams render offline. Fetched with npm from the
# npm registry at build time (never committed). Installs npm from Debian's packages as root if missing.
set -euo pipefail
version=${MERMAID_VERSION:-11.12.0}
target=${1:-course/assets/javascripts/vendor/mermaid.min.js}
stamp="$target.version"
if [ -f "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "vendor-mermaid: installing npm (Debian package)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >/dev/null
  else
    echo "vendor-mermaid: npm is needed to fetch mermaid $version for the site (install Node.js and npm)" >&2
    exit 1
  fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "mermaid@$version" >/dev/null)
tar -xzf "$tmp"/mermaid-*.tgz -C "$tmp" package/dist/mermaid.min.js
mkdir -p "$(dirname "$target")"
mv "$tmp/package/dist/mermaid.min.js" "$target"
echo "$version" > "$stamp"
