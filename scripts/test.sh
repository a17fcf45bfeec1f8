#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, type-checks, then runs unit,
# integration (real etcd) and end-to-end (real processes, users, sshd) tests with mocha.
# Ends with the line "tests: N passed, N failed". Extra arguments go to mocha (e.g. a file).
# Node: 22 or newer. KIWI_NODE_MAJOR=N runs on Node N; with neither that nor a Node >= 22 on PATH,
# the npm registry's build of Node 26 (the Active LTS) is fetched once and used (scripts/node-dist.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
want="${KIWI_NODE_MAJOR:-}"
if [ -z "$want" ] && [ "$major" -lt 22 ]; then
  want=26
  echo "kiwi: Node $(node --version 2>/dev/null || echo '(none)') is older than Kiwi's minimum (22): using Node 26 from the npm registry" >&2
fi
if [ -n "$want" ] && [ "$major" != "$want" ]; then
  nodebin=$(bash scripts/node-dist.sh "$want") || { echo "tests: 0 passed, 1 failed"; exit 1; }
  export PATH="$(dirname "$nodebin"):$PATH"
fi
echo "kiwi: testing on Node $(node --version)" >&2

bash scripts/install-deps.sh || { echo "tests: 0 passed, 1 failed"; exit 1; }
echo "kiwi: building" >&2
npm run --silent build || { echo "tests: 0 passed, 1 failed"; exit 1; }
echo "kiwi: type-checking" >&2
npx tsc --noEmit -p . || { echo "tests: 0 passed, 1 failed"; exit 1; }

if [ $# -gt 0 ]; then
  exec npx mocha "$@"
fi
# Unit tests first: they are fast and say most about a broken change.
exec npx mocha 'test/unit/**/*.test.ts' 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts'
