#!/usr/bin/env bash
# A stack is whole or says why not: --max-depth cuts it ("end": "depth",
# exactly that many frames, a marker in the text report); a frame-pointer
# walk through code without frame pointers stops at the first return
# address outside executable code instead of recording garbage.
. "$(dirname "$0")/lib.sh"
need_bpf

"$MT" --top 50 --max-depth 16 --json "$TMP/d.json" -- "$WL/wl_unwind" >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace --max-depth 16 exited $?: $(cat "$TMP/err")"
python3 - "$TMP/d.json" <<'PY' || fail "--max-depth 16 did not cut the deep stack"
import json, sys
r = json.load(open(sys.argv[1]))
deep = [s for s in r["sites"] if s["alloc_bytes"] == 12349 * s["allocs"]]
assert len(deep) == 1, deep
s = deep[0]
assert s.get("end") == "depth" and len(s["stack"]) == 16, (s.get("end"), len(s["stack"]))
assert all(f["func"] == "rec" for f in s["stack"]), [f["func"] for f in s["stack"]]
short = [s for s in r["sites"] if s["alloc_bytes"] == 12345 * s["allocs"]]
assert short and short[0].get("end") == "root", short
PY
grep -q -- '-- stack cut: depth limit' "$TMP/err" "$TMP/out" || fail "no cut marker in the text report"

# Frame pointers through -fomit-frame-pointer code: rbp holds data there;
# malloc(12350) is called with rbp at a fake frame whose "return address"
# is 0x44b585683044b58 (what redis-server's stacks showed).
"$MT" --top 50 --unwind fp --json "$TMP/f.json" -- "$WL/wl_unwind" >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace --unwind fp exited $?: $(cat "$TMP/err")"
python3 - "$TMP/f.json" <<'PY' || fail "--unwind fp recorded frames outside executable code"
import json, sys
r = json.load(open(sys.argv[1]))
ends = {}
for s in r["sites"]:
    for f in s["stack"]:
        assert f["module"], "garbage frame %s in %s" % (f["addr"], [g["addr"] for g in s["stack"]])
    ends[s.get("end")] = ends.get(s.get("end"), 0) + 1
assert None not in ends, ends
fake = [s for s in r["sites"] if s["alloc_bytes"] == 12350 * s["allocs"]]
assert len(fake) == 1 and fake[0].get("end") == "unknown_code", fake
assert [f["func"] for f in fake[0]["stack"]] == ["g2"], fake[0]["stack"]
cut = sum(n for e, n in ends.items() if e != "root")
assert cut > 0, "no stack was cut: the workload should defeat frame pointers (%s)" % ends
print("ok: ends %s" % ends)
PY
