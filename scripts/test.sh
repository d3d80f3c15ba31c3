#!/usr/bin/env bash
# The test command (npm test): makes sure the services the tests need are there, then runs every
# test file with node's test runner. Files are listed explicitly: on Node 20 a directory or glob
# silently runs no TypeScript tests. A per-test timeout turns a hang into a failure instead of a stalled run.
#
# Two phases: the unit and integration files first, several at a time; then the end-to-end files and
# those that boot real qemu guests. Those start a dozen service processes or emulated guests each (TCG
# keeps a core busy while a guest boots), so they share a CPU budget instead: scripts/test-pool.mjs
# starts them longest first, each when the cores it keeps busy (test/timings.json) fit in the budget.
# Too many at once on a 2-core machine and everything starves, down to database handshakes timing out.
set -euo pipefail
cd "$(dirname "$0")/.."
extra=("$@")
bash scripts/ensure-services.sh
mapfile -t all < <(find test -name '*.test.ts' | sort)
if [ "${#all[@]}" -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
heavy_re='^test/(e2e/|compute/virt/qemu/)'
mapfile -t light < <(printf '%s\n' "${all[@]}" | grep -Ev "$heavy_re" || true)
mapfile -t heavy < <(printf '%s\n' "${all[@]}" | grep -E "$heavy_re" || true)
# The files run compiled (scripts/build-tests.mjs says why); TEST_FROM_SOURCE=1 runs them through tsx.
if [ "${TEST_FROM_SOURCE:-0}" = 1 ]; then
  loader=(--import tsx)
else
  node scripts/build-tests.mjs "${all[@]}" >/dev/null
  loader=(--enable-source-maps)
  compiled() { printf '%s\n' "$@" | sed -e 's|^|.cache/test-build/|' -e 's|\.ts$|.js|'; }
  mapfile -t light < <(compiled "${light[@]}")
  mapfile -t heavy < <(compiled "${heavy[@]}")
fi
timeout=--test-timeout="${TEST_TIMEOUT_MS:-600000}"
status=0
if [ "${#light[@]}" -gt 0 ]; then
  node "${loader[@]}" --test --test-concurrency="${TEST_CONCURRENCY:-4}" "$timeout" "${extra[@]}" "${light[@]}" || status=$?
fi
# A Debian cloud guest under TCG on a loaded machine can take more than ten minutes to let its user in,
# and node --test ends a file at the timeout (its processes with it): the heavy files get 25 minutes.
timeout=--test-timeout="${HEAVY_TEST_TIMEOUT_MS:-${TEST_TIMEOUT_MS:-1500000}}"
if [ "${#heavy[@]}" -gt 0 ]; then
  # RECORD_TEST_TIMINGS=1 writes this run's figures back to test/timings.json.
  record=()
  if [ "${RECORD_TEST_TIMINGS:-0}" = 1 ]; then record=(--record test/timings.json); fi
  node "${loader[@]}" scripts/test-pool.mjs --budget "${HEAVY_TEST_CORES:-2}" --timings test/timings.json \
    "${record[@]}" "$timeout" "${extra[@]}" -- "${heavy[@]}" || status=$?
fi
exit "$status"
