#!/usr/bin/env bash
# --fail-on-leak[=BYTES]: exit status 3 when leaked bytes exceed BYTES
# (definitely lost bytes where the reachability scan ran: launch mode's
# default, --reachability in attach mode), else the program's own
# status; a bad value is a one-line usage error.
. "$(dirname "$0")/lib.sh"

# Usage errors: one line, exit 2, before anything needs root.
rc=0
"$MT" --fail-on-leak=lots -- "$WL/wl_reach" 0 0 0 0 >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 2 ] || fail "--fail-on-leak=lots: exit $rc, expected usage exit 2"
[ "$(wc -l <"$TMP/err")" -eq 1 ] && grep -q "invalid --fail-on-leak 'lots'" "$TMP/err" ||
	fail "--fail-on-leak=lots: $(cat "$TMP/err")"
rc=0
"$MT" --no-heap --reachability -- "$WL/wl_reach" 0 0 0 0 >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 2 ] || fail "--no-heap --reachability: exit $rc, expected usage exit 2"

need_bpf

# expect STATUS memtrace-args...: run in launch mode, check the exit status.
expect() {
	local want=$1 rc=0
	shift
	"$MT" --no-vm "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
	[ $rc -eq "$want" ] || fail "memtrace $*: exit $rc, expected $want: $(cat "$TMP/err")"
	if [ "$want" -eq 3 ]; then
		grep -q "exceed --fail-on-leak=" "$TMP/err" || fail "memtrace $*: no reason given"
	else
		grep -q "exceed --fail-on-leak" "$TMP/err" && fail "memtrace $*: a leak reported at exit $want"
	fi
	return 0
}
# wl_reach GLOBAL STACK CHAIN ORPHAN: 5 orphans leak 5 x 88 = 440 bytes.
expect 3 --fail-on-leak -- "$WL/wl_reach" 0 0 0 5
expect 0 --fail-on-leak -- "$WL/wl_reach" 0 0 0 0
expect 0 --fail-on-leak=440 -- "$WL/wl_reach" 0 0 0 5
expect 3 --fail-on-leak=439 -- "$WL/wl_reach" 0 0 0 5
# Still-reachable blocks are not leaks (launch mode scans at exit by
# default), but are with --no-reachability.
expect 3 --no-reachability --fail-on-leak -- "$WL/wl_reach" 3 3 3 0
expect 0 --fail-on-leak -- "$WL/wl_reach" 3 3 3 0
expect 0 --reachability --fail-on-leak -- "$WL/wl_reach" 3 3 3 0
expect 3 --fail-on-leak -- "$WL/wl_reach" 3 3 3 1
grep -q "88 definitely lost bytes" "$TMP/err" || fail "the definitely lost bytes are not named: $(cat "$TMP/err")"
# Below the threshold the program's own status passes through.
expect 2 --fail-on-leak -- "$WL/wl_reach" 1 2
echo pass
