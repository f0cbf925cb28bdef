#!/usr/bin/env bash
# --html: the report a person opens in a browser, checked in Debian's
# headless Chromium driven through chromedriver (tests/e2e/html_check.py):
# mt_demo traced with its planted leak (format_headers); the page loads
# with every network request refused, logs no console error, draws the
# flame graph and the tables (screenshots in build/tests/artifacts/t84-html),
# shows the leak site in its leak table and a single mapping's address
# range in the memory section, zooms on a click, switches weight
# (the flame graph's total is the report's for each), and marks search hits.
# The file names no http(s) URL. `memtrace report A.json --html` writes the
# same page from the saved JSON; `--html -` in attach mode sends the text
# to stderr, not into the page. Escaping: a report whose names hold
# markup, quotes, '&' and "</script>" shows them verbatim and creates no
# element. Extension sections: a libmtpool program's page shows each pool
# (its name and gets in one row) and the debug-mode error; a Go program's
# page (tests/e2e/go/surv, one toolchain) shows the Go section: the
# mallocgc types (the type's row with its allocations), sites, MemStats,
# and the heap-per-GC-cycle chart; a pool named with markup shows as text.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v chromium >/dev/null || skip "chromium not installed (tools/install-deps.sh)"
command -v chromedriver >/dev/null || skip "chromedriver not installed (chromium-driver, tools/install-deps.sh)"
command -v go >/dev/null || skip "the Go page needs golang-go (tools/install-deps.sh)"
ART=$MT_BUILD/tests/artifacts/t84-html
rm -rf "$ART"
mkdir -p "$ART"

"$MT" --top 3 --json "$TMP/r.json" --html "$TMP/r.html" -- "$WL/mt_demo" 2 >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
cp "$TMP/r.html" "$ART/report.html"
if grep -Eno 'https?://[^"'"'"' ]*' "$TMP/r.html" >"$TMP/urls"; then
	fail "the page names URLs: $(head -3 "$TMP/urls")"
fi
"$MT" report "$TMP/r.json" --html "$TMP/r2.html" 2>"$TMP/err" || fail "memtrace report --html: $(cat "$TMP/err")"
cmp -s "$TMP/r.html" "$TMP/r2.html" || fail "memtrace report --html differs from the traced run's --html"

# Attach mode writes its text to stdout, unless a file output is there.
sleep 30 &
sp=$!
CLEANUP_PIDS+=("$sp")
"$MT" -d 1 --html - -p $sp >"$TMP/stdout.html" 2>"$TMP/err" || fail "--html -: exited $?: $(cat "$TMP/err")"
kill "$sp"
wait "$sp" 2>/dev/null || true   # killed: 143
head -c 15 "$TMP/stdout.html" | grep -q '^<!DOCTYPE html>' && [ "$(tail -n 1 "$TMP/stdout.html")" = "</html>" ] ||
	fail "--html - is not the page alone: $(head -c 200 "$TMP/stdout.html")"
grep -q "final report" "$TMP/err" || fail "--html -: the text report is not on stderr"

# The browser runs in its own process group, killed on exit whatever happens.
browse() {   # PAGE ARTIFACTS CHECKS
	setsid python3 "$E2E/html_check.py" "$@" &
	CLEANUP_PIDS+=("-$!")
	wait $!
}
python3 - "$TMP/r.json" "$TMP/checks.json" <<'PY' || fail "checks"
import json, sys
r = json.load(open(sys.argv[1]))
assert any(f.get("func") == "format_headers" for l in r["leaks"] for f in l["stack"]), "no leak at format_headers"
# the timeline the page charts: the heap's running totals at each point
tl = r["memory"]["timeline"]
assert len(tl) >= 2, f"{len(tl)} timeline points"
for a, b in zip(tl, tl[1:]):
    assert a["t_s"] <= b["t_s"] and a["allocs"] <= b["allocs"] and a["alloc_bytes"] <= b["alloc_bytes"] \
        and a["frees"] <= b["frees"], f"timeline totals go back: {a} {b}"
assert 0 < tl[-1]["allocs"] <= r["totals"]["allocs"], f"last point {tl[-1]['allocs']} allocs, totals {r['totals']}"
# a single mapping with a walked stack: its row shows its address range
walked = [m for m in r["memory"]["top_mappings"][:30] if m.get("stack_end")]
assert walked, f"no walked stack among the top mappings: {r['memory']['top_mappings'][:3]}"
json.dump({"leak_func": "format_headers", "zoom_func": "build_response", "totals": r["totals"],
           "text": [r["target"]["comm"]], "rows": [["memory", [walked[0]["start"], walked[0]["end"]]]]},
          open(sys.argv[2], "w"))
PY
json_no_dup_keys "$TMP/r.json" || fail "an object of the report has a key twice"
browse "$TMP/r.html" "$ART/traced" "$TMP/checks.json" || fail "the traced run's page"

# C++: demangled template names, as the symbolizer gives them; no kernel
# view, so no timeline (the page says so).
"$MT" --no-vm --json "$TMP/cxx.json" --html "$TMP/cxx.html" -- "$WL/wl_unwind_cxx" >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
cp "$TMP/cxx.html" "$ART/cxx.html"
python3 - "$TMP/cxx.json" "$TMP/checks-cxx.json" <<'PY' || fail "checks"
import json, sys
r = json.load(open(sys.argv[1]))
leak = "Chain<0>::run(unsigned long)"
assert any(f.get("func") == leak for l in r["leaks"] for f in l["stack"]), f"no leak at {leak}"
json.dump({"leak_func": leak, "zoom_func": "main", "totals": r["totals"],
           "text": ["Chain<5>::run(unsigned long)", "operator new(unsigned long)", "--no-vm"]},
          open(sys.argv[2], "w"))
PY
browse "$TMP/cxx.html" "$ART/cxx" "$TMP/checks-cxx.json" || fail "the C++ program's page"

# Names that are markup: the page must show them as text.
python3 - "$TMP/r.json" "$TMP/evil.json" "$TMP/checks-evil.json" <<'PY' || fail "crafting the report"
import json, sys
r = json.load(open(sys.argv[1]))
evil = "operator<< <std::map<int, char const*> >(a&b, \"q'x\") </script><img src=x onerror=alert(1)><!--<script>"
comm = "<b>c&amp;</b>"
r["target"]["comm"] = comm
leak = r["leaks"][0]
i = leak.get("attributed_frame") or 0
for e in r["leaks"] + r["sites"]:
    if e["site"] == leak["site"]:
        e["stack"][i]["func"] = evil
json.dump(r, open(sys.argv[2], "w"))
json.dump({"leak_func": evil, "zoom_func": "build_response", "totals": r["totals"],
           "text": [evil, comm]}, open(sys.argv[3], "w"))
PY
"$MT" report "$TMP/evil.json" --html "$TMP/evil.html" 2>"$TMP/err" || fail "memtrace report --html: $(cat "$TMP/err")"
cp "$TMP/evil.html" "$ART/escaping.html"
n=$(grep -oi '</script' "$TMP/evil.html" | wc -l)
[ "$n" -eq 2 ] || fail "$n '</script' in the page: the data ends its element"
browse "$TMP/evil.html" "$ART/escaping" "$TMP/checks-evil.json" || fail "the page of names holding markup"

# Pools (libmtpool, docs/pools.md): every pool's row shows its name and
# gets; the debug-mode double put is listed. A pool named with markup, as text.
"$MT" --json "$TMP/pool.json" --html "$TMP/pool.html" -- "$WL/wl_pool" leak double >/dev/null 2>"$TMP/err" ||
	fail "memtrace on wl_pool exited $?: $(cat "$TMP/err")"
cp "$TMP/pool.html" "$ART/pools.html"
python3 - "$TMP/pool.json" "$TMP/checks-pool.json" "$TMP/pool-evil.json" "$TMP/checks-pool-evil.json" <<'PY' ||
import json, sys
r = json.load(open(sys.argv[1]))
pools = r.get("pools") or []
assert pools and any(p["gets"] for p in pools), f"no pool with gets: {pools}"
errs = (r.get("pool_events") or {}).get("errors") or []
assert errs, "no pool error in the report (wl_pool double)"
json.dump({"sections": {"pools": [], "pool-events": [errs[0]["error"], errs[0]["pool"]]},
           "rows": [["pools", [p["name"], f"{p['gets']:,}"]] for p in pools],
           "text": [r["target"]["comm"]]}, open(sys.argv[2], "w"))
evil = "<img src=x onerror=alert(1)>&amp;</script>"
r["pools"][0]["name"] = evil
json.dump(r, open(sys.argv[3], "w"))
json.dump({"sections": {"pools": [evil]}, "rows": [["pools", [evil, f"{pools[0]['gets']:,}"]]]},
          open(sys.argv[4], "w"))
PY
	fail "the pools report: $(cat "$TMP/err")"
browse "$TMP/pool.html" "$ART/pools" "$TMP/checks-pool.json" || fail "the pools page"
"$MT" report "$TMP/pool-evil.json" --html "$TMP/pool-evil.html" 2>"$TMP/err" || fail "report --html: $(cat "$TMP/err")"
browse "$TMP/pool-evil.html" "$ART/pools-escaping" "$TMP/checks-pool-evil.json" || fail "a pool named with markup"

# Go: tests/e2e/go/surv (runtime.GC rounds: cycles with heap sizes, types
# with GC survival), built with the default toolchain.
. "$E2E/go/build.sh"
go_build "$(command -v go)" surv "$TMP/surv" || fail "build"
"$MT" --no-vm --json "$TMP/go.json" --html "$TMP/go.html" -- "$TMP/surv" 1 >/dev/null 2>"$TMP/err" ||
	fail "memtrace on the Go program exited $?: $(cat "$TMP/err")"
cp "$TMP/go.html" "$ART/go.html"
"$MT" report "$TMP/go.json" --html "$TMP/go2.html" 2>"$TMP/err" || fail "memtrace report --html: $(cat "$TMP/err")"
cmp -s "$TMP/go.html" "$TMP/go2.html" || fail "the Go page of memtrace report differs from the traced run's"
python3 - "$TMP/go.json" "$TMP/checks-go.json" <<'PY' || fail "the Go report"
import json, sys
g = json.load(open(sys.argv[1])).get("go") or {}
types = [t for t in g.get("types", []) if t["type"] == "*main.Temp"]
assert types, f"no *main.Temp among the mallocgc types: {[t['type'] for t in g.get('types', [])]}"
sites = [s for s in g["sites"] if s["type"] == "*main.Temp"]
assert sites, "no site of *main.Temp"
cycles = [p for p in (g.get("gc") or {}).get("pauses", []) if p["heap_end"] and p["goal"]]
assert len(cycles) >= 2, f"{len(cycles)} GC cycles with heap sizes"
json.dump({"sections": {"go": [g["version"]], "go-types": ["*main.Temp"], "go-sites": [sites[0]["function"]],
                        "go-memstats": ["HeapAlloc", "NumGC"], "go-gc": [f"{g['gc']['cycles']} GC cycles"]},
           "rows": [["go-types", ["*main.Temp", f"{types[0]['allocs']:,}"]],
                    ["go-sites", [sites[0]["function"], "*main.Temp", f"{sites[0]['allocs']:,}"]],
                    ["go-memstats", ["NumGC", str(g["memstats"]["num_gc"])]]],
           "charts": {"go-gc": 3}}, open(sys.argv[2], "w"))
PY
browse "$TMP/go.html" "$ART/go" "$TMP/checks-go.json" || fail "the Go program's page"
json_no_dup_keys "$TMP/go.json" || fail "an object of the Go report has a key twice"
echo "ok: html"
