#!/usr/bin/env bash
# Puts mermaid.min.js where the site serves it, so diagrams render offline. Fetched with npm from the
# npm registry at build time (never committed), with npm where there is one, else with Python.
set -euo pipefail
version=${MERMAID_VERSION:-11.12.0}
target=${1:-course/assets/javascripts/vendor/mermaid.min.js}
stamp="$target.version"
if [ -f "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if command -v npm >/dev/null 2>&1; then
  (cd "$tmp" && npm pack --silent "mermaid@$version" >/dev/null)
else
  # No Node.js (a Python-only machine, the environment's image build): the same tarball, from the same registry.
  python3 -c 'import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])' \
    "https://registry.npmjs.org/mermaid/-/mermaid-$version.tgz" "$tmp/mermaid-$version.tgz"
fi
tar -xzf "$tmp"/mermaid-*.tgz -C "$tmp" package/dist/mermaid.min.js
mkdir -p "$(dirname "$target")"
mv "$tmp/package/dist/mermaid.min.js" "$target"
echo "$version" > "$stamp"
