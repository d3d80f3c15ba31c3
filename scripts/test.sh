#!/usr/bin/env bash
# The test command (npm test): makes sure the services the tests need are there, then runs every
# test file with node's test runner. Files are listed explicitly: on Node 20 a directory or glob
# silently runs no TypeScript tests. A per-test timeout turns a hang into a failure instead of a stalled run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-services.sh
mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ "${#files[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
exec node --import tsx --test --test-concurrency="${TEST_CONCURRENCY:-4}" --test-timeout="${TEST_TIMEOUT_MS:-600000}" "$@" "${files[@]}"
