#!/usr/bin/env bash
# Installs the `docker compose` v2 CLI plugin from Debian's own archive: bookworm ships only docker-compose 1.29;
# trixie ships v2 in a package of the same name, so only the plugin binary is taken out of its .deb (v1 stays).
# The pool path is read from trixie's package index, so a newer upload is picked up. Needs curl, xz and dpkg-deb.
set -euo pipefail
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
dest="${COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

curl -fsS --retry 3 -m 300 -o "$work/Packages.xz" "$mirror/dists/trixie/main/binary-amd64/Packages.xz"
filename="$(xz -dc "$work/Packages.xz" | awk '/^Package: docker-compose$/ {p=1} p && /^Filename:/ && !done {print $2; done=1}')"
[ -n "$filename" ] || { echo "install-compose-v2: docker-compose not found in trixie's index" >&2; exit 1; }
curl -fsS --retry 3 -m 300 -o "$work/compose.deb" "$mirror/$filename"
dpkg-deb -x "$work/compose.deb" "$work/root"
mkdir -p "$dest"
install -m 0755 "$work/root/usr/libexec/docker/cli-plugins/docker-compose" "$dest/docker-compose"
docker compose version
