#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, type-checks, then runs unit,
# integration (real etcd) and end-to-end (real processes, users, sshd) tests with mocha.
# Ends with the line "tests: N passed, N failed". Extra arguments go to mocha (e.g. a file).
# Node: 22 or newer; KIWI_NODE_MAJOR=N runs on Node N (scripts/node-env.sh).
set -uo pipefail
cd "$(dirname "$0")/.."

source scripts/node-env.sh || { echo "tests: 0 passed, 1 failed"; exit 1; }

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
