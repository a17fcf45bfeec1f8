#!/usr/bin/env bash
# Makes a Debian base image without a container registry: debootstrap (minbase) from the Debian
# mirror apt already uses here, imported into buildah's storage as localhost/kiwi-base:<suite>.
# For machines that reach Debian's packages but no registry (this project's): then
#   bash scripts/image-base.sh && bash scripts/build-image.sh --base localhost/kiwi-base:bookworm
# The rootfs is cached in node_modules/.cache/kiwi-image-base/. KIWI_BUILDAH_FLAGS as in build-image.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
suite="${1:-bookworm}"
command -v debootstrap >/dev/null || { echo "image-base: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
mirror=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "image-base: no Debian mirror found in /etc/apt/sources*" >&2; exit 1; }
cache="$PWD/node_modules/.cache/kiwi-image-base"
tarball="$cache/$suite-minbase.tar"
source scripts/cache-once.sh
rootfs() {
  debootstrap --variant=minbase "$suite" "$tmp" "$mirror" >&2
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*
  mkdir -p "$cache"
  tar -C "$tmp" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
}
cache_once "$tarball" "image-base: debootstrap $suite (minbase), about a minute" rootfs
b=(buildah ${KIWI_BUILDAH_FLAGS:-})
c=$("${b[@]}" from scratch)
"${b[@]}" add "$c" "$tarball" / >/dev/null
"${b[@]}" commit -q "$c" "localhost/kiwi-base:$suite" >/dev/null
"${b[@]}" rm "$c" >/dev/null
echo "localhost/kiwi-base:$suite"
