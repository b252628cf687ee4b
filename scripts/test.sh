#!/usr/bin/env bash
# Runs every test suite against a real PocketBase and prints one totals line: "N passed, N failed[, N skipped]".
# Needs the .NET 10 SDK and npm (for the PocketBase binary). Uses a Docker engine when one answers
# (PocketBase then runs in a container via Testcontainers), otherwise runs PocketBase as a local process.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}" TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"

results="${RELAY_RESULTS_DIR:-$PWD/artifacts/test-results}"
rm -rf "$results" && mkdir -p "$results"
export RELAY_RESULTS_DIR="$results"

echo "==> PocketBase binary"
RELAY_POCKETBASE_BIN="$(scripts/fetch-pocketbase.sh | tail -n 1)"
export RELAY_POCKETBASE_BIN

echo "==> build"
dotnet build Relay.sln -c Release -nologo -clp:ErrorsOnly

started=$(date +%s)
status=0

# Relay.Client as an app gets it: packed (.nupkg + .snupkg), then installed from that local feed by the console sample
# (examples/console-viewer, its own nuget.config), so a broken package fails here. RelayClientTests runs the sample
# against a real Relay through RELAY_CONSOLE_VIEWER.
echo "==> Relay.Client package (dotnet pack, examples/console-viewer)"
pack_passed=0; pack_failed=0
rm -rf artifacts/packages examples/console-viewer/.packages/relay.client
if dotnet pack src/Relay.Client -c Release --no-build -nologo -o artifacts/packages \
  && dotnet build examples/console-viewer -c Release -nologo -clp:ErrorsOnly; then
  pack_passed=1
  export RELAY_CONSOLE_VIEWER="$PWD/examples/console-viewer/bin/Release/net10.0/ConsoleViewer.dll"
  for package in artifacts/packages/Relay.Client.*nupkg; do
    echo "Relay.Client package: $(basename "$package") $(stat -c %s "$package") bytes" >>"$results/figures.txt"
  done
else
  pack_failed=1; status=1
fi
# Tests tagged Category=Slow (a real 5-minute PocketBase idle period) run beside everything else, with their own
# PocketBase process and ports; they write one more .trx (counted in `expected` below).
slow_log="$results/slow-tests.log"
dotnet test tests/Relay.IntegrationTests/Relay.IntegrationTests.csproj -c Release --no-build -nologo --filter "Category=Slow" \
  --logger "trx;LogFileName=Relay.IntegrationTests.Slow.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" >"$slow_log" 2>&1 &
slow_pid=$!
for project in $(dotnet sln Relay.sln list | grep -E '^tests/.*Tests\.csproj$'); do
  name="$(basename "$project" .csproj)"
  echo "==> $name"
  filter=()
  [ "$name" = "Relay.IntegrationTests" ] && filter=(--filter "Category!=Slow")
  dotnet test "$project" -c Release --no-build -nologo "${filter[@]}" \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" || status=1
done

# The TypeScript client: packed as npm would publish it (type-checked build included), then Vitest against a real
# Relay (Release build) and PocketBase. The demo below installs that tarball, so a broken package fails here.
echo "==> relay-client-ts (npm ci, npm pack, vitest)"
if ! (scripts/pack-client-ts.sh && cd src/relay-client-ts && npx vitest run); then status=1; fi
[ -s "$results/relay-client-ts.junit.xml" ] || echo "!! relay-client-ts produced no results" >&2

# The patients demo in a real browser: Debian's Chromium driven by playwright-core, two users side by side.
echo "==> examples/patients (the packed client installed, vite build, browser end-to-end)"
if ! (cd examples/patients && npm ci --no-audit --no-fund --loglevel=error && npm run install-client --silent && npx vite build --logLevel warn && npx vitest run --config e2e/vitest.config.ts); then status=1; fi
[ -s "$results/patients-e2e.junit.xml" ] || echo "!! examples/patients produced no results" >&2

# The README's first command, end to end: PocketBase + Relay + the demo's four viewers, checked.
echo "==> demo (scripts/run-demo.sh --once)"
demo_passed=0; demo_failed=0
demo_data="$(mktemp -d)"
if RELAY_DEMO_DATA="$demo_data" RELAY_DEMO_POCKETBASE_PORT="${RELAY_TEST_DEMO_PB_PORT:-18090}" RELAY_DEMO_RELAY_PORT="${RELAY_TEST_DEMO_RELAY_PORT:-15080}" \
  timeout 300 scripts/run-demo.sh --once; then demo_passed=1; else demo_failed=1; status=1; fi
rm -rf "$demo_data"

# The benchmark harness must keep working (its speed is not judged here): Relay.Bench --quick, every scenario small.
echo "==> bench (scripts/bench.sh --quick)"
bench_passed=0; bench_failed=0
if timeout 600 scripts/bench.sh --quick --out "$results/bench-quick.md"; then bench_passed=1; else bench_failed=1; status=1; fi
# Its Relay rows use lean WebSocket clients by default; the SignalR .NET clients (--clients signalr) must keep working too.
echo "==> bench with SignalR clients (scripts/bench.sh --quick --no-warmup --clients signalr broadcast)"
if timeout 300 scripts/bench.sh --quick --no-warmup --clients signalr --out "$results/bench-quick-signalr.md" broadcast; then
  bench_passed=$((bench_passed + 1))
else
  bench_failed=$((bench_failed + 1)); status=1
fi

# The compose stack: both images built, the stack up, a change through the composed Relay, logs, metrics, down —
# once with each compose implementation present: Debian's docker-compose (v1.29) and the `docker compose` v2 plugin.
# It needs a Docker engine (and root for debootstrap); RELAY_SKIP_COMPOSE=1 opts out, counted as skipped.
compose_passed=0; compose_failed=0; compose_skipped=0
if [ "${RELAY_SKIP_COMPOSE:-0}" = "1" ] || ! docker info >/dev/null 2>&1; then
  echo "==> compose smoke: skipped (no Docker engine, or RELAY_SKIP_COMPOSE=1)"
  compose_skipped=2
else
  for composer in "docker-compose" "docker compose"; do
    if ! $composer version >/dev/null 2>&1; then
      echo "==> compose smoke with $composer: skipped ($composer is not installed; scripts/install-compose-v2.sh installs v2)"
      compose_skipped=$((compose_skipped + 1)); continue
    fi
    echo "==> compose smoke (deploy/smoke.sh with $composer)"
    log="$results/compose-${composer// /-}.log"
    if RELAY_COMPOSE="$composer" timeout 900 deploy/smoke.sh | tee "$log"; then
      compose_passed=$((compose_passed + 1))
      grep '^compose:' "$log" >>"$results/figures.txt" || true
    else
      compose_failed=$((compose_failed + 1)); status=1
    fi
  done
fi
echo "==> Relay.IntegrationTests (Category=Slow, ran in parallel)"
wait "$slow_pid" || status=1
cat "$slow_log"
elapsed=$(( $(date +%s) - started ))

passed=$((demo_passed + bench_passed + compose_passed)); failed=$((demo_failed + bench_failed + compose_failed)); skipped=$compose_skipped; suites=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  suites=$((suites + 1))
  counters="$(grep -o '<Counters [^>]*>' "$trx")"
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  skipped=$((skipped + $(get notExecuted)))
done

# Vitest's JUnit report: <testsuites ... tests= failures= errors= skipped=>.
junit_missing=1
for junit in "$results"/*.junit.xml; do
  [ -e "$junit" ] || continue
  junit_missing=0
  head="$(grep -o '<testsuites [^>]*>' "$junit" | head -n 1)"
  jget() { echo "$head" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  tests=$(jget tests); jfailed=$(( $(jget failures) + $(jget errors) ))
  jskipped=$(grep -o '<testsuite [^>]*>' "$junit" | sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + tests - jfailed - ${jskipped:-0})); failed=$((failed + jfailed)); skipped=$((skipped + ${jskipped:-0}))
done
failed=$((failed + junit_missing))

passed=$((passed + pack_passed)); failed=$((failed + pack_failed))

expected=$(( $(dotnet sln Relay.sln list | grep -cE '^tests/.*Tests\.csproj$') + 1 ))  # + the Slow run
if [ "$suites" -ne "$expected" ]; then
  echo "!! $((expected - suites)) test suite(s) produced no results" >&2
  failed=$((failed + expected - suites))
fi
if [ -s "$results/figures.txt" ]; then echo "==> measured"; cat "$results/figures.txt"; fi
# Failed tests by name (with the first line of their message), last before the totals, so a truncated CI log still
# says which test failed.
failures="$(
  for trx in "$results"/*.trx; do
    [ -e "$trx" ] || continue
    python3 - "$trx" <<'PY' 2>/dev/null || true
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
suite = sys.argv[1].rsplit("/", 1)[-1].removesuffix(".trx")
for r in ET.parse(sys.argv[1]).getroot().iterfind(".//t:UnitTestResult", ns):
    if r.get("outcome") not in ("Passed", "NotExecuted"):
        message = (r.findtext(".//t:Message", default="", namespaces=ns) or "").strip().splitlines()
        print(f"!! {suite}: {r.get('testName')} ({r.get('outcome')}): {message[0][:300] if message else ''}")
PY
  done
  for junit in "$results"/*.junit.xml; do
    [ -e "$junit" ] || continue
    python3 - "$junit" <<'PY' 2>/dev/null || true
import sys, xml.etree.ElementTree as ET
suite = sys.argv[1].rsplit("/", 1)[-1].removesuffix(".junit.xml")
for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    for bad in list(case.findall("failure")) + list(case.findall("error")):
        message = (bad.get("message") or bad.text or "").strip().splitlines()
        print(f"!! {suite}: {case.get('classname')} > {case.get('name')}: {message[0][:300] if message else ''}")
PY
  done
)"
[ "$pack_failed" -eq 0 ] || failures+=$'\n'"!! Relay.Client package: dotnet pack or examples/console-viewer failed (see above)"
[ "$demo_failed" -eq 0 ] || failures+=$'\n'"!! demo: scripts/run-demo.sh --once failed (see above)"
if [ "$bench_failed" -ne 0 ]; then
  # (mawk stops at a missing file: name only the ones written.)
  bench_files=(); for f in "$results/bench-quick.md" "$results/bench-quick-signalr.md"; do [ -s "$f" ] && bench_files+=("$f"); done
  failures+=$'\n'"!! bench: $bench_failed of 2 runs failed (bench --quick; bench --quick --clients signalr broadcast): $( [ ${#bench_files[@]} -gt 0 ] && awk -F'|' '/FAILED/ { print FILENAME ": " $2 "/" $3 ": FAILED"; next } $2 !~ /throughput/ && $6 ~ /[0-9] \/ [0-9]/ { split($6, d, "/"); if (d[1] + 0 < d[2] + 0) print FILENAME ": " $2 "/" $3 ": delivered" $6 }' "${bench_files[@]}" 2>/dev/null | tr '\n' ';' || true)"
fi
[ "$compose_failed" -eq 0 ] || failures+=$'\n'"!! compose smoke failed $compose_failed time(s) (see above)"
failures="$(printf '%s\n' "$failures" | sed '/^$/d')"
if [ -n "$failures" ]; then echo "==> failed tests"; echo "$failures"; fi
echo "test wall time: ${elapsed}s"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
  exit 1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
