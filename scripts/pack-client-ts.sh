#!/usr/bin/env bash
# Packs the TypeScript client exactly as `npm publish` would (npm pack: prepack builds dist/, `files` and `exports`
# decide the content) into artifacts/npm/, and copies it to the stable name examples install:
# artifacts/npm/pocketbase-relay-client.tgz. Prints that path last.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/artifacts/npm"
mkdir -p "$out"
cd src/relay-client-ts
npm ci --no-audit --no-fund --loglevel=error >&2
tarball="$(npm pack --pack-destination "$out" --loglevel=error | tail -n 1)"
cp "$out/$tarball" "$out/pocketbase-relay-client.tgz"
echo "npm pack: $tarball, $(stat -c %s "$out/$tarball") bytes" >&2
echo "$out/pocketbase-relay-client.tgz"
