#!/usr/bin/env bash
# Builds, without any registry, the base images the Dockerfiles need, for machines that cannot pull
# mcr.microsoft.com / docker.io (CI here): a Debian bookworm root file system from debootstrap, plus the .NET SDK or
# runtime copied from this machine. The Dockerfiles stay the ones users build with public images; they only receive
# these as build arguments (see deploy/README.md).
#   relay-local/debian:bookworm     (PocketBase image base; has sh, wget, unzip)
#   relay-local/dotnet-sdk:10.0     (Relay build stage)
#   relay-local/aspnet:10.0         (Relay runtime stage)
set -euo pipefail
export DOCKER_API_VERSION="${DOCKER_API_VERSION:-1.41}"
work="${RELAY_BASE_IMAGE_WORK:-/var/tmp/relay-base-images}"
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

have() { docker image inspect "$1" >/dev/null 2>&1; }

if ! have relay-local/debian:bookworm; then
  command -v debootstrap >/dev/null || { echo "debootstrap missing (apt-get install -y debootstrap)" >&2; exit 1; }
  rm -rf "$work/rootfs" && mkdir -p "$work"
  echo "==> debootstrap bookworm ($mirror)"
  debootstrap --variant=minbase --include=ca-certificates,libicu72,libssl3,zlib1g,wget,unzip bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  # Trust what this machine trusts (a network that re-signs TLS, as here, needs its CA inside the build too).
  cp /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
  if [ -d /usr/local/share/ca-certificates ]; then cp -a /usr/local/share/ca-certificates/. "$work/rootfs/usr/local/share/ca-certificates/"; fi
  tar -C "$work/rootfs" -c . | docker import --change 'CMD ["/bin/bash"]' - relay-local/debian:bookworm >/dev/null
fi

if ! have relay-local/dotnet-sdk:10.0 || ! have relay-local/aspnet:10.0; then
  [ -d "$work/rootfs" ] || { mkdir -p "$work/rootfs" && docker export "$(docker create relay-local/debian:bookworm)" | tar -C "$work/rootfs" -x; }
  echo "==> relay-local/dotnet-sdk:10.0 from $dotnet_root"
  rm -rf "$work/rootfs/usr/share/dotnet" && mkdir -p "$work/rootfs/usr/share/dotnet"
  cp -a "$dotnet_root/." "$work/rootfs/usr/share/dotnet/"
  ln -sf /usr/share/dotnet/dotnet "$work/rootfs/usr/bin/dotnet"
  tar -C "$work/rootfs" -c . | docker import \
    --change 'ENV DOTNET_ROOT=/usr/share/dotnet DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1' \
    --change 'CMD ["/bin/bash"]' - relay-local/dotnet-sdk:10.0 >/dev/null

  echo "==> relay-local/aspnet:10.0 (runtime only)"
  rm -rf "$work/rootfs/usr/share/dotnet/sdk" "$work/rootfs/usr/share/dotnet/sdk-manifests" "$work/rootfs/usr/share/dotnet/packs" "$work/rootfs/usr/share/dotnet/templates"
  tar -C "$work/rootfs" -c . | docker import \
    --change 'ENV DOTNET_ROOT=/usr/share/dotnet APP_UID=1654' \
    --change 'CMD ["/bin/bash"]' - relay-local/aspnet:10.0 >/dev/null
  rm -rf "$work/rootfs"
fi

docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep '^relay-local/'
