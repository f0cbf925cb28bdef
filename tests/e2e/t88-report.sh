#!/usr/bin/env bash
# memtrace report: a saved JSON report renders to the same pprof profile
# (go tool pprof -top for every sample type), the same folded stacks and
# the same text sites as the live run wrote; a report as older memtrace
# wrote it (version 1, top sites only, no "sort") still converts, its
# totals whole in pprof; --sort re-ranks; bad input gets one line. The
# text of a saved report shows its extension sections (memory, pools,
# pool errors, the analyses, modules, a Go program's go section, budget)
# with the JSON's numbers, bounded by --top; odd shapes render. No object
# of a report (heap, memory view, pools, Go) has a key twice.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v go >/dev/null || skip "go tool pprof needs golang-go (tools/install-deps.sh)"
export HOME=$TMP PPROF_TMPDIR=$TMP
args=(300 40 23 7 5 0)
"$MT" --no-vm --json "$TMP/r.json" --pprof "$TMP/live.pb.gz" --folded "$TMP/live.folded" \
	-- "$WL/wl_exact" "${args[@]}" >/dev/null 2>"$TMP/live.txt" || fail "memtrace exited $?: $(cat "$TMP/live.txt")"
"$MT" report "$TMP/r.json" --pprof "$TMP/conv.pb.gz" --folded "$TMP/conv.folded" --text -o "$TMP/conv.txt" \
	>"$TMP/out" 2>"$TMP/err" || fail "memtrace report exited $?: $(cat "$TMP/err")"
[ -s "$TMP/out" ] && fail "report -o FILE wrote to stdout: $(cat "$TMP/out")"
cmp -s "$TMP/live.folded" "$TMP/conv.folded" || fail "folded stacks differ: $(diff "$TMP/live.folded" "$TMP/conv.folded")"
for t in alloc_objects alloc_space inuse_objects inuse_space; do
	go tool pprof -top -sample_index=$t -unit=byte "$TMP/live.pb.gz" >"$TMP/live.$t" 2>/dev/null || fail "pprof live"
	go tool pprof -top -sample_index=$t -unit=byte "$TMP/conv.pb.gz" >"$TMP/conv.$t" 2>/dev/null || fail "pprof conv"
	grep -q "wl_leak_calloc" "$TMP/conv.$t" || fail "$t: no wl_leak_calloc in the converted profile"
	# a converted profile has no build-ids (the files here may not be the target's)
	sed -i '/^Build ID: /d' "$TMP/live.$t"
	cmp -s "$TMP/live.$t" "$TMP/conv.$t" || fail "$t: pprof -top differs: $(diff "$TMP/live.$t" "$TMP/conv.$t")"
done
# the text's sites, as the live run printed them
sites() { sed -n '/^top [0-9]* sites by/,/leak candidate/p' "$1"; }
[ -n "$(sites "$TMP/conv.txt")" ] || fail "no sites in the converted text: $(cat "$TMP/conv.txt")"
[ "$(sites "$TMP/live.txt")" = "$(sites "$TMP/conv.txt")" ] ||
	fail "text sites differ: $(diff <(sites "$TMP/live.txt") <(sites "$TMP/conv.txt"))"
grep -q "^allocs 420 " "$TMP/conv.txt" || fail "converted totals: $(head -3 "$TMP/conv.txt")"

# An older report: version 1, the top 2 sites only, no "sort".
python3 - "$TMP/r.json" "$TMP/old.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["sites"] = d["sites"][:2]
del d["sort"]
json.dump(d, open(sys.argv[2], "w"))
PY
"$MT" report "$TMP/old.json" --pprof "$TMP/old.pb.gz" >/dev/null 2>"$TMP/err" || fail "old report: $(cat "$TMP/err")"
go tool pprof -top -sample_index=alloc_objects "$TMP/old.pb.gz" >"$TMP/old.top" 2>/dev/null || fail "pprof old"
grep -q "of 420 total" "$TMP/old.top" || fail "old report: pprof total is not 420: $(cat "$TMP/old.top")"
grep -q "\[other sites\]" "$TMP/old.top" || fail "old report: no [other sites] sample"

# --json-sites 3 bounds the JSON's sites (largest live first); the profile
# converted from it is whole all the same
"$MT" --no-vm --json-sites 3 --json "$TMP/j3.json" -- "$WL/wl_exact" "${args[@]}" >/dev/null 2>"$TMP/err" ||
	fail "--json-sites: memtrace exited $?: $(cat "$TMP/err")"
python3 -c 'import json, sys; n = len(json.load(open(sys.argv[1]))["sites"]); sys.exit(n != 3)' "$TMP/j3.json" ||
	fail "--json-sites 3 did not list 3 sites"
"$MT" report "$TMP/j3.json" --pprof "$TMP/j3.pb.gz" >/dev/null 2>"$TMP/err" || fail "report of j3: $(cat "$TMP/err")"
go tool pprof -top -sample_index=alloc_space -unit=byte "$TMP/j3.pb.gz" >"$TMP/j3.top" 2>/dev/null || fail "pprof j3"
want=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["totals"]["alloc_bytes"])' "$TMP/j3.json")
grep -q "of ${want}B total" "$TMP/j3.top" || fail "j3: pprof total is not $want: $(head -8 "$TMP/j3.top")"

# --sort: the first site is the largest by the key
"$MT" report "$TMP/r.json" --sort alloc_bytes --top 1 >"$TMP/s.txt" 2>"$TMP/err" || fail "--sort: $(cat "$TMP/err")"
if python3 - "$TMP/r.json" "$TMP/s.txt" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
best = max(d["sites"], key=lambda s: s["alloc_bytes"])
text = open(sys.argv[2]).read()
assert "top 1 sites by bytes allocated:" in text, text
frame = best["stack"][0]["func"]
first = re.search(r"^top 1 sites by bytes allocated:\n.*\n +(\S+?)\+", text, re.M)
assert first and first.group(1) == frame, (first and first.group(1), frame)
PY
then :; else fail "--sort alloc_bytes: the first site is not the largest"; fi

# Extension sections in the text: a heading for every section the core
# text does not print, and the numbers of the JSON under it.
ext_check() {   # JSON TEXT: exit status of the check
	python3 - "$1" "$2" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
core = {"version", "target", "mode", "heap_traced", "duration_s", "min_age_s", "lost_events", "drops",
        "totals", "calls", "internal_calls", "rates", "untraced_children", "leak_summary", "leaks", "sites",
        "sort", "sampling"}
err = []
for k, v in d.items():
    head = re.search(r"^%s( \(\d+\))?:" % re.escape(k), text, re.M)
    if k in core and head and k not in ("calls", "rates"):   # the core's own lines say calls: and rates:
        err.append(f"core member {k} printed again")
    if k not in core and not head:
        err.append(f"no heading for section {k}")
    if isinstance(v, list) and v and head and head.group(1) != f" ({len(v)})":
        err.append(f"{k}: heading {head.group(0)!r}, {len(v)} entries")
def section(k):   # the section's text: its heading to the next one
    m = re.search(r"^%s\b.*?(?=^\S)" % re.escape(k), text, re.M | re.S)
    return m.group(0) if m else ""
if "memory" in d:
    m = d["memory"]
    for key in ("rss_peak_bytes", "rss_bytes", "page_faults"):
        if not re.search(r"^  %s: (.* \()?%d\)?$" % (key, m[key]), section("memory"), re.M):
            err.append(f"memory.{key} {m[key]} not in the text")
for i, p in enumerate(d.get("pools", [])[:10]):   # --top 10
    rec = re.search(r"^  #%d (.*?)(?=^  #|\Z)" % (i + 1), section("pools"), re.M | re.S)
    rec = rec.group(1) if rec else ""
    for key in ("name", "gets", "puts", "checked_out", "idle"):
        if f"{key}: {p[key]}," not in rec:
            err.append(f"pool #{i + 1}: {key} {p[key]} not in its record: {rec[:300]!r}")
for e in (d.get("pool_events") or {}).get("errors") or []:
    if e["error"] not in section("pool_events") or e["pool"] not in section("pool_events"):
        err.append(f"pool error {e['error']} of {e['pool']} not shown")
g = d.get("go")
if g:
    go = section("go")
    for key in ("allocs", "unsited"):
        if f"\n  {key}: {g[key]}\n" not in go:
            err.append(f"go.{key} {g[key]} not in the text")
    if f"\n    cycles: {g['gc']['cycles']}\n" not in go or f"\n    num_gc: {g['memstats']['num_gc']}\n" not in go:
        err.append(f"go: gc cycles {g['gc']['cycles']} or num_gc {g['memstats']['num_gc']} not in the text")
    t = g["types"][0]
    if not re.search(r"#1 type: %s, allocs: %d," % (re.escape(t["type"] or "-"), t["allocs"]), go):
        err.append(f"go: the first type {t['type']} with {t['allocs']} allocs not in the text")
    if f"main.newTemp main.go:" not in go:
        err.append("go: no frame main.newTemp main.go:LINE in the sites' stacks")
if err:
    print("\n".join(err[:10]))
    sys.exit(1)
PY
}
"$MT" --json "$TMP/p.json" -- "$WL/wl_pool" leak double >/dev/null 2>"$TMP/err" || fail "wl_pool: $(cat "$TMP/err")"
"$MT" report "$TMP/p.json" --text -o "$TMP/p.txt" 2>"$TMP/err" || fail "report --text: $(cat "$TMP/err")"
ext_check "$TMP/p.json" "$TMP/p.txt" || fail "the pools report's text lacks its sections"
python3 -c 'import json, sys; sys.exit(not json.load(open(sys.argv[1]))["pools"])' "$TMP/p.json" ||
	fail "no pools in the wl_pool report"
# --top bounds every list: the pools' too
"$MT" report "$TMP/p.json" --text --top 2 >"$TMP/p2.txt" 2>"$TMP/err" || fail "report --top 2: $(cat "$TMP/err")"
n=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["pools"]))' "$TMP/p.json")
sed -n '/^pools (/,/^[a-z]/p' "$TMP/p2.txt" | grep -q "^  \.\.\. $((n - 2)) more$" ||
	fail "--top 2: no '... $((n - 2)) more' under the $n pools: $(sed -n '/^pools (/,/^[a-z]/p' "$TMP/p2.txt" | head -20)"
# A Go program (tests/e2e/go/surv: GC cycles, mallocgc types and sites)
. "$E2E/go/build.sh"
go_build "$(command -v go)" surv "$TMP/surv" || fail "build"
"$MT" --no-vm --json "$TMP/go.json" -- "$TMP/surv" 1 >/dev/null 2>"$TMP/err" || fail "surv: $(cat "$TMP/err")"
"$MT" report "$TMP/go.json" >"$TMP/go.txt" 2>"$TMP/err" || fail "report of go.json: $(cat "$TMP/err")"
json_no_dup_keys "$TMP"/{r,p,go}.json || fail "an object of a report has a key twice"
ext_check "$TMP/go.json" "$TMP/go.txt" || fail "the Go report's text lacks its go section"
# A budgeted trace stays labelled; its section is shown. Shapes no writer
# makes render (exit 0, no control character through).
python3 - "$TMP/r.json" "$TMP/odd.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["budget"] = {"mode": "budgeted", "estimated": True, "traced_fraction": 0.25, "windows": 3}
d["zz_new"] = {"a": [[1, [2, {}]], {"stack": {"x": 1}}, None, True, -1.5e300], "esc": "s\u001b[2J",
               "stack": [1, {"pc": 5}, {}], "deep": [[[[[[{"k": [[]]}]]]]]], "e": {}, "n": []}
json.dump(d, open(sys.argv[2], "w"))
PY
"$MT" report "$TMP/odd.json" --text --top 1 >"$TMP/odd.txt" 2>"$TMP/err" || fail "report of odd shapes: $(cat "$TMP/err")"
grep -q "^(estimated) overhead budget: allocator probes armed 25.00% of the time" "$TMP/odd.txt" ||
	fail "a budgeted report's text is not labelled: $(head -3 "$TMP/odd.txt")"
grep -q "^  traced_fraction: 0.25$" "$TMP/odd.txt" || fail "no budget section: $(cat "$TMP/odd.txt")"
grep -q "^zz_new:" "$TMP/odd.txt" || fail "a section newer than the reader is not shown"
"$MT" report "$TMP/odd.json" --pprof "$TMP/odd.pb.gz" 2>"$TMP/err" || fail "report --pprof: $(cat "$TMP/err")"
go tool pprof -comments "$TMP/odd.pb.gz" 2>/dev/null | grep -q "overhead budget: estimates" ||
	fail "the profile of a budgeted report does not say its counts are estimates"
grep -q $'\033' "$TMP/odd.txt" && fail "a control character reached the text"

# Bad input: one line, exit 1 (unreadable) or 2 (usage).
expect() {
	local want=$1 re=$2 rc=0; shift 2
	"$MT" report "$@" >/dev/null 2>"$TMP/bad" || rc=$?
	[ $rc -eq "$want" ] || fail "report $*: exit $rc, expected $want: $(cat "$TMP/bad")"
	[ "$(wc -l <"$TMP/bad")" -eq 1 ] && grep -Eq "$re" "$TMP/bad" || fail "report $*: $(cat "$TMP/bad")"
}
sed 's/"version": 1,/"version": 99,/' "$TMP/r.json" >"$TMP/v99.json"
expect 1 "version 99 report" "$TMP/v99.json"
expect 1 "cannot read '$TMP/none.json'" "$TMP/none.json"
head -c 100 "$TMP/r.json" >"$TMP/cut.json"
expect 1 "cannot read '$TMP/cut.json'" "$TMP/cut.json"
expect 2 "no report given"
expect 2 "invalid --sort 'x'" --sort x "$TMP/r.json"
expect 1 "cannot write '/nonexistent/p'" --pprof /nonexistent/p "$TMP/r.json"
echo "ok: report"
