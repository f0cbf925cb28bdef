#!/usr/bin/env bash
# Four threads, joined or outliving a main thread that calls pthread_exit.
# Creating a thread makes glibc allocate on its own (TLS,
# thread descriptors), so the exact check is by difference: two runs that
# differ only in the churn count must differ by exactly the known calls,
# and the per-function leaks must match exactly. glibc also frees at thread
# exit blocks it allocated internally (tcache), how many depending on how
# the threads interleave: those are untracked frees, and the free calls
# are checked net of them.
. "$(dirname "$0")/lib.sh"
need_bpf
run() {
	"$MT" --ringbuf-mb 2 --json "$TMP/$1.json" -- "$WL/wl_exact" --threads 4 $mode "${@:2}" \
		>/dev/null 2>"$TMP/$1.err" ||
		fail "memtrace exited $?: $(cat "$TMP/$1.err")"
}
# Twice: joined threads, then a main thread that leaves by pthread_exit
# while the others run on (its exit is not the process's).
for mode in "" --main-exits; do
run a 0 3 5 2 1 0
run b 5003 3 5 2 1 0
python3 - "$TMP/a.json" "$TMP/b.json" <<'PY' || exit 1
import json, sys
sys.path.insert(0, __import__("os").environ.get("E2E", "."))
a, b = (json.load(open(p)) for p in sys.argv[1:3])
errors = []
for r in (a, b):
    if r["lost_events"]:
        errors.append("lost events %d" % r["lost_events"])
# b - a: 5003 more malloc(48)/free in main, 4 x 5003 more malloc(24)/free in
# threads: 50,030 events, more than the 2 MiB ring holds, so events are
# lost unless memtrace keeps draining until the last thread is gone.
d_allocs = 5003 + 4 * 5003
d_bytes = 5003 * 48 + 4 * 5003 * 24
exp = {"allocs": d_allocs, "frees": d_allocs, "alloc_bytes": d_bytes, "free_bytes": d_bytes,
       "live_objects": 0, "live_bytes": 0, "failed_allocs": 0}
for k, v in exp.items():
    got = b["totals"][k] - a["totals"][k]
    if got != v:
        errors.append("delta totals.%s: got %d, expected %d" % (k, got, v))
for k in set(a["calls"]) | set(b["calls"]):
    want = {"malloc": d_allocs, "free": d_allocs}.get(k, 0)
    got = b["calls"].get(k, 0) - a["calls"].get(k, 0)
    if k == "free":
        got -= b["totals"]["untracked_frees"] - a["totals"]["untracked_frees"]
    if got != want:
        errors.append("delta calls.%s: got %d, expected %d" % (k, got, want))
for r in (a, b):
    leaks = {}
    for l in r["leaks"]:
        f = l["stack"][0]["func"] if l["stack"] else None
        o, n = leaks.get(f, (0, 0))
        leaks[f] = (o + l["objects"], n + l["bytes"])
    for f, want in {"wl_thread_leak": (4, 288), "wl_leak_small": (5, 500), "wl_leak_calloc": (2, 8192)}.items():
        if leaks.get(f) != want:
            errors.append("leaks in %s: got %s, expected %s" % (f, leaks.get(f), want))
for e in errors:
    print("mismatch:", e)
sys.exit(1 if errors else 0)
PY
echo "threads ${mode:-joined}: deltas and per-function leaks exact"
done
