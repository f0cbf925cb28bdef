#!/usr/bin/env bash
# 4096 distinct stacks, one leaked block each. In a 65,536-bucket stack map
# about 120 of them collide with another stack's bucket; those travel inline
# in their event instead, so every stack is its own leak entry and no
# capture fails.
. "$(dirname "$0")/lib.sh"
need_bpf
"$MT" --no-vm --min-age 0 --json-leaks all --json "$TMP/r.json" -- "$WL/bench_stacks" 12 >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
python3 - "$TMP/r.json" <<'PY' || fail "stacks lost or merged"
import json, sys
r = json.load(open(sys.argv[1]))
leaks = r["leaks"]
errors = []
if r["drops"]["stack_fail"]:
    errors.append("stack captures failed: %d" % r["drops"]["stack_fail"])
if r["lost_events"]:
    errors.append("lost events: %d" % r["lost_events"])
if r["leak_summary"]["stacks"] != 4096 or len(leaks) != 4096:
    errors.append("%d leak stacks (%d listed), 4096 expected" % (r["leak_summary"]["stacks"], len(leaks)))
if {l["objects"] for l in leaks} != {1}:
    errors.append("objects per stack: %s, 1 each expected" % sorted({l["objects"] for l in leaks}))
keys = {tuple(f["addr"] for f in l["stack"]) for l in leaks}
if len(keys) != len(leaks):
    errors.append("%d distinct stacks among %d leaks" % (len(keys), len(leaks)))
for e in errors:
    print("mismatch:", e)
if errors:
    sys.exit(1)
print("4096 stacks, each its own site, no capture failed")
PY
