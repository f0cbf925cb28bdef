#!/usr/bin/env bash
# Go: the runtime layouts of the other toolchains Debian 12 offers
# (golang-1.21/1.22/1.23-go from bookworm-backports; t30 covers the default
# golang-go, 1.19). With each: every GC cycle counted, MemStats equal to the
# program's own ReadMemStats, under the defaults and under a memory limit.
# Every field is found through DWARF, so a layout change shows here as a
# refusal naming the field, or as a mismatch.
. "$(dirname "$0")/lib.sh"
need_bpf
. "$E2E/go/lib_go.sh"
snap_progs
tried=0
for go in /usr/lib/go-1.2[0-9]/bin/go; do
	[ -x "$go" ] || continue
	v=${go#/usr/lib/go-}
	v=${v%%/*}
	go_build "$go" "gcprog$v" "" || fail "cannot build gcprog.go with Go $v"
	go_attach "gcprog$v" "go$v"
	python3 "$E2E/go_gc_check.py" attach "$TMP/go$v.json" "$TMP/go$v.out" ||
		fail "Go $v: $(cat "$TMP/go$v.err")"
	go_attach "gcprog$v" "go$v-limit" GOGC=400 GOMEMLIMIT=9MiB
	python3 "$E2E/go_gc_check.py" attach "$TMP/go$v-limit.json" "$TMP/go$v-limit.out" ||
		fail "Go $v, GOGC=400 GOMEMLIMIT=9MiB: $(cat "$TMP/go$v-limit.err")"
	echo "Go $v: ok"
	tried=$((tried + 1))
done
[ "$tried" -gt 0 ] || skip "no golang-1.2x-go toolchain (tools/install-deps.sh installs them from bookworm-backports)"
no_memtrace_progs || fail "memtrace BPF programs remain after exit"
