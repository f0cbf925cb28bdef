#!/usr/bin/env bash
# memtrace sees inside libmtpool (docs/pools.md), shared and linked in:
# the "pools" section equals the program's own mtpool_stats() at exit,
# exactly; the objects a pool holds idle are not leak candidates; with
# --pool-events, a planted pool leak is found by its get site; a
# debug-mode double put is reported with its stack.
. "$(dirname "$0")/lib.sh"
need_bpf
for b in wl_pool wl_pool_static; do
	[ -x "$WL/$b" ] || fail "$WL/$b not built"
done
CHECK=$E2E/pools_check.py

for b in wl_pool wl_pool_static; do
	# Default mode: counters read from memory, no trap on get/put.
	"$MT" --no-vm --json "$TMP/$b.json" -- "$WL/$b" leak double >"$TMP/$b.out" 2>"$TMP/$b.err" ||
		fail "$b: memtrace failed: $(tail -5 "$TMP/$b.err")"
	python3 "$CHECK" "$TMP/$b.json" "$TMP/$b.out" exact idle double=double_put ||
		fail "$b: the pools section disagrees with the program"
	grep -q "^Pools (3" "$TMP/$b.err" || fail "$b: no pools section in the text report"
	# Every get and put traced: the same counters, and the leak by get site.
	"$MT" --no-vm --pool-events --json "$TMP/$b.ev.json" -- "$WL/$b" leak >"$TMP/$b.ev.out" \
		2>"$TMP/$b.ev.err" || fail "$b --pool-events: memtrace failed: $(tail -5 "$TMP/$b.ev.err")"
	python3 "$CHECK" "$TMP/$b.ev.json" "$TMP/$b.ev.out" exact idle leak=plant_leak ||
		fail "$b --pool-events: wrong pools section"
done
# No planted leak, no pool leak.
"$MT" --no-vm --pool-events --json "$TMP/ok.json" -- "$WL/wl_pool" >"$TMP/ok.out" 2>"$TMP/ok.err" ||
	fail "memtrace failed: $(tail -5 "$TMP/ok.err")"
python3 "$CHECK" "$TMP/ok.json" "$TMP/ok.out" exact noleak || fail "a pool leak where none is"
echo "ok: pools exact (shared and static), idle not leaks, pool leak and double put found"
