#!/usr/bin/env bash
# Detach is a consistent cut: attached to threads that replace their slots
# forever and never pause (wl_slots: at most 64 blocks per thread), the
# final report after SIGINT (and after -d) holds no more live blocks than
# the program can, no address allocated twice without a free between
# (stale_replaced), and no more leak candidates than blocks (--min-age 0).
# Counting must stop at one instant for every probe, before any detaches.
. "$(dirname "$0")/lib.sh"
need_bpf

# check_cut JSON CAPACITY WHAT
check_cut() {
	python3 - "$1" "$2" "$3" <<'PY' || fail "$3: the final report is not a consistent cut"
import json, sys
r = json.load(open(sys.argv[1])); cap = int(sys.argv[2]); what = sys.argv[3]
t = r["totals"]
ok = True
def bad(msg):
    global ok
    print(f"{what}: {msg}"); ok = False
if r["lost_events"]:
    bad(f"{r['lost_events']} events lost: the counts cannot be judged")
if t["allocs"] < 10 * cap:
    bad(f"only {t['allocs']} allocations traced: the churn did not run")
if t["live_objects"] > cap:
    bad(f"{t['live_objects']} live objects, the program holds at most {cap}")
if t["stale_replaced"] != 0:
    bad(f"stale_replaced {t['stale_replaced']}: allocations counted past the last free")
if r["leak_summary"]["objects"] > cap:
    bad(f"{r['leak_summary']['objects']} leak candidates, the program holds at most {cap}")
reach = r.get("reachability")
if reach is not None:
    # the scanned blocks are the report's live blocks: one instant
    if (reach["blocks"], reach["lost_bytes"] + reach["reachable_bytes"]) != (t["live_objects"], t["live_bytes"]):
        bad(f"scanned {reach['blocks']} blocks, {reach['lost_bytes'] + reach['reachable_bytes']} B; "
            f"the report has {t['live_objects']} live, {t['live_bytes']} B")
    if reach["lost_objects"]:
        bad(f"{reach['lost_objects']} blocks definitely lost: every slot is on a thread's stack")
if ok:
    print(f"{what}: live {t['live_objects']} <= {cap}, stale_replaced 0, "
          f"leak candidates {r['leak_summary']['objects']}, allocs {t['allocs']}")
sys.exit(0 if ok else 1)
PY
}

# start_slots THREADS: sets SLOTS_PID and CAP once every slot is filled.
start_slots() {
	"$WL/wl_slots" -t "$1" >"$TMP/slots$1.out" &
	SLOTS_PID=$!
	CLEANUP_PIDS+=("$SLOTS_PID")
	wait_for "$TMP/slots$1.out" '^capacity' || fail "wl_slots did not start"
	CAP=$(awk '/^capacity/ { print $2 }' "$TMP/slots$1.out")
}

# Several threads, ended by SIGINT as a user's Ctrl-C.
start_slots 4
"$MT" -p "$SLOTS_PID" --max-overhead off --min-age 0 --no-vm --json "$TMP/int.json" >"$TMP/int.out" 2>"$TMP/int.err" &
mt=$!
wait_for "$TMP/int.err" 'attached to PID' || fail "no attach"
sleep 1
kill -INT "$mt"
wait "$mt" || fail "memtrace exited $? on SIGINT: $(cat "$TMP/int.err")"
kill -0 "$SLOTS_PID" || fail "wl_slots died after the detach"
check_cut "$TMP/int.json" "$CAP" "4 threads, SIGINT"

# With the reachability scan the cut is made while the target is paused:
# the scanned memory and the report are the same instant.
"$MT" -p "$SLOTS_PID" --max-overhead off --min-age 0 --no-vm --reachability -d 1 --json "$TMP/r.json" \
	>"$TMP/r.out" 2>"$TMP/r.err" || fail "memtrace --reachability exited $?: $(cat "$TMP/r.err")"
check_cut "$TMP/r.json" "$CAP" "4 threads, --reachability"
kill -KILL "$SLOTS_PID"; wait "$SLOTS_PID" 2>/dev/null || true  # killed: 137

# One thread, ended by -d.
start_slots 1
"$MT" -p "$SLOTS_PID" --max-overhead off --min-age 0 --no-vm -d 1 --json "$TMP/d.json" >"$TMP/d.out" 2>"$TMP/d.err" ||
	fail "memtrace -d exited $?: $(cat "$TMP/d.err")"
check_cut "$TMP/d.json" "$CAP" "1 thread, -d"
kill -KILL "$SLOTS_PID"; wait "$SLOTS_PID" 2>/dev/null || true  # killed: 137
echo "detach cut: final live objects within what the program can hold"
