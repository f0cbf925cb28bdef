#!/usr/bin/env bash
# Runs the tests: the lint scripts tests/lint/*.sh, the unit-test binaries
# named on the command line (the Makefile passes exactly those its sources
# make, so a removed test cannot linger as a stale binary), and, unless
# --unit is given, the fuzzers (tests/fuzz: a bounded run each) and the
# end-to-end scripts tests/e2e/t*.sh. A test exiting
# 77 is skipped, with its reason printed; under CI=true a skip is a failure,
# so CI cannot pass without really tracing. Ends with "N passed, N failed,
# N skipped".
# --sanitized: BUILD holds an ASan+UBSan build (make SANITIZE=1): the
# unit binaries and end-to-end scripts run against it; lint and fuzzers,
# which do not depend on the build, are not run again.
#   tests/run.sh [--unit|--sanitized] BUILD [TEST-BINARY...]
set -u
unit_only=false sanitized=false
case ${1:-} in
--unit) unit_only=true; shift ;;
--sanitized) sanitized=true; shift ;;
esac
# Sanitizer reports fail the run; LeakSanitizer's too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
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

tag=
if $sanitized; then
	tag="san:"
	export MT_SANITIZED=1
fi
if ! $sanitized; then
	for t in "$here"/lint/*.sh; do
		run_one "lint/$(basename "$t")" bash "$t"
	done
fi
for t in "$@"; do
	run_one "${tag}unit/$(basename "$t")" "$t"
done
if ! $unit_only && ! $sanitized; then
	for d in "$here"/fuzz/*/; do
		name=$(basename "$d")
		run_one "fuzz/$name" bash "$here/fuzz/fuzz.sh" "$build/tests/fuzz/fuzz_$name" "$d"
	done
fi
if ! $unit_only; then
	for t in "$here"/e2e/t[0-9]*.sh; do
		run_one "${tag}e2e/$(basename "$t")" bash "$t"
	done
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
