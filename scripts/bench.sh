#!/usr/bin/env bash
# Runs Relay.Bench: Relay (Release, its own process) against PocketBase direct, side by side, on this machine.
#   scripts/bench.sh --quick            the single-instance scenarios, small (under 2 minutes; CI runs this to keep the harness working)
#   scripts/bench.sh                    the full run recorded in docs/benchmarks.md
#   scripts/bench.sh tabs broadcast     chosen scenarios (tabs, broadcast, throughput, users, idle, cluster-hop, cluster-streams, recovery)
#   scripts/bench.sh cluster-hop cluster-streams recovery
#                                       cluster mode (issue #12): starts redis-server on a free port and 5 more Relay instances;
#                                       not in --quick unless named (docs/benchmarks.md)
#   scripts/bench.sh --out FILE --relay-dll ../other/src/Relay/bin/Release/net10.0/Relay.dll throughput
#                                       another Relay build (before/after), rows appended to FILE as each run ends
#   options: --users N, --broadcast N,N (guest counts), --rates N,N (throughput writes/s), --throughput-guests N (300); see docs/benchmarks.md
#   RELAY_POCKETBASE_VERSION=0.40.4|0.22.20 (default 0.22.20) picks the PocketBase it runs against (scripts/fetch-pocketbase.sh);
#   the title line names it, and each row gives PocketBase's CPU per write and per (stream, write)
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
RELAY_POCKETBASE_BIN="$(scripts/fetch-pocketbase.sh | tail -n 1)"
export RELAY_POCKETBASE_BIN
dotnet build src/Relay/Relay.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet build bench/Relay.Bench/Relay.Bench.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null
exec dotnet bench/Relay.Bench/bin/Release/net10.0/Relay.Bench.dll "$@"
