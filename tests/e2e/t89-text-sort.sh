#!/usr/bin/env bash
# Where the text report goes and how sites are ranked. Launch mode: the
# program's stdout holds only its own output, the periodic and final
# reports are on stderr; -o FILE takes them instead. --sort ranks the sites
# of the text and of the JSON by the key (checked against the JSON's own
# counters), growth by the trend's slope the JSON carries.
. "$(dirname "$0")/lib.sh"
need_bpf
"$MT" --no-vm -i 0.3 -- "$WL/mt_demo" 1 >"$TMP/out" 2>"$TMP/err" || fail "memtrace exited $?: $(cat "$TMP/err")"
grep -q "^mt_demo: handled [0-9]* requests" "$TMP/out" || fail "the program's own line is missing: $(cat "$TMP/out")"
[ "$(wc -l <"$TMP/out")" -eq 1 ] || fail "the program's stdout holds more than its line: $(cat "$TMP/out")"
[ "$(grep -c '^allocs [0-9]' "$TMP/err")" -ge 2 ] || fail "periodic and final reports are not on stderr: $(cat "$TMP/err")"
grep -q "final report" "$TMP/err" || fail "no final report on stderr"

"$MT" --no-vm -i 0.3 -o "$TMP/text" -- "$WL/mt_demo" 1 >"$TMP/out" 2>"$TMP/err" || fail "-o: memtrace exited $?: $(cat "$TMP/err")"
grep -q "final report" "$TMP/text" || fail "-o: no final report in the file"
grep -q "^allocs \|final report\|^top " "$TMP/out" "$TMP/err" && fail "-o: report text outside the file"
rc=0
"$MT" -o /nonexistent/t -- true >/dev/null 2>"$TMP/bad" || rc=$?
[ $rc -ne 0 ] && grep -q "cannot write '/nonexistent/t'" "$TMP/bad" || fail "-o unwritable: exit $rc: $(cat "$TMP/bad")"

# --sort: JSON and text agree, in the key's order
for key in alloc_bytes allocs live_bytes rate; do
	"$MT" --no-vm --top 3 --sort $key --json "$TMP/$key.json" -- "$WL/wl_exact" 300 40 23 7 5 0 \
		>/dev/null 2>"$TMP/$key.txt" || fail "--sort $key: exit $?: $(cat "$TMP/$key.txt")"
done
"$MT" --no-vm --top 3 --sort growth --json "$TMP/growth.json" -- "$WL/mt_demo" 6 \
	>/dev/null 2>"$TMP/growth.txt" || fail "--sort growth: exit $?: $(cat "$TMP/growth.txt")"
python3 - "$TMP" <<'PY' || fail "--sort order"
import json, re, sys
tmp = sys.argv[1]
field = {"alloc_bytes": "alloc_bytes", "allocs": "allocs", "live_bytes": "live_bytes",
         "rate": "allocs"}   # no -i: the rate is over the run, the order of allocs
title = {"alloc_bytes": "bytes allocated", "allocs": "allocations", "live_bytes": "live bytes",
         "rate": "allocation rate", "growth": "growth"}
for key in list(field) + ["growth"]:
    d = json.load(open(f"{tmp}/{key}.json"))
    assert d["sort"] == key, (key, d["sort"])
    if key == "growth":
        v = [s["trend"]["slope_bytes_per_s"] if s.get("trend") else 0 for s in d["sites"]]
        assert any(x > 0 for x in v), f"growth: no growing site: {v}"
    else:
        v = [s[field[key]] for s in d["sites"]]
    assert v == sorted(v, reverse=True), f"{key}: JSON sites not in order: {v}"
    assert len(d["sites"]) > 3, f"{key}: --top bounded the JSON"
    text = open(f"{tmp}/{key}.txt").read()
    m = re.search(rf"^top 3 sites by {title[key]}:\n((?:  .*\n)+)", text, re.M)
    assert m, f"{key}: no 'top 3 sites by {title[key]}' in the text"
    firsts = re.findall(r"^  #\d+ .*\n +(\S+?)\+", m.group(1), re.M)
    want = [s["stack"][0]["func"] for s in d["sites"][:3]]
    assert firsts == want, f"{key}: text ranks {firsts}, JSON {want}"
    print(f"ok: --sort {key}: {firsts}")
PY
echo "ok: text and sort"
