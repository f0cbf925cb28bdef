#!/usr/bin/env bash
# --reachability: wl_reach's blocks reachable from a global, from main's
# stack frame, through a heap chain, and orphaned (a ring whose pointers
# were dropped) are each classified right, exactly per function; in launch
# mode (scanned at the exit stop) and attach mode (every thread paused for
# the scan, then let go: the target runs on and exits cleanly).
. "$(dirname "$0")/lib.sh"
need_bpf
args=(7 11 13 17)

# check REPORT.json GLOBAL STACK CHAIN ORPHAN: the split per function.
check() {
	python3 - "$@" <<'PY'
import json
import sys


def expected(g, s, c, o):
    """function -> (lost objects, lost bytes, reachable objects, reachable bytes)"""
    exp = {}
    if g:
        exp["wl_from_global"] = (0, 0, g, 40 * g)
    if s:
        exp["wl_from_stack"] = (0, 0, s, 56 * s)
    if c:
        exp["wl_chain_root"] = (0, 0, 1, 24)
        exp["wl_chain_node"] = (0, 0, c, 72 * c)
    if o:
        exp["wl_orphan"] = (o, 88 * o, 0, 0)
    return exp


def main():
    path = sys.argv[1]
    g, s, c, o = (int(x) for x in sys.argv[2:6])
    with open(path) as f:
        report = json.load(f)
    exp = expected(g, s, c, o)
    got = {}
    errors = []
    for leak in report["leaks"]:
        func = leak["stack"][0]["func"] if leak["stack"] else None
        if func not in exp:
            continue
        fields = ("lost_objects", "lost_bytes", "reachable_objects", "reachable_bytes")
        if any(k not in leak for k in fields):
            errors.append("leak entry of %s lacks the reachability fields" % func)
            continue
        v = tuple(leak[k] for k in fields)
        if v[0] + v[2] != leak["objects"] or v[1] + v[3] != leak["bytes"]:
            errors.append("%s: lost + reachable %s != objects/bytes %d/%d"
                          % (func, v, leak["objects"], leak["bytes"]))
        got[func] = tuple(a + b for a, b in zip(got.get(func, (0, 0, 0, 0)), v))
    if got != exp:
        errors.append("by function (lost objs, lost bytes, reachable objs, reachable bytes):\n"
                      "  got      %s\n  expected %s" % (sorted(got.items()), sorted(exp.items())))
    ls = report["leak_summary"]
    if ls.get("lost_bytes", -1) + ls.get("reachable_bytes", -1) != ls["bytes"]:
        errors.append("leak_summary split does not add up: %s" % ls)
    r = report.get("reachability")
    if not r or r["blocks"] < sum(v[0] + v[2] for v in exp.values()) or r["pause_ms"] <= 0:
        errors.append("reachability section: %s" % r)
    for e in errors:
        print("mismatch:", e)
    if not errors:
        print("reach: %s; paused %.2f ms" % (sorted(got.items()), r["pause_ms"]))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
PY
}

# Launch mode: the scan at exit is the default; the text (-o) lists
# definitely lost and still reachable blocks apart.
"$MT" --no-vm --json "$TMP/l.json" -o "$TMP/l.out" -- "$WL/wl_reach" "${args[@]}" \
	>/dev/null 2>"$TMP/l.err" || fail "memtrace exited $?: $(cat "$TMP/l.err")"
# (exact bytes per function are check's; here the two lists' heads)
grep -q "^definitely lost: .* in ${args[3]} objects at 1 stack" "$TMP/l.out" ||
	fail "no definitely lost list: $(grep -A1 'leak candidates' "$TMP/l.out")"
grep -q "^still reachable: .* in $((args[0] + args[1] + (args[2] > 0) + args[2])) objects at 4 stacks" "$TMP/l.out" ||
	fail "no still reachable list: $(grep '^still reachable' "$TMP/l.out")"
awk '/^definitely lost/ { d = 1 } /^still reachable/ { d = 0 } d && /wl_from_global|wl_from_stack|wl_chain/ { exit 1 }' "$TMP/l.out" ||
	fail "a reachable block is listed as definitely lost"
grep -q "^reachability: target paused" "$TMP/l.out" || fail "no reachability line in the text"
check "$TMP/l.json" "${args[@]}" || fail "launch mode"
# --no-reachability: no scan, every live block a leak.
"$MT" --no-vm --no-reachability --json "$TMP/n.json" -- "$WL/wl_reach" "${args[@]}" \
	>"$TMP/n.out" 2>"$TMP/n.err" || fail "memtrace --no-reachability exited $?: $(cat "$TMP/n.err")"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert "reachability" not in r, "scanned"; assert r["leak_summary"]["objects"] == int(sys.argv[2]), r["leak_summary"]' \
	"$TMP/n.json" $((args[0] + args[1] + (args[2] > 0) + args[2] + args[3])) || fail "--no-reachability"

# Attach mode: allocations made while attached, scan at Ctrl-C.
"$WL/wl_reach" --attach "${args[@]}" >"$TMP/wl.out" &
wl=$!
CLEANUP_PIDS+=("$wl")
wait_for "$TMP/wl.out" '^ready' || fail "workload did not start"
"$MT" -p "$wl" --max-overhead off --no-vm --min-age 0 --reachability --json "$TMP/a.json" >"$TMP/a.out" 2>"$TMP/a.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/a.err" 'attached to PID' || fail "memtrace did not attach"
kill -USR1 "$wl"
wait_for "$TMP/wl.out" '^done' || fail "workload did not finish"
kill -INT "$mt"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/a.err")"
check "$TMP/a.json" "${args[@]}" || fail "attach mode"
state=$(awk '{print $3}' "/proc/$wl/stat" 2>/dev/null) || state=gone
[ "$state" = S ] || fail "the target is not running on after the scan (state '$state')"
grep -q TracerPid:.0 "/proc/$wl/status" || fail "the target is still traced"
kill -TERM "$wl"
wait "$wl" || fail "the target did not exit cleanly after the scan (status $?)"
echo "pass"
