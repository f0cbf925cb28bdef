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
sleep 0.2

# -d: ends by itself
"$MT" -p "$demo" -d 1 --json "$TMP/d.json" >/dev/null 2>"$TMP/d.err" || fail "memtrace -d exited $?: $(cat "$TMP/d.err")"
python3 -c "
import json,sys; r=json.load(open('$TMP/d.json'))
assert r['totals']['allocs'] > 0, 'nothing traced'
assert r['lost_events'] == 0, r['lost_events']
" || fail "bad report after -d"
kill -0 "$demo" || fail "target died after -d"
no_memtrace_progs || fail "programs remain after -d"

for sig in TERM INT; do
	"$MT" -p "$demo" >/dev/null 2>"$TMP/$sig.err" &
	mt=$!
	wait_for "$TMP/$sig.err" 'attached to PID' || fail "no attach"
	ids=$(memtrace_prog_ids "$mt")
	[ -n "$ids" ] || fail "no BPF programs held by memtrace while attached"
	sleep 0.3
	kill -"$sig" "$mt"
	wait "$mt" || fail "memtrace exited $? on SIG$sig: $(cat "$TMP/$sig.err")"
	kill -0 "$demo" || fail "target died after SIG$sig"
	progs_gone $ids || fail "programs remain after SIG$sig"
	no_memtrace_progs || fail "programs remain after SIG$sig"
done

# The target still allocates normally after all the detaches.
before=$(wc -c <"$TMP/demo.out")
kill -TERM "$demo"
wait "$demo" || fail "target exited with $? after being traced"
grep -q "handled" "$TMP/demo.out" || fail "target did not finish cleanly"

# Launch mode with -d: tracing ends, the program goes on and finishes.
"$MT" -d 0.5 -- "$WL/mt_demo" 2 1000 >"$TMP/l.out" 2>"$TMP/l.err" || fail "launch -d exited $?"
for _ in $(seq 100); do grep -q handled "$TMP/l.out" && break; sleep 0.05; done
grep -q "handled" "$TMP/l.out" || fail "launched program did not run on after -d"
no_memtrace_progs || fail "programs remain after launch -d"
echo "detach: target alive after -d, SIGTERM, SIGINT; no programs left"
