#!/usr/bin/env bash
# memtrace diff: two launch-mode runs of wl_exact with different arguments;
# totals deltas and per-site deltas (matched by symbolized stack, the runs
# at different addresses) equal what the argument difference predicts.
# Corrupt, truncated and other-version inputs: one clear line, exit 1.
. "$(dirname "$0")/lib.sh"
need_bpf
A=(23 17 13 7 5 11)
B=(29 19 31 2 3 13)
for run in A B; do
	eval "args=(\"\${$run[@]}\")"
	"$MT" --no-vm --top 100 --json "$TMP/$run.json" -- "$WL/wl_exact" "${args[@]}" \
		>/dev/null 2>"$TMP/$run.err" || fail "memtrace exited $?: $(cat "$TMP/$run.err")"
done
"$MT" diff --json "$TMP/d.json" "$TMP/A.json" "$TMP/B.json" >"$TMP/d.txt" 2>"$TMP/d.err" ||
	fail "diff exited $?: $(cat "$TMP/d.err")"
grep -q "^  allocs " "$TMP/d.txt" || fail "no totals table: $(cat "$TMP/d.txt")"
grep -q "wl_leak_calloc" "$TMP/d.txt" || fail "no site deltas in the text: $(cat "$TMP/d.txt")"
python3 - "$E2E" "$TMP/d.json" "${A[*]}" "${B[*]}" <<'PY' || fail "diff numbers"
import json, sys
sys.path.insert(0, sys.argv[1])
from exact import expected, ROUND_ALLOCS
d = json.load(open(sys.argv[2]))
a = [int(x) for x in sys.argv[3].split()]
b = [int(x) for x in sys.argv[4].split()]
_, ta, la = expected("launch", *a)
_, tb, lb = expected("launch", *b)
err = []
for k in ("allocs", "frees", "alloc_bytes", "free_bytes", "live_objects", "live_bytes"):
    t = d["totals"][k]
    if (t["a"], t["b"], t["delta"]) != (ta[k], tb[k], tb[k] - ta[k]):
        err.append("totals.%s: %s, expected a %d b %d" % (k, t, ta[k], tb[k]))
# Per innermost function: (allocs, alloc_bytes, leak_objects, leak_bytes) per unit of
# the argument that drives it (index into the argument list).
unit = {"wl_pre_alloc": (5, 1, 32, 0, 0), "wl_churn": (0, 1, 48, 0, 0),
        "wl_window": (1, 1, 64, 0, 0), "wl_leak_small": (2, 1, 100, 1, 100),
        "wl_leak_calloc": (3, 1, 4096, 1, 4096), "wl_entry_points": (4, len(ROUND_ALLOCS), sum(ROUND_ALLOCS), 0, 0)}
got = {}
for s in d["sites"]:
    if not s["stack"]:
        continue
    f = s["stack"][0]["func"]
    if f not in unit:
        continue
    g = got.setdefault(f, [0, 0, 0, 0])
    for i, k in enumerate(("allocs", "alloc_bytes", "leak_objects", "leak_bytes")):
        g[i] += s["delta"][k]
    if s["a"] is None or s["b"] is None:
        err.append("%s matched in one run only: stacks not matched across runs" % f)
for f, (arg, n, nb, lo, lbytes) in unit.items():
    diff = b[arg] - a[arg]
    exp = [n * diff, nb * diff, lo * diff, lbytes * diff]
    if got.get(f) != exp:
        err.append("%s: delta %s, expected %s" % (f, got.get(f), exp))
for e in err:
    print("mismatch:", e)
if not err:
    print("diff: totals and %d functions' deltas match" % len(unit))
sys.exit(1 if err else 0)
PY

# Bad inputs: exit 1 and one line naming the file and the problem.
bad() {  # bad NAME PATTERN
	local rc=0
	"$MT" diff "$TMP/A.json" "$TMP/$1" >"$TMP/bad.out" 2>"$TMP/bad.err" || rc=$?
	[ $rc -eq 1 ] || fail "$1: exit $rc, expected 1"
	[ "$(wc -l <"$TMP/bad.err")" -eq 1 ] || fail "$1: not one line: $(cat "$TMP/bad.err")"
	grep -q "^memtrace: .*$1.*$2" "$TMP/bad.err" || fail "$1: unclear error: $(cat "$TMP/bad.err")"
	[ -s "$TMP/bad.out" ] && fail "$1: output despite the error"
	return 0
}
head -c "$(($(wc -c <"$TMP/B.json") / 2))" "$TMP/B.json" >"$TMP/trunc.json"
bad trunc.json "line 1, column [0-9]*: unexpected end of input"
sed 's/"totals": {/"totals": {{/' "$TMP/B.json" >"$TMP/corrupt.json"
bad corrupt.json "line 1, column [0-9]*: expected a string key"
sed 's/^{"version": 1,/{"version": 2,/' "$TMP/B.json" >"$TMP/v2.json"
bad v2.json "version 2 report; this memtrace reads version 1"
echo '{"hello": "world"}' >"$TMP/other.json"
bad other.json 'not a memtrace report'
: >"$TMP/empty.json"
bad empty.json 'empty'
"$MT" diff "$TMP/A.json" "$TMP" >/dev/null 2>"$TMP/dir.err" && fail "a directory was read as a report"
grep -q "Is a directory" "$TMP/dir.err" || fail "directory: unclear error: $(cat "$TMP/dir.err")"

# A site that changed only in a field the ranking ignores is still listed,
# and a frame nested past what reports contain still gives valid JSON.
python3 - "$TMP/A.json" "$TMP/peak.json" "$TMP/deep.json" <<'PY' || fail "cannot write the edited reports"
import json, sys
r = json.load(open(sys.argv[1]))
r["sites"][-1]["peak_live_bytes"] += 1
json.dump(r, open(sys.argv[2], "w"))
r = json.load(open(sys.argv[1]))
deep = []
for _ in range(40):
    deep = [deep]
r["sites"][0]["stack"][0]["extra"] = deep
json.dump(r, open(sys.argv[3], "w"))
PY
"$MT" diff "$TMP/A.json" "$TMP/peak.json" >"$TMP/peak.out" 2>&1 || fail "peak-only change: exit $?"
grep -q "1 changed" "$TMP/peak.out" || fail "peak-only change not counted: $(cat "$TMP/peak.out")"
grep -q "^  #[0-9]" "$TMP/peak.out" || fail "peak-only change not listed: $(cat "$TMP/peak.out")"
"$MT" diff --json "$TMP/deep.out.json" "$TMP/A.json" "$TMP/deep.json" >/dev/null 2>"$TMP/deep.err" ||
	fail "deep frame: exit $?: $(cat "$TMP/deep.err")"
python3 -m json.tool "$TMP/deep.out.json" >/dev/null || fail "deep frame: invalid JSON written"

rc=0
"$MT" diff "$TMP/A.json" >/dev/null 2>"$TMP/u.err" || rc=$?
[ $rc -eq 2 ] || fail "one report: exit $rc, expected usage exit 2"
echo pass
