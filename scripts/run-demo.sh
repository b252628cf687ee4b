#!/usr/bin/env bash
# Runs Relay with a real PocketBase and a demo: starts PocketBase 0.40.4 (RELAY_POCKETBASE_VERSION=0.22.20 for the
# older line; scripts/fetch-pocketbase.sh finds or fetches the binary) with the demo schema and users (alice, bob),
# starts Relay in front of it, and plays a scenario with four viewers.
#   scripts/run-demo.sh          keep everything running afterwards (Ctrl+C stops), and serve the patients web demo
#                                (examples/patients, SolidJS + TanStack Query) from Relay's own origin in BFF mode:
#                                http://127.0.0.1:5080/ (Relay:Bff:WebRoot; ?mode=token for token mode)
#   scripts/run-demo.sh --once   play the scenario, check what each viewer received, stop (exit code says)
# Ports: RELAY_DEMO_POCKETBASE_PORT (8090), RELAY_DEMO_RELAY_PORT (5080). Data: RELAY_DEMO_DATA (.relay/demo, kept
# between runs; PocketBase's in pb_data-<version>, as 0.23+ does not open a 0.22 data folder).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

pb_port="${RELAY_DEMO_POCKETBASE_PORT:-8090}"
relay_port="${RELAY_DEMO_RELAY_PORT:-5080}"
data="${RELAY_DEMO_DATA:-$PWD/.relay/demo}"
mkdir -p "$data"

version="${RELAY_POCKETBASE_VERSION:-0.40.4}"
case "$version" in
  0.22.20) migrations="$PWD/deploy/pocketbase/pb_migrations/0.22" ;;
  0.40.4) migrations="$PWD/deploy/pocketbase/pb_migrations/0.23" ;;
  *) echo "RELAY_POCKETBASE_VERSION must be 0.40.4 (the default) or 0.22.20, not '$version'" >&2; exit 2 ;;
esac
if [ -n "${RELAY_POCKETBASE_BIN:-}" ]; then
  pocketbase="$RELAY_POCKETBASE_BIN"
  "$pocketbase" --version | grep -q "version ${version}\$" || { echo "RELAY_POCKETBASE_BIN is not PocketBase $version" >&2; exit 2; }
else
  pocketbase="$(scripts/fetch-pocketbase.sh "$version" | tail -n 1)" \
    || { echo "no PocketBase $version here; RELAY_POCKETBASE_VERSION=0.22.20 runs the demo on 0.22.20 (from npm)" >&2; exit 1; }
fi

echo "==> building Relay and the demo"
dotnet build demo/Relay.Demo/Relay.Demo.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build src/Relay/Relay.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

serve_web=0
if [ "${1:-}" != "--once" ] && command -v npm >/dev/null 2>&1; then serve_web=1; fi
# Built before Relay starts: Relay serves the built files (Relay:Bff:WebRoot), which must exist when it starts.
if [ "$serve_web" = 1 ]; then
  echo "==> building the patients web demo (examples/patients)"
  scripts/pack-client-ts.sh >"$data/web-build.log" 2>&1 \
    && (cd examples/patients && npm ci --no-audit --no-fund --loglevel=error && npm run install-client --silent && npx vite build --logLevel warn) >>"$data/web-build.log" 2>&1 \
    || { echo "web demo build failed, see $data/web-build.log" >&2; serve_web=0; }
fi

echo "==> PocketBase $("$pocketbase" --version | awk '{print $3}') on http://127.0.0.1:$pb_port (data: $data/pb_data-$version, log: $data/pocketbase.log)"
# The compose stack's migrations of this version's shape: the superuser, patients, and the editor/viewer accounts the
# web demo signs in with. --dev=false: 0.23+ takes a binary under the temp folder for `go run` and turns dev mode on.
PB_ADMIN_EMAIL=admin@relay.test PB_ADMIN_PASSWORD=relay-admin-password PB_DEMO_PASSWORD=demo-password-1 \
  "$pocketbase" serve --http="127.0.0.1:$pb_port" --dir="$data/pb_data-$version" --migrationsDir="$migrations" --automigrate=false --dev=false \
  >"$data/pocketbase.log" 2>&1 &
pids+=($!)

echo "==> Relay on http://127.0.0.1:$relay_port, BFF mode on (log: $data/relay.log)"
# BFF mode beside token mode (the console demo below uses tokens). Development: plain HTTP on loopback, where browsers
# refuse the __Host- cookie of production. Data Protection keys in the data folder keep sign-ins across demo restarts.
web_root=()
[ "$serve_web" = 1 ] && web_root=(Relay__Bff__WebRoot="$PWD/examples/patients/dist")
env ASPNETCORE_ENVIRONMENT=Development Relay__PocketBase__Url="http://127.0.0.1:$pb_port/" ASPNETCORE_URLS="http://127.0.0.1:$relay_port" \
  Relay__Bff__Enabled=true Relay__Bff__KeysDirectory="$data/keys" "${web_root[@]}" \
  dotnet src/Relay/bin/Release/net10.0/Relay.dll >"$data/relay.log" 2>&1 &
pids+=($!)

args=(--pocketbase "http://127.0.0.1:$pb_port/" --relay "http://127.0.0.1:$relay_port/")
if [ "${1:-}" = "--once" ]; then
  dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll "${args[@]}" --once
else
  if [ "$serve_web" = 1 ]; then
    echo "==> patients web demo (BFF mode, served by Relay): http://127.0.0.1:$relay_port/"
    echo "    sign in as editor@demo.test in one browser window and viewer@demo.test in a private one (password demo-password-1):"
    echo "    the session is a cookie, shared by a browser's ordinary windows. Token mode: http://127.0.0.1:$relay_port/?mode=token&pb=http://127.0.0.1:$pb_port"
  fi
  dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll "${args[@]}"
fi
