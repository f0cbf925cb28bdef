#!/usr/bin/env bash
# A library dlopen()ed after attach has its unwind tables before its code
# allocates: the memory view sees its code mapped and memtrace builds the
# tables at once, not when a stack first ends in it (until then its stacks
# end "unknown_code"). wl_dlopen maps libwl_dlopen.so (-O2
# -fomit-frame-pointer: only CFI unwinds it), waits GAP ms and allocates
# 100 blocks through it in one burst: all must reach the root. Waiting for
# the next drain of the event rings (every 20 ms) instead fails here.
# The report's "modules" say both were walked by CFI.
. "$(dirname "$0")/lib.sh"
need_bpf

GAP=3
"$MT" --json "$TMP/r.json" -- "$WL/wl_dlopen" "$GAP" 100 >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace -- wl_dlopen exited $?: $(cat "$TMP/err")"
python3 - "$TMP/r.json" <<'PY' || fail "the dlopen()ed library's first stacks were cut"
import json, sys
r = json.load(open(sys.argv[1]))
sites = [s for s in r["sites"] if s["allocs"] and s["alloc_bytes"] == 12360 * s["allocs"]]
ends = {}
for s in sites:
    ends[s.get("end")] = ends.get(s.get("end"), 0) + s["allocs"]
assert sum(ends.values()) == 100, ends
whole = [s for s in sites if s.get("end") == "root"]
assert ends.get("root", 0) == 100, "allocations by end: %s" % ends
funcs = [f["func"] for f in whole[0]["stack"]]
assert funcs[:6] == ["dl5", "dl4", "dl3", "dl2", "wl_dl_alloc", "main"], funcs
PY
# The report names how each module was walked, whatever name it goes by:
# launch mode builds libc's tables under the loader's name (/lib/...),
# the mappings say /usr/lib/... on a merged /usr. Debian's libc and the
# library keep no frame pointers: CFI.
python3 - "$TMP/r.json" <<'PY' || fail "the report's modules do not say how they were walked"
import json, sys
mods = {m["path"].split("/")[-1]: m["unwind"] for m in json.load(open(sys.argv[1]))["modules"]}
assert mods.get("libwl_dlopen.so") == "cfi", mods
assert mods.get("libc.so.6") == "cfi", mods
PY
echo "ok: a dlopen()ed library's stacks are whole from its first allocation"
