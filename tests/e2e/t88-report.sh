#!/usr/bin/env bash
# memtrace report: a saved JSON report renders to the same pprof profile
# (go tool pprof -top for every sample type), the same folded stacks and
# the same text sites as the live run wrote; a report as older memtrace
# wrote it (version 1, top sites only, no "sort") still converts, its
# totals whole in pprof; --sort re-ranks; bad input gets one line.
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
