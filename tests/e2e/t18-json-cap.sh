#!/usr/bin/env bash
# The JSON report lists the largest leak stacks (--json-leaks, default
# 1000) and sums what it leaves out, so a report of 4096 leaked stacks stays
# small and its totals whole; `memtrace diff` says when a report it reads
# was capped.
. "$(dirname "$0")/lib.sh"
need_bpf
"$MT" --no-vm --min-age 0 --json "$TMP/r.json" -- "$WL/bench_stacks" 12 >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
"$MT" --no-vm --min-age 0 --json-leaks 7 --json "$TMP/r7.json" -- "$WL/bench_stacks" 12 >/dev/null 2>"$TMP/err" ||
	fail "memtrace --json-leaks 7 exited $?: $(cat "$TMP/err")"
python3 - "$TMP/r.json" 1000 "$TMP/r7.json" 7 <<'PY' || fail "capped leak lists do not add up"
import json, sys
bad = []
for path, cap in zip(sys.argv[1::2], sys.argv[2::2]):
    cap = int(cap)
    r = json.load(open(path))
    s, leaks = r["leak_summary"], r["leaks"]
    if s["stacks"] != 4096:
        bad.append("%s: %d leak stacks, 4096 expected" % (path, s["stacks"]))
    if len(leaks) != cap or s["listed"] != cap:
        bad.append("%s: %d listed (listed=%d), %d expected" % (path, len(leaks), s["listed"], cap))
    if sum(l["objects"] for l in leaks) + s["omitted_objects"] != s["objects"]:
        bad.append("%s: listed + omitted objects != %d" % (path, s["objects"]))
    if sum(l["bytes"] for l in leaks) + s["omitted_bytes"] != s["bytes"]:
        bad.append("%s: listed + omitted bytes != %d" % (path, s["bytes"]))
    if s["omitted_objects"] != 4096 - cap:
        bad.append("%s: omitted_objects %d, %d expected" % (path, s["omitted_objects"], 4096 - cap))
    if [l["bytes"] for l in leaks] != sorted((l["bytes"] for l in leaks), reverse=True):
        bad.append("%s: leaks not largest first" % path)
for b in bad:
    print("mismatch:", b)
sys.exit(1 if bad else 0)
PY
"$MT" diff "$TMP/r7.json" "$TMP/r.json" >/dev/null 2>"$TMP/diff.err" || fail "memtrace diff exited $?: $(cat "$TMP/diff.err")"
grep -q "lists 7 of 4096 leak stacks" "$TMP/diff.err" || fail "diff did not say the report was capped: $(cat "$TMP/diff.err")"
rc=0
"$MT" --json-leaks 0 -- true >/dev/null 2>"$TMP/bad.err" || rc=$?
[ $rc -eq 2 ] || fail "--json-leaks 0: exit $rc, 2 expected"
grep -q "invalid --json-leaks '0'" "$TMP/bad.err" || fail "--json-leaks 0: $(cat "$TMP/bad.err")"
echo "4096 leak stacks: 1000 and 7 listed, the rest summed; diff notes the cap"
