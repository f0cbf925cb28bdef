#!/usr/bin/env bash
# Go GC survival per site (issue 15 item 4) on a program with known
# answers (tests/e2e/go/surv), for every Go toolchain installed: the
# objects of main.newTemp die at once (each replaces the last), those of
# main.newKept are all kept, so memtrace's share of sampled objects that
# died before their first GC must be near 1 for the one and near 0 for the
# other, per site and per type; the short-lived site gets the sync.Pool
# advice, the kept one none. A stripped build (-s -w, no DWARF: no span
# layout) has no survival and says why.
. "$(dirname "$0")/lib.sh"
need_bpf
. "$E2E/go/build.sh"
mapfile -t gos < <(go_toolchains)
[ ${#gos[@]} -gt 0 ] || skip "no Go toolchain installed (tools/install-deps.sh installs golang-go)"
# Each toolchain with forced GCs (runtime.GC() sweeps every span before
# it returns: the allocation bits are read), then the newest with the
# pacer's cycles (GOGC=5: spans swept lazily, the mark bits are read).
runs=()
for go in "${gos[@]}"; do
	runs+=("$go forced")
done
runs+=("${gos[-1]} auto")
for run in "${runs[@]}"; do
	go=${run% *}
	mode=${run#* }
	v="$("$go" env GOVERSION) $mode"
	b=$TMP/surv-${v% *}
	[ -x "$b" ] || go_build "$go" surv "$b" || fail "build"
	GOGC=5 "$MT" --no-vm --json "$TMP/r.json" -o "$TMP/r.txt" -- "$b" 0.8 "$mode" >"$TMP/out" 2>"$TMP/err" ||
		{ bad "$v: memtrace exited $?: $(cat "$TMP/err")"; continue; }
	python3 - "$TMP/r.json" "$v" <<'PY' || bad "$v: survival ($(grep -i surv "$TMP/err"))"
import json, sys
g = json.load(open(sys.argv[1])).get("go") or {}
err = []
sv = g.get("survival")
if not sv:
    sys.exit("no survival: %s" % g.get("survival_note"))
def one(where, items, key, name, lo, hi, least):
    # (one function can be several sites: stacks differ when the GC's
    # assist or the scheduler is on them)
    s = [x for x in items if x.get(key) == name]
    if not s:
        err.append("%s %s: no entry" % (where, name))
        return None
    n = sum(x["survival"]["sampled"] for x in s if x.get("survival"))
    kept = sum(x["survival"]["survived_one_gc"] for x in s if x.get("survival"))
    r = {"sampled": n, "survived_one_gc": kept, "fraction": (n - kept) / n} if n else None
    if not r or r["sampled"] < least or not lo <= r["fraction"] <= hi:
        err.append("%s %s: survival %s, want >= %d sampled and a died fraction in [%g, %g]" % (where, name, r, least, lo, hi))
    # the advice of its busiest site
    return dict(r or {}, advice=max(s, key=lambda x: x["allocs"]).get("advice"))
# (all within the first sampling window: one call in 32 per site)
t = one("site", g["sites"], "function", "main.newTemp", 0.9, 1.0, 50)
k = one("site", g["sites"], "function", "main.newKept", 0.0, 0.1, 20)
one("type", g["types"], "type", "*main.Temp", 0.9, 1.0, 50)
one("type", g["types"], "type", "*main.Kept", 0.0, 0.1, 20)
if t and "die before the next GC" not in (t["advice"] or ""):
    err.append("no short-lived sync.Pool advice for main.newTemp: %s" % t["advice"])
if k and k["advice"]:
    err.append("advice for the kept site: %s" % k["advice"])
if sv["decided"] + sv["expired"] + sv["not_heap"] + sv["pending"] + sv["lost"] != sv["samples"]:
    err.append("samples do not add up: %s" % sv)
for e in err:
    print("mismatch:", e)
if not err:
    print("%s: temp %s, kept %s; %s" % (sys.argv[2], {a: b for a, b in t.items() if a != "advice"},
                                        {a: b for a, b in k.items() if a != "advice"}, sv))
sys.exit(1 if err else 0)
PY
	grep -q "GC survival: 100% of .* sampled objects died before their first GC" "$TMP/r.txt" ||
		bad "$v: no survival line in the text report: $(grep -A3 'main.newTemp' "$TMP/r.txt")"
done
# Stripped: no DWARF, so no span layout: no survival, one line why.
go_build "${gos[-1]}" surv "$TMP/surv-sw" -ldflags=-s\ -w || fail "build stripped"
"$MT" --no-vm --json "$TMP/s.json" -o "$TMP/s.txt" -- "$TMP/surv-sw" 0.2 >"$TMP/out" 2>"$TMP/err" ||
	fail "stripped: memtrace exited $?: $(cat "$TMP/err")"
grep -q "Go GC survival not estimated: no runtime layout" "$TMP/err" || bad "stripped: no reason: $(cat "$TMP/err")"
python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["go"]
sys.exit(0 if g["survival"] is None and g["survival_note"] and
         not any("survival" in s for s in g["sites"]) else 1)' "$TMP/s.json" || bad "stripped: survival data without DWARF"
[ "$errors" -eq 0 ] || fail "$errors case(s) misbehaved"
