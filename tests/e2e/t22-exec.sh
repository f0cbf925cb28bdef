#!/usr/bin/env bash
# exec in launch mode: an image that execs ends there. Its live blocks are
# released (released_at_exec, never leaks), the new image's allocator is
# found and probed before it runs (a dynamic one: libc; a static one: the
# executable), and the report has one "processes" entry per image with the
# image's own exact counts; the totals are the sum.
. "$(dirname "$0")/lib.sh"
need_bpf
dyn=$WL/wl_proc st=$WL/wl_proc_static
[ -x "$dyn" ] && [ -x "$st" ] || fail "wl_proc or wl_proc_static not built"
"$MT" --no-vm --json "$TMP/dd.json" -- "$dyn" alloc 4 exec "$dyn" alloc 35 >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
"$MT" --no-vm --json "$TMP/ds.json" -- "$dyn" alloc 4 exec "$st" alloc 35 >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
PYTHONPATH=$E2E python3 - "$TMP/dd.json" "$TMP/ds.json" "$dyn" "$st" <<'PY'
import json, sys
from proctree import check_image, block_bytes
dd, ds = (json.load(open(p)) for p in sys.argv[1:3])
dyn, st = sys.argv[3:5]
errors = []
for rep, second, exact in ((dd, dyn, True), (ds, st, False)):
    procs = rep.get("processes")
    if not procs or len(procs) != 2:
        errors.append("%d images, expected 2" % len(procs or []))
        continue
    if procs[0]["pid"] != procs[1]["pid"]:
        errors.append("an exec changed the pid")
    check_image(errors, procs[0], dyn, 4, "exec", released=4)
    check_image(errors, procs[1], second, 35, "exit", exact=exact)
    if procs[1]["allocator"] != (second if not exact else procs[0]["allocator"]):
        errors.append("new image's allocator %s" % procs[1]["allocator"])
    t = rep["totals"]
    want = sum(p["totals"]["allocs"] for p in procs)
    if t["allocs"] != want or t["frees"] != sum(p["totals"]["frees"] for p in procs):
        errors.append("tree totals %s are not the images' sum (%d allocs)" % (t, want))
    if rep["leak_summary"]["objects"] != procs[1]["totals"]["live_objects"]:
        errors.append("leaks %d: the first image's blocks are counted as leaks"
                      % rep["leak_summary"]["objects"])
    if rep["target"]["exe"] != second:
        errors.append("the report names %s, not the image that ran last" % rep["target"]["exe"])
if dd["totals"]["allocs"] != 39 or dd["totals"]["live_objects"] != 35:
    errors.append("dynamic chain: totals %s, expected 39 allocs, 35 live" % dd["totals"])
for e in errors:
    print("mismatch:", e)
if errors:
    sys.exit(1)
print("exec: each image exact, blocks released at exec are not leaks, static image probed")
PY
