#!/usr/bin/env bash
# A statically linked program: the executable itself provides malloc, and
# memtrace probes it there. Its C runtime allocates at start-up (static dl
# init), so exactness is checked by difference against a run of the same
# binary doing nothing: the difference must be exactly the workload's calls.
. "$(dirname "$0")/lib.sh"
need_bpf
bin=$WL/wl_exact_static
[ -x "$bin" ] || fail "$bin not built"
args=(23 17 13 7 5 11)
"$MT" --no-vm --json "$TMP/z.json" -- "$bin" 0 0 0 0 0 0 >/dev/null 2>"$TMP/err" || fail "memtrace exited $?: $(cat "$TMP/err")"
"$MT" --no-vm --json "$TMP/r.json" -- "$bin" "${args[@]}" >/dev/null 2>"$TMP/err" || fail "memtrace exited $?: $(cat "$TMP/err")"
PYTHONPATH=$E2E python3 - "$TMP/z.json" "$TMP/r.json" "$bin" "${args[@]}" <<'PY' || fail "static: counts not exact"
import json, sys
import exact
z, r = (json.load(open(p)) for p in sys.argv[1:3])
binary, params = sys.argv[3], [int(x) for x in sys.argv[4:]]
errors = []
for rep in (z, r):
    if rep["target"]["allocator"] != binary:
        errors.append("allocator %s, expected the executable %s" % (rep["target"]["allocator"], binary))
    if rep["lost_events"]:
        errors.append("lost events %d" % rep["lost_events"])
calls, totals, leaks = exact.expected("launch", *params)
calls0, totals0, _ = exact.expected("launch", 0, 0, 0, 0, 0, 0)
for k in calls:
    want = calls[k] - calls0.get(k, 0)
    got = r["calls"].get(k, 0) - z["calls"].get(k, 0)
    if got != want:
        errors.append("calls.%s: delta %d, expected %d" % (k, got, want))
for k in totals:
    want = totals[k] - totals0[k]
    got = r["totals"][k] - z["totals"][k]
    if got != want:
        errors.append("totals.%s: delta %d, expected %d" % (k, got, want))
got = {f: v for f, v in exact.leaks_by_function(r).items() if f and f.startswith("wl_")}
if got != leaks:
    errors.append("workload leaks %s, expected %s" % (got, leaks))
for e in errors:
    print("mismatch:", e)
if errors:
    sys.exit(1)
print("static: the executable is probed; the workload's calls are exact")
PY
