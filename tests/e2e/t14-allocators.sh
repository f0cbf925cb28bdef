#!/usr/bin/env bash
# Replacement allocators: with jemalloc, tcmalloc or mimalloc preloaded,
# memtrace probes the object that really provides malloc (launch and attach
# mode) and the workload's own calls are exact. The allocators' own start-up
# calls are real calls too, so whole-process totals are not compared here.
# tcmalloc and jemalloc define no reallocarray: the program's calls land in
# libc's, which calls the replacement's realloc; they must count as the
# reallocarray calls they are (libc's function probed too), not as realloc.
. "$(dirname "$0")/lib.sh"
need_bpf
libdir=/usr/lib/x86_64-linux-gnu
args=(23 17 13 7 0 11)
nra=250   # 2 x 250 reallocarray calls
tested=0
for lib in libjemalloc.so.2 libtcmalloc_minimal.so.4 libmimalloc.so.2; do
	[ -e "$libdir/$lib" ] || { [ "${CI:-}" = true ] && fail "$lib missing (tools/install-deps.sh installs it)"; continue; }
	# Launch mode preloads the allocator into memtrace too; an ASan-built
	# memtrace cannot share its process with another malloc, so the
	# sanitized run (tests/run.sh --sanitized) checks attach mode only.
	if [ -z "${MT_SANITIZED:-}" ]; then
		LD_PRELOAD=$libdir/$lib "$MT" --no-vm --json "$TMP/l.json" -- "$WL/wl_exact" --reallocarray $nra "${args[@]}" \
			>/dev/null 2>"$TMP/err" || fail "$lib launch: memtrace exited $?: $(cat "$TMP/err")"
	else
		echo "note: $lib launch mode not run under ASan"
	fi
	# Files of their own per library: a wait_for on a file the last round
	# wrote can match before the new process has truncated it.
	wlout=$TMP/$lib.wl.out mterr=$TMP/$lib.attach.err
	LD_PRELOAD=$libdir/$lib "$WL/wl_exact" --attach --reallocarray $nra "${args[@]}" >"$wlout" &
	wl=$!
	CLEANUP_PIDS+=("$wl")
	wait_for "$wlout" '^ready' || fail "workload did not start"
	"$MT" --no-vm -p "$wl" --max-overhead off --min-age 0 --json "$TMP/a.json" >/dev/null 2>"$mterr" &
	mt=$!
	CLEANUP_PIDS+=("$mt")
	wait_for "$mterr" 'attached to PID' || fail "$lib: memtrace did not attach"
	kill -USR1 "$wl"
	wait_for "$wlout" '^done' || fail "workload did not finish"
	kill -INT "$mt"; wait "$mt" || fail "$lib attach: memtrace exited $?"
	alive "$wl" || fail "$lib: the target died with memtrace"
	kill -TERM "$wl"
	wait "$wl" || fail "$lib: the target did not exit cleanly after detach (status $?)"
	python3 - "$lib" "$TMP/l.json" "$TMP/a.json" $nra "${args[@]}" <<'PY' || exit 1
import json, sys
lib, paths, nra, a = sys.argv[1], sys.argv[2:4], int(sys.argv[4]), [int(x) for x in sys.argv[5:]]
churn, window, leak_a, leak_b, _, pre = a
import os
for mode, path in zip(("launch", "attach"), paths):
    if mode == "launch" and os.environ.get("MT_SANITIZED"):
        continue
    r = json.load(open(path))
    # attach mode sees the file the symlink names (libtcmalloc_minimal.so.4.5.10)
    base = r["target"]["allocator"].rsplit("/", 1)[-1]
    assert base.startswith(lib), (mode, r["target"]["allocator"])
    assert r["lost_events"] == 0, (mode, r["lost_events"])
    sites = {}   # per function: a function may hold several call sites
    for s in r["sites"]:
        f = s["stack"][0]["func"] if s["stack"] else None
        t = sites.setdefault(f, {"allocs": 0, "live_objects": 0, "frees": 0})
        for k in t:
            t[k] += s[k]
    want = {"wl_churn": (churn, 0, churn), "wl_window": (window, 0, window),
            "wl_leak_small": (leak_a, leak_a, 0), "wl_leak_calloc": (leak_b, leak_b, 0),
            "wl_reallocarray": (2 * nra, 0, 2 * nra)}
    for f, (allocs, live, frees) in want.items():
        s = sites.get(f)
        got = s and (s["allocs"], s["live_objects"], s["frees"])
        assert got == (allocs, live, frees), (lib, mode, f, got, (allocs, live, frees))
    calls = {}
    for k, n in r["calls"].items():
        for name in k.split("|"):
            calls[name] = n
    assert calls.get("reallocarray") == 2 * nra, (lib, mode, r["calls"])
    if mode == "attach":   # the window holds the workload's calls only
        assert calls.get("realloc") == 0, (lib, mode, r["calls"])
        assert r["totals"]["untracked_frees"] >= pre, r["totals"]
print("ok:", lib, "probed and exact in", "attach mode" if os.environ.get("MT_SANITIZED") else "launch and attach mode")
PY
	tested=$((tested + 1))
done
[ $tested -gt 0 ] || skip "no replacement allocator installed"
