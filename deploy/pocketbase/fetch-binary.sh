#!/usr/bin/env bash
# The offline path for the PocketBase image: puts the binary of POCKETBASE_VERSION (the argument, else the environment,
# else 0.40.4) into deploy/pocketbase/dist/ (git-ignored), for POCKETBASE_SOURCE=local. scripts/fetch-pocketbase.sh
# finds it: ../shared/pocketbase/<version> (checksum checked), its cache, npm (0.22.20), the official release.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
version="${1:-${POCKETBASE_VERSION:-0.40.4}}"
binary="$("$root/scripts/fetch-pocketbase.sh" "$version" | tail -n 1)"
install -m 0755 "$binary" "$root/deploy/pocketbase/dist/pocketbase"
echo "$root/deploy/pocketbase/dist/pocketbase"
