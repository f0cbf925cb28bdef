#!/usr/bin/env bash
# Runs the tests: the lint scripts tests/lint/*.sh, the unit-test binaries
# named on the command line (the Makefile passes exactly those its sources
# make, so a removed test cannot linger as a stale binary), and, unless
# --unit is given, the end-to-end scripts tests/e2e/t*.sh. A test exiting
# 77 is skipped, with its reason printed; under CI=true a skip is a failure,
# so CI cannot pass without really tracing. Ends with "N passed, N failed,
# N skipped".
#   tests/run.sh [--unit] BUILD [TEST-BINARY...]
set -u
unit_only=false
if [ "${1:-}" = "--unit" ]; then
	unit_only=true
	shift
fi
build=${1:-build}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
export MT_BUILD=$(cd "$build" && pwd)
passed=0 failed=0 skipped=0
failures=()
log=$(mktemp -d)
trap 'rm -rf "$log"' EXIT

run_one() {
	local name=$1; shift
	local out="$log/$(basename "$name").out" start end rc
	start=$(date +%s.%N)
	"$@" >"$out" 2>&1
	rc=$?
	end=$(date +%s.%N)
	local secs
	secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS %-40s %6ss\n' "$name" "$secs"
	elif [ $rc -eq 77 ] && [ "${CI:-}" != "true" ]; then
		skipped=$((skipped + 1))
		printf 'SKIP %-40s %s\n' "$name" "$(tail -n 1 "$out")"
	else
		failed=$((failed + 1))
		failures+=("$name")
		[ $rc -eq 77 ] && echo "  (skipped under CI=true: that is a failure)"
		printf 'FAIL %-40s (exit %d)\n' "$name" "$rc"
		sed 's/^/    | /' "$out" | tail -n 60
	fi
}

for t in "$here"/lint/*.sh; do
	run_one "lint/$(basename "$t")" bash "$t"
done
for t in "$@"; do
	run_one "unit/$(basename "$t")" "$t"
done
if ! $unit_only; then
	for t in "$here"/e2e/t[0-9]*.sh; do
		run_one "e2e/$(basename "$t")" bash "$t"
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
