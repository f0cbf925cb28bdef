#!/usr/bin/env bash
# Runs every test: the unit-test binaries in BUILD/tests/bin and the
# end-to-end scripts tests/e2e/t*.sh. A script exiting 77 is skipped, with
# its reason printed; under CI=true a skip is a failure, so CI cannot pass
# without really tracing. Ends with "N passed, N failed, N skipped".
set -u
build=${1:-build}
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

for t in "$build"/tests/bin/*; do
	[ -x "$t" ] || continue
	run_one "unit/$(basename "$t")" "$t"
done
for t in "$here"/e2e/t[0-9]*.sh; do
	[ -f "$t" ] || continue
	run_one "e2e/$(basename "$t")" bash "$t"
done

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
