#!/usr/bin/env bash
# memtrace sees inside libmtpool (docs/pools.md), shared and linked in:
# the "pools" section equals the program's own mtpool_stats() and
# mtpool_sc_stats() at exit, exactly (object pools and a size-class
# allocator and a buffer pool, whose idle buffers' data is the pool's
# memory; in attach mode too, for pools created before it came); the objects a pool holds idle are not leak candidates; with
# --pool-events, a planted pool leak is found by its get site; a
# debug-mode double put is reported with its stack; the library's USDT
# semaphores are up only while memtrace is attached.
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
	grep -q "^Pools (5" "$TMP/$b.err" || fail "$b: no pools section in the text report"
	# Every get and put traced: the same counters, and the leak by get site.
	"$MT" --no-vm --pool-events --json "$TMP/$b.ev.json" -- "$WL/$b" leak >"$TMP/$b.ev.out" \
		2>"$TMP/$b.ev.err" || fail "$b --pool-events: memtrace failed: $(tail -5 "$TMP/$b.ev.err")"
	python3 "$CHECK" "$TMP/$b.ev.json" "$TMP/$b.ev.out" exact idle leak=plant_leak ||
		fail "$b --pool-events: wrong pools section"
	# Refills and flushes, read from memory, against a real consumer of
	# the library's probes: bpftrace counting them in another run (of the
	# static build, whose executable holds the probes).
	if [ "$b" = wl_pool_static ] && command -v bpftrace >/dev/null; then
		bin=$(readlink -f "$WL/$b")
		timeout 60 bpftrace -q -e "usdt:$bin:mtpool:refill { @r[arg0] = sum(1); }
			usdt:$bin:mtpool:flush { @f[arg0] = sum(1); }" -c "$bin leak double" \
			>"$TMP/$b.bt" 2>&1 || fail "bpftrace: $(tail -3 "$TMP/$b.bt")"
		python3 "$CHECK" "$TMP/$b.json" "$TMP/$b.out" slow="$TMP/$b.bt" ||
			fail "$b: refills/flushes disagree with bpftrace"
	elif [ "$b" = wl_pool_static ]; then
		echo "note: no bpftrace: refills and flushes are not checked against it"
	fi
done
# Attach mode: the pools created before memtrace came are found through
# the library's list of pools (section .mtpool_trace), and read exactly
# while the program sleeps. The library's USDT semaphores (read from the
# target's memory: tests/e2e/usdt_sems.py) are up while memtrace is
# attached, get's and put's only with --pool-events (without it the inline
# fast paths stay untrapped), and all back to 0 once it has detached, so
# the target pays nothing after it; a second attach raises them again.
SEMS=$E2E/usdt_sems.py
# sems_up PID ERR: once memtrace says it is attached (on ERR, its stderr:
# every probe is in by then; libbpf attaches them one by one), PID's
# semaphores in $TMP/sems.up, the create probe's raised
sems_up() {
	wait_for "$2" 'attached to PID' 30 || return 1
	python3 "$SEMS" "$1" mtpool >"$TMP/sems.up" || return 1
	grep -q '^create [1-9]' "$TMP/sems.up" && return 0
	echo "the create probe's semaphore is not up while memtrace is attached: $(tr '\n' ' ' <"$TMP/sems.up")"
	return 1
}
# sems_zero PID: every mtpool semaphore of PID is 0
sems_zero() {
	python3 "$SEMS" "$1" mtpool >"$TMP/sems.now" || return 1
	awk '$2 != 0 { bad = 1 } END { exit bad }' "$TMP/sems.now" && return 0
	echo "semaphores up: $(tr '\n' ' ' <"$TMP/sems.now")"
	return 1
}
for b in wl_pool wl_pool_static; do
	"$WL/$b" hold >"$TMP/$b.at.out" &
	wp=$!
	CLEANUP_PIDS+=("$wp")
	wait_for "$TMP/$b.at.out" '^holding' 20 || fail "$b hold did not start"
	sems_zero "$wp" || fail "$b: semaphores up before memtrace attached"
	for mode in default --pool-events; do
		# the exact check below reads the default mode's report
		if [ "$mode" = default ]; then
			opts=(--json "$TMP/$b.at.json")
		else
			opts=("$mode" --json "$TMP/$b.at.ev.json")
		fi
		"$MT" -p "$wp" -d 2 --no-vm "${opts[@]}" >/dev/null 2>"$TMP/$b.at.err" &
		mt=$!
		CLEANUP_PIDS+=("$mt")
		sems_up "$wp" "$TMP/$b.at.err" || fail "$b attach ($mode): $(tail -3 "$TMP/$b.at.err")"
		if [ "$mode" = default ]; then
			grep -qx 'get 0' "$TMP/sems.up" && grep -qx 'put 0' "$TMP/sems.up" ||
				fail "$b attach: get/put semaphores up without --pool-events: $(tr '\n' ' ' <"$TMP/sems.up")"
		else
			grep -q '^get [1-9]' "$TMP/sems.up" && grep -q '^put [1-9]' "$TMP/sems.up" ||
				fail "$b attach --pool-events: get/put semaphores not up: $(tr '\n' ' ' <"$TMP/sems.up")"
		fi
		rc=0; wait "$mt" || rc=$?
		[ $rc -eq 0 ] || fail "$b attach ($mode): memtrace failed ($rc): $(tail -5 "$TMP/$b.at.err")"
		sems_zero "$wp" || fail "$b: semaphores not back to 0 after memtrace ($mode) detached"
		echo "$b ($mode): semaphores while attached: $(tr '\n' ' ' <"$TMP/sems.up"), 0 after"
	done
	kill "$wp"
	python3 "$CHECK" "$TMP/$b.at.json" "$TMP/$b.at.out" exact=wl_conn exact=wl_sc exact=wl_buf ||
		fail "$b attach: the pools section disagrees with the program"
done
# A target with a root of its own (chroot, as in a container): the pool
# probes and the list of pools are read from the target's files.
if command -v chroot >/dev/null && command -v gcc >/dev/null &&
	gcc -static -O1 -g -fno-omit-frame-pointer -I"$E2E/../../pool/include" -pthread \
		"$E2E/../../tools/workloads/pool/wl_pool.c" "$MT_BUILD/libmtpool.a" \
		-o "$TMP/wl_pool_full" 2>"$TMP/gcc.err"; then
	R=$TMP/root
	mkdir -p "$R/bin"
	cp "$TMP/wl_pool_full" "$R/bin/wl_pool"
	chroot "$R" /bin/wl_pool hold >"$TMP/ch.out" &
	wp=$!
	CLEANUP_PIDS+=("$wp")
	wait_for "$TMP/ch.out" '^holding' 20 || fail "wl_pool in a chroot did not start"
	[ "$(readlink "/proc/$wp/root")" = "$R" ] || fail "target's root is $(readlink "/proc/$wp/root")"
	"$MT" -p "$wp" -d 1 --no-vm --lib /bin/wl_pool --json "$TMP/ch.json" >/dev/null \
		2>"$TMP/ch.err" || fail "chroot attach: memtrace failed: $(tail -5 "$TMP/ch.err")"
	kill "$wp"
	python3 "$CHECK" "$TMP/ch.json" "$TMP/ch.out" exact=wl_conn exact=wl_sc exact=wl_buf ||
		fail "chroot attach: the pools section disagrees with the program"
else
	echo "note: no static link or chroot here: the chroot case is left out"
fi
# No planted leak, no pool leak.
"$MT" --no-vm --pool-events --json "$TMP/ok.json" -- "$WL/wl_pool" >"$TMP/ok.out" 2>"$TMP/ok.err" ||
	fail "memtrace failed: $(tail -5 "$TMP/ok.err")"
python3 "$CHECK" "$TMP/ok.json" "$TMP/ok.out" exact noleak || fail "a pool leak where none is"

# --listen: the pools' gauges and counters, as the program counts them.
"$MT" --no-vm --listen 127.0.0.1:0 -- "$WL/wl_pool" hold >"$TMP/m.out" 2>"$TMP/m.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/m.out" '^holding' 20 || fail "wl_pool hold did not start: $(cat "$TMP/m.err")"
url=$(sed -n 's/.*serving metrics at \(http:[^ ]*\).*/\1/p' "$TMP/m.err")
[ -n "$url" ] || fail "no 'serving metrics at' line"
gets=$(sed -n 's/^pool wl_conn gets \([0-9]*\) .*/\1/p' "$TMP/m.out")
idle=$(sed -n 's/^pool wl_conn .* cached \([0-9]*\) .*/\1/p' "$TMP/m.out")
ok=0
for _ in 1 2 3 4 5 6 7 8 9 10; do   # rendered each second: bounded wait
	python3 - "$url" "$TMP/metrics" <<'PY' || fail "cannot fetch $url"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    open(sys.argv[2], "wb").write(r.read())
PY
	if grep -q "^memtrace_pool_gets_total{pool=\"wl_conn\",kind=\"object\",address=\"0x[0-9a-f]*\"} $gets\$" "$TMP/metrics" &&
		grep -q "^memtrace_pool_idle{pool=\"wl_conn\",.*} $idle\$" "$TMP/metrics"; then
		ok=1
		break
	fi
	sleep 0.5
done
[ $ok -eq 1 ] || fail "metrics: wl_conn gets $gets idle $idle not served: $(grep pool "$TMP/metrics" | head -20)"
if command -v promtool >/dev/null; then
	promtool check metrics <"$TMP/metrics" >"$TMP/promtool" 2>&1 || fail "promtool: $(cat "$TMP/promtool")"
fi
child=$(pgrep -P "$mt") || fail "wl_pool is not memtrace's child"
kill -TERM "$child"
rc=0; wait "$mt" || rc=$?
[ $rc -eq 143 ] || fail "memtrace did not pass on wl_pool's status 143 (SIGTERM): $rc"

echo "ok: pools exact (shared and static), idle not leaks, pool leak and double put found"
