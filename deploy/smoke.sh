#!/usr/bin/env bash
# Builds both images (offline: from locally built base images) and brings the compose stack up, then checks that an
# editor's change reaches a viewer through the composed Relay, that Relay's logs are JSON and never contain a token,
# that /metrics answers, that the scale-out profile (Redis, two Relay instances in cluster mode, nginx) runs those and
# not the single Relay and delivers one change to viewer connections spread over both instances through the load
# balancer, and that `down` leaves nothing running — with docker-compose (v1) or `docker compose` (v2),
# as RELAY_COMPOSE says. Prints image sizes and cold start.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in docker debootstrap curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "smoke: $tool is required (apt-get install -y docker.io docker-compose debootstrap curl)" >&2; exit 1; }
done
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
# RELAY_COMPOSE picks the implementation: "docker-compose" (v1, Debian's 1.29) or "docker compose" (v2 plugin).
compose="${RELAY_COMPOSE:-}"
if [ -z "$compose" ]; then
  compose="docker-compose"
  command -v docker-compose >/dev/null 2>&1 || compose="docker compose"
fi
compose_version="$($compose version --short 2>/dev/null || $compose version | head -n 1)"
project="relaysmoke"
export POCKETBASE_PORT="${SMOKE_POCKETBASE_PORT:-18191}" RELAY_PORT="${SMOKE_RELAY_PORT:-15181}" RELAY_LB_PORT="${SMOKE_LB_PORT:-15190}"
# A subnet of its own for nginx <-> Relay, so the smoke stack never collides with a scale-out stack already running.
export RELAY_SCALE_OUT_SUBNET="${SMOKE_SCALE_OUT_SUBNET:-172.31.241.0/24}" RELAY_LB_ADDRESS="${SMOKE_LB_ADDRESS:-172.31.241.10}"
export SCALE_OUT_BASE_IMAGE=relay-local/debian:bookworm
# POCKETBASE_VERSION (0.40.4 by default, as in docker-compose.yml; or 0.22.20) picks the PocketBase image and its migrations.
export POCKETBASE_VERSION="${POCKETBASE_VERSION:-0.40.4}"
export POCKETBASE_BASE_IMAGE=relay-local/debian:bookworm POCKETBASE_SOURCE=local
export RELAY_SDK_IMAGE=relay-local/dotnet-sdk:10.0 RELAY_RUNTIME_IMAGE=relay-local/aspnet:10.0
work="$(mktemp -d)"
cleanup() { $compose -p "$project" --profile single --profile scale-out down -v --remove-orphans >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT

echo "==> base images (no registry here)"
deploy/build-local-base-images.sh
deploy/pocketbase/fetch-binary.sh "$POCKETBASE_VERSION" >/dev/null

echo "==> $compose build ($compose_version)"
$compose -p "$project" build >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; exit 1; }
relay_size=$(docker image inspect relay/relay:latest --format '{{.Size}}')
pb_size=$(docker image inspect "relay/pocketbase:$POCKETBASE_VERSION" --format '{{.Size}}')

echo "==> $compose up"
started=$(date +%s%N)
$compose -p "$project" up -d
ready_ms=""
for _ in $(seq 1 240); do
  if [ -z "$ready_ms" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_PORT/health/ready" 2>/dev/null)" = "200" ]; then
    ready_ms=$(( ($(date +%s%N) - started) / 1000000 ))
  fi
  status=$(docker inspect -f '{{.State.Health.Status}}' "$($compose -p "$project" ps -q relay)" 2>/dev/null || echo starting)
  [ "$status" = healthy ] && [ -n "$ready_ms" ] && break
  sleep 0.25
done
[ "$status" = healthy ] || { $compose -p "$project" logs --tail 50; echo "relay never became healthy" >&2; exit 1; }
cold_ms=$(( ($(date +%s%N) - started) / 1000000 ))

echo "==> smoke: editor -> Relay -> viewer"
dotnet build demo/Relay.Demo/Relay.Demo.csproj -c Release -nologo -clp:ErrorsOnly >/dev/null
dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll --pocketbase "http://127.0.0.1:$POCKETBASE_PORT/" --relay "http://127.0.0.1:$RELAY_PORT/" \
  --compose-smoke --tokens-file "$work/tokens"

echo "==> /metrics"
metrics=$(curl -fsS "http://127.0.0.1:$RELAY_PORT/metrics")
echo "$metrics" | grep -q '^relay_events_received_total' || { echo "relay_events_received_total missing from /metrics" >&2; exit 1; }

case "$POCKETBASE_VERSION" in
  0.22.*) ;; # 0.22 sends a user's delete first: the hook does nothing there, and registers no route.
  *)
    echo "==> PocketBase runs Relay's hook (pb_hooks/relay.pb.js, needed by shared streams on 0.23+)"
    su_token=$(curl -fsS -X POST -H 'content-type: application/json' \
      -d "{\"identity\":\"${PB_ADMIN_EMAIL:-admin@relay.test}\",\"password\":\"${PB_ADMIN_PASSWORD:-relay-admin-password}\"}" \
      "http://127.0.0.1:$POCKETBASE_PORT/api/collections/_superusers/auth-with-password" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
    hook_status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: $su_token" "http://127.0.0.1:$POCKETBASE_PORT/api/relay/hooks")
    [ "$hook_status" = 200 ] || { echo "the PocketBase image does not run Relay's hook (GET /api/relay/hooks: $hook_status)" >&2; exit 1; }
    ;;
esac

echo "==> logs: JSON, no token"
$compose -p "$project" logs --no-color relay >"$work/relay.log"
grep -q '"@t"' "$work/relay.log" || { echo "Relay's container log is not compact JSON" >&2; head -5 "$work/relay.log"; exit 1; }
while read -r token; do
  if grep -qF "$token" "$work/relay.log"; then echo "a token appears in Relay's logs" >&2; exit 1; fi
done <"$work/tokens"

echo "==> scale-out profile: Redis + relay-1 + relay-2 behind nginx (round robin, no sticky sessions)"
$compose -p "$project" --profile scale-out build redis loadbalancer >"$work/build-scale-out.log" 2>&1 || { tail -30 "$work/build-scale-out.log"; exit 1; }
# The single Relay goes first (as `docker compose down` would): the profile must not start it again.
$compose -p "$project" rm -s -f relay
$compose -p "$project" --profile scale-out up -d
lb_status=""
for _ in $(seq 1 240); do
  lb_status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_LB_PORT/health/ready" 2>/dev/null || true)
  [ "$lb_status" = "200" ] && break
  sleep 0.5
done
[ "$lb_status" = "200" ] || { $compose -p "$project" --profile scale-out logs --tail 50 redis relay-1 relay-2 loadbalancer; echo "the load balancer never answered /health/ready with 200" >&2; exit 1; }
running=$(docker ps --filter "label=com.docker.compose.project=$project" --format '{{.Label "com.docker.compose.service"}}' | sort | tr '\n' ' ')
[ "$running" = "loadbalancer pocketbase redis relay-1 relay-2 " ] || { echo "the scale-out profile runs: $running(expected loadbalancer pocketbase redis relay-1 relay-2)" >&2; exit 1; }
dotnet demo/Relay.Demo/bin/Release/net10.0/Relay.Demo.dll --pocketbase "http://127.0.0.1:$POCKETBASE_PORT/" --relay "http://127.0.0.1:$RELAY_LB_PORT/" \
  --compose-smoke --scale-out --tokens-file "$work/tokens-scale-out"
for instance in relay-1 relay-2; do
  $compose -p "$project" --profile scale-out logs --no-color "$instance" >"$work/$instance.log"
  # Round robin spread the viewer's connections: each instance opened the viewer's session (and followed its stream).
  grep -q 'Session.*opened' "$work/$instance.log" || { tail -30 "$work/$instance.log"; echo "$instance served no connection through the load balancer" >&2; exit 1; }
  while read -r token; do
    if grep -qF "$token" "$work/$instance.log"; then echo "a token appears in $instance's logs" >&2; exit 1; fi
  done <"$work/tokens-scale-out"
done
# One PocketBase stream per session across both instances: exactly one of them took the viewer's lease.
owners=$(cat "$work/relay-1.log" "$work/relay-2.log" | grep -c 'now owns' || true)
[ "$owners" -ge 1 ] || { echo "no instance took a session's lease (cluster mode off?)" >&2; exit 1; }

echo "==> $compose down"
$compose -p "$project" --profile scale-out down -v --remove-orphans
left=$(docker ps -aq --filter "label=com.docker.compose.project=$project" | wc -l)
[ "$left" -eq 0 ] || { echo "$left containers left after down" >&2; exit 1; }

echo "compose: ($compose $compose_version, PocketBase $POCKETBASE_VERSION) images relay/relay $((relay_size / 1048576)) MB, relay/pocketbase:$POCKETBASE_VERSION $((pb_size / 1048576)) MB; cold start: up -> /health/ready 200 in ${ready_ms} ms, -> docker 'healthy' in ${cold_ms} ms"
