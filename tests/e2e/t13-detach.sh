#!/usr/bin/env bash
# Detach: memtrace ends by duration, by SIGTERM and by SIGINT; each time
# the target runs on unharmed and no memtrace BPF program remains. In
# launch mode a duration ends tracing and leaves the program running.
. "$(dirname "$0")/lib.sh"
need_bpf
snap_progs
"$WL/mt_demo" 0 5000 >"$TMP/demo.out" &
demo=$!
CLEANUP_PIDS+=("$demo")
# Ready when it runs mt_demo, not the shell that forks it: attaching
# earlier would probe the shell.
is_demo() { [ "$(cat "/proc/$demo/comm" 2>/dev/null || :)" = mt_demo ]; }
for _ in $(seq 250); do
	is_demo && break
	sleep 0.02
done
is_demo || fail "mt_demo did not start"

# alloc_rate REPORT.json: allocations per second the report saw.
alloc_rate() {
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["lost_events"] == 0, "lost events: %d" % r["lost_events"]
print("%.0f" % (r["totals"]["allocs"] / r["duration_s"]))' "$1"
}

# -d: ends by itself
"$MT" -p "$demo" --max-overhead off -d 1 --json "$TMP/d.json" >/dev/null 2>"$TMP/d.err" || fail "memtrace -d exited $?: $(cat "$TMP/d.err")"
before=$(alloc_rate "$TMP/d.json") || fail "bad report after -d"
[ "$before" -gt 0 ] || fail "nothing traced by -d"
alive "$demo" || fail "target died after -d"
no_memtrace_progs || fail "programs remain after -d"

for sig in TERM INT; do
	# -i: a periodic report shows events flow before the signal comes.
	"$MT" -p "$demo" -i 0.1 >"$TMP/$sig.out" 2>"$TMP/$sig.err" &
	mt=$!
	CLEANUP_PIDS+=("$mt")
	wait_for "$TMP/$sig.err" 'attached to PID' 10 || fail "no attach"
	ids=$(memtrace_prog_ids "$mt")
	[ -n "$ids" ] || fail "no BPF programs held by memtrace while attached"
	wait_for "$TMP/$sig.out" '^allocs [1-9]' 10 || fail "no allocation traced before SIG$sig"
	kill -"$sig" "$mt"
	wait "$mt" || fail "memtrace exited $? on SIG$sig: $(cat "$TMP/$sig.err")"
	alive "$demo" || fail "target died after SIG$sig"
	progs_gone $ids || fail "programs remain after SIG$sig"
	no_memtrace_progs || fail "programs remain after SIG$sig"
done

# The target still allocates normally after all the detaches: traced once
# more, at no less than a quarter of the rate seen before them (its rate is
# paced, ~2.6 allocations per request; the slack is for a loaded machine).
"$MT" -p "$demo" --max-overhead off -d 1 --json "$TMP/after.json" >/dev/null 2>"$TMP/after.err" ||
	fail "memtrace -d after the detaches exited $?: $(cat "$TMP/after.err")"
after=$(alloc_rate "$TMP/after.json") || fail "bad report after the detaches"
echo "allocations/s: $before before the detaches, $after after"
[ $((after * 4)) -ge "$before" ] ||
	fail "the target allocates $after/s after the detaches, $before/s before"
no_memtrace_progs || fail "programs remain after the last -d"
kill -TERM "$demo"
wait "$demo" || fail "target exited with $? after being traced"
grep -q "handled" "$TMP/demo.out" || fail "target did not finish cleanly"

# Launch mode with -d: tracing ends, the program goes on and finishes.
"$MT" -d 0.5 -- "$WL/mt_demo" 2 1000 >"$TMP/l.out" 2>"$TMP/l.err" || fail "launch -d exited $?"
wait_for "$TMP/l.out" handled 5 || fail "launched program did not run on after -d"
no_memtrace_progs || fail "programs remain after launch -d"
echo "detach: target alive after -d, SIGTERM, SIGINT; no programs left"
