#!/usr/bin/env bash
# The overhead budget on a Go target (issue 12 for issue 15's heap):
# attached with the defaults to a pure Go program making millions of
# mallocgc calls a second (tests/e2e/go/busy: newHot ten times for each
# newCold), memtrace arms the mallocgc probe in windows only: the report's
# go section is labelled estimated with traced_fraction < 1, the probe's
# hits are far fewer than the program's own allocations (runtime Mallocs
# between two marks, both inside the attach), and newHot is still the
# busiest site, ten times newCold. With --max-overhead off every call is
# counted (exact, no estimate; t37 checks its counts against a program's).
. "$(dirname "$0")/lib.sh"
need_bpf
. "$E2E/go/build.sh"
mapfile -t gos < <(go_toolchains)
[ ${#gos[@]} -gt 0 ] || skip "no Go toolchain installed (tools/install-deps.sh installs golang-go)"
go_build "${gos[${#gos[@]} - 1]}" busy "$TMP/busy" || fail "build"

# run NAME [memtrace options]: attach to a fresh busy, mark, 3 s, report,
# detach; leaves $TMP/NAME.{json,txt,err,out}
run() {
	local n=$1 wl mt
	shift
	rm -f "$TMP/m1" "$TMP/m2" "$TMP/m3"
	mkfifo "$TMP/m1" "$TMP/m2" "$TMP/m3"
	"$TMP/busy" "$TMP/m1" "$TMP/m2" "$TMP/m3" >"$TMP/$n.out" 2>&1 &
	wl=$!
	CLEANUP_PIDS+=("$wl")
	wait_for "$TMP/$n.out" '^ready' || fail "$n: busy did not start"
	"$MT" -p "$wl" --no-vm --json "$TMP/$n.json" -o "$TMP/$n.txt" "$@" 2>"$TMP/$n.err" &
	mt=$!
	CLEANUP_PIDS+=("$mt")
	wait_for "$TMP/$n.err" 'attached to PID' || fail "$n: no attach: $(cat "$TMP/$n.err")"
	sleep 1
	: >"$TMP/m1"
	wait_for "$TMP/$n.out" '^marked' || fail "$n: no mark"
	sleep 3
	: >"$TMP/m2"
	wait_for "$TMP/$n.out" '^seconds' || fail "$n: no count"
	kill -INT "$mt"
	wait "$mt" || fail "$n: memtrace exited $?: $(cat "$TMP/$n.err")"
	alive "$wl" || fail "$n: busy died with memtrace"
	: >"$TMP/m3"
	wait "$wl" || fail "$n: busy exited $? after the detach: $(cat "$TMP/$n.out")"
}

run def
grep -q 'budget: .* runtime.mallocgc calls/s would cost .*: runtime.mallocgc probe armed .* counts are estimates; --max-overhead off traces every call' "$TMP/def.err" ||
	bad "no guidance line on attach: $(cat "$TMP/def.err")"
grep -q '(estimated) overhead budget: runtime.mallocgc probed' "$TMP/def.txt" ||
	bad "the text report's Go section is not labelled estimated"
python3 - "$TMP/def.json" "$TMP/def.out" <<'PY' || bad "budgeted report ($(cat "$TMP/def.err"))"
import json, re, sys
r = json.load(open(sys.argv[1]))
mallocs = int(re.search(r"^mallocs (\d+)", open(sys.argv[2]).read(), re.M).group(1))
g, b = r["go"], r.get("budget") or {}
err = []
if b.get("mode") != "budgeted" or (b.get("extra") or {}).get("probe") != "runtime.mallocgc":
    err.append("budget %s, extra %s" % (b.get("mode"), b.get("extra")))
if g.get("estimated") is not True or not 0 < g.get("traced_fraction", 1) < 1:
    err.append("go: estimated %s, traced_fraction %s" % (g.get("estimated"), g.get("traced_fraction")))
# the probe's hits over the whole attach against the program's own
# allocations in 3 s of it: far fewer (a full trace counts them all)
hits = (b.get("extra") or {}).get("hits", 0)
if not g["counted_allocs"] or g["counted_allocs"] > hits or hits * 10 > mallocs:
    err.append("%d calls counted, %d probe hits, the program made %d" % (g["counted_allocs"], hits, mallocs))
if abs(g["allocs"] * g["traced_fraction"] - g["counted_allocs"]) > 0.01 * g["counted_allocs"] + 1:
    err.append("allocs %d is not counted %d / traced_fraction %g" % (g["allocs"], g["counted_allocs"], g["traced_fraction"]))
s = g["sites"]
if not s or s[0]["function"] != "main.newHot" or s[0]["type"] != "*main.Hot" or "counted_allocs" not in s[0]:
    err.append("busiest site %s" % [(x["function"], x["type"]) for x in s[:3]])
else:
    cold = sum(x["allocs"] for x in s if x["function"] == "main.newCold")
    if not cold or not 7 <= s[0]["allocs"] / cold <= 14:
        err.append("newHot %d against newCold %d: not ten to one" % (s[0]["allocs"], cold))
for e in err:
    print("mismatch:", e)
if not err:
    print("budgeted: %d of %d allocations probed (traced %.1f%%), newHot/newCold %.1f" % (
        hits, mallocs, 100 * g["traced_fraction"], s[0]["allocs"] / cold))
sys.exit(1 if err else 0)
PY

run off --max-overhead off
python3 - "$TMP/off.json" <<'PY' || bad "--max-overhead off report ($(cat "$TMP/off.err"))"
import json, sys
r = json.load(open(sys.argv[1]))
g = r["go"]
err = []
if r.get("budget") is not None:
    err.append("a budget section with --max-overhead off")
if g.get("estimated") is not False or g.get("traced_fraction") != 1 or g["allocs"] != g["counted_allocs"]:
    err.append("estimated %s, fraction %s, allocs %s, counted %s" % (g.get("estimated"),
               g.get("traced_fraction"), g["allocs"], g.get("counted_allocs")))
if any("counted_allocs" in s for s in g["sites"]):
    err.append("exact sites carry counted_allocs")
for e in err:
    print("mismatch:", e)
sys.exit(1 if err else 0)
PY
if grep -q '(estimated)' "$TMP/off.txt"; then bad "--max-overhead off: the text report says estimated"; fi
[ "$errors" -eq 0 ] || fail "$errors case(s) misbehaved"
echo pass
