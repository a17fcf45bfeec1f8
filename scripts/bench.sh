#!/usr/bin/env bash
# npm run bench: the benches on the Node the tests use (scripts/node-env.sh), then the report.
# Arguments go to bench/run.ts (e.g. --peers slurm, or a selection such as pam).
set -uo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh || exit 1
exec npx tsx bench/run.ts "$@"
