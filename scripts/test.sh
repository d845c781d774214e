#!/usr/bin/env bash
# Runs the whole test suite with leak sanitizers on and ends with one line
# "N passed, N failed, N skipped" (deno test's own summary is not machine-friendly).
# Extra arguments go to `deno test` (e.g. a file or --filter NAME). --doc also runs the code
# examples in JSDoc (of lib/, bench/, scripts/, main.ts and tests/: deno.json's test.include).
# Test files run in parallel, DENO_JOBS at a time (default: the number of CPUs,
# at least 2); DENO_JOBS=1 runs them one after another.
set -uo pipefail
log="$(mktemp -t exec-server-test.XXXXXX)"
trap 'rm -f "$log"' EXIT
export DENO_JOBS="${DENO_JOBS:-$(( $(nproc 2>/dev/null || echo 2) < 2 ? 2 : $(nproc 2>/dev/null || echo 2) ))}"
NO_COLOR=1 deno test --doc --allow-all --sanitize-ops --sanitize-resources --parallel "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary="$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)"
num() { echo "$summary" | grep -oE "[0-9]+ $1" | head -n 1 | grep -oE '^[0-9]+' || echo 0; }
passed=$(num passed); failed=$(num failed); skipped=$(num ignored)
if [ -z "$summary" ] && [ "$status" -ne 0 ]; then failed=1; fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit "$status"
