# Sourced by scripts that fetch or build something once into a cache (image-base.sh, node-dist.sh).
#   cache_once TARGET "what to say" FUNCTION
# Unless TARGET exists, says what it does on stderr and runs FUNCTION with $tmp a fresh temp
# dir, removed afterwards (on failure too). FUNCTION works in $tmp and moves its result to TARGET
# last, so an interrupted run leaves no half-made TARGET for the next run to trust.
cache_once() {
  local target=$1 what=$2 fn=$3
  [ -e "$target" ] && return 0
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "$what" >&2
  "$fn"
  rm -rf "$tmp"
  trap - EXIT
}
