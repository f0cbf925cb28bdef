#!/usr/bin/env bash
# Forced losses: a 4 KiB ring (the hidden --ringbuf-kb) against two threads
# churning flat out. Every call is either seen or counted lost; lost_events
# matches the kernel counters; sites live at a loss are marked uncertain,
# in JSON and in text.
. "$(dirname "$0")/lib.sh"
need_bpf
T=2 N=200000
"$MT" --no-vm --ringbuf-kb 4 --json "$TMP/r.json" -o "$TMP/out" -- "$WL/wl_churn" -t $T -n $N \
	>/dev/null 2>"$TMP/err" || fail "memtrace exited $?: $(cat "$TMP/err")"
python3 - "$TMP/r.json" $T $N <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
pairs = int(sys.argv[2]) * int(sys.argv[3])
d, lost = r["drops"], r["lost_events"]
err = []
print("lost_events %d, drops %s" % (lost, d))
if lost <= 0:
    err.append("no events lost: the ring was not small enough to test losses")
if lost != d["ringbuf_full"] + d["state_full"]:
    err.append("lost_events %d != kernel counters %s" % (lost, d))
# Each malloc/free of the churn is seen or lost; a few more calls come from
# the C runtime (thread start, stdio).
seen = r["calls"]["malloc"] + r["calls"]["free"]
if not (2 * pairs <= seen + lost <= 2 * pairs + 100):
    err.append("calls seen %d + lost %d != %d (+ runtime)" % (seen, lost, 2 * pairs))
live = [s for s in r["sites"] + r["leaks"] if s["live_objects"] > 0]
if not live or not all(s.get("uncertain") is True for s in live):
    err.append("sites with live objects not all uncertain: %s" %
               [(s["site"], s.get("uncertain")) for s in live])
for e in err:
    print("mismatch:", e)
sys.exit(1 if err else 0)
PY
grep -q "\[uncertain: a lost free may show as a leak\]" "$TMP/out" ||
	fail "text report does not mark uncertain leaks"
grep -q "^lost events: [1-9]" "$TMP/out" || fail "text report shows no lost events"
echo "losses counted and marked"
