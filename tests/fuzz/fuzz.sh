#!/usr/bin/env bash
# Runs one libFuzzer target: first every committed regression input (each
# a crash the fuzzer once found), then MT_FUZZ_SECONDS (default 20) of
# fuzzing from the committed seed corpus. New corpus entries go to a
# temporary folder; a crash fails the test and names the input to commit
# into the regression folder.
#   tests/fuzz/fuzz.sh FUZZER-BINARY DIR     (DIR has corpus/ and regress/)
set -u
bin=$1 dir=$2
secs=${MT_FUZZ_SECONDS:-20}
[ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

regress=("$dir"/regress/*)
if [ -e "${regress[0]}" ]; then
	"$bin" -close_fd_mask=2 "${regress[@]}" >"$tmp/regress.log" 2>&1 ||
		{ tail -n 40 "$tmp/regress.log"; echo "FAIL: a regression input crashes $(basename "$bin") again"; exit 1; }
	echo "${#regress[@]} regression inputs pass"
fi
mkdir "$tmp/new"
if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
	-close_fd_mask=2 -artifact_prefix="$tmp/" "$tmp/new" "$dir/corpus" >"$tmp/fuzz.log" 2>&1; then
	tail -n 40 "$tmp/fuzz.log"
	for a in "$tmp"/crash-* "$tmp"/leak-* "$tmp"/timeout-* "$tmp"/oom-*; do
		[ -e "$a" ] || continue
		keep=$dir/regress/$(basename "$a")
		cp "$a" "${MT_FUZZ_KEEP:-/tmp}/" 2>/dev/null
		echo "found: $(basename "$a") (copied to ${MT_FUZZ_KEEP:-/tmp}); commit it as $keep"
	done
	echo "FAIL: $(basename "$bin") found a crash"
	exit 1
fi
grep -E '^#[0-9]+.*DONE' "$tmp/fuzz.log" | tail -n 1
echo "fuzzed $(basename "$bin") for ${secs}s from $(ls "$dir/corpus" | wc -l) seeds: no crash"
