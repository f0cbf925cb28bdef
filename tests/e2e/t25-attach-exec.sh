#!/usr/bin/env bash
# exec in attach mode: the BPF side stops the target after execve
# (sched_process_exec, filtered to its tgid), memtrace probes the new image
# (dynamic or static) and continues it, so the new image's calls are all
# traced and the old image's blocks are released at exec, not leaks. Also
# attach mode counts the children the target creates (sched_process_fork),
# and with -f holds each new child until its probes are in: the tree of
# t23 (fork, exec, fork, vfork + exec of a static binary) exact per image.
# wl_proc: `wait` waits for SIGUSR1, `alloc N` makes N malloc calls.
. "$(dirname "$0")/lib.sh"
need_bpf
dyn=$WL/wl_proc st=$WL/wl_proc_static
[ -x "$dyn" ] && [ -x "$st" ] || fail "wl_proc or wl_proc_static not built"

# at_wait PID WORD: PID's command line has WORD as its 2nd argument... and
# it sleeps (in its `wait`).
at_wait() {
	local i
	for ((i = 0; i < 400; i++)); do
		# anchored: the old image's arguments hold the new image's too
		if tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -d' ' -f2- | grep -q "^$2" &&
		   grep -q '^State:.*S (sleeping)' "/proc/$1/status" 2>/dev/null; then
			return 0
		fi
		sleep 0.01
	done
	return 1
}

# run NAME NEXT [HOW]: the workload allocs 3 (before attach), then 4
# (traced), execs NEXT (HOW: exec, or texec from a second thread), which
# allocs 6, waits, allocs 35 and exits.
run() {
	local name=$1 next=$2 how=${3:-exec}
	"$dyn" alloc 3 wait alloc 4 "$how" "$next" alloc 6 wait alloc 35 &
	local pid=$!
	CLEANUP_PIDS+=("$pid")
	at_wait "$pid" "alloc 3 wait" || fail "$name: the workload did not start"
	"$MT" --no-vm --min-age 0 --json "$TMP/$name.json" -p "$pid" >/dev/null 2>"$TMP/$name.err" &
	local mt=$!
	CLEANUP_PIDS+=("$mt")
	wait_for "$TMP/$name.err" attached 20 || fail "$name: no attach"
	kill -USR1 "$pid"
	at_wait "$pid" "alloc 6 wait" || fail "$name: the exec'd image did not reach its wait: $(cat "/proc/$pid/status" | grep State)"
	kill -USR1 "$pid"
	wait "$mt" || fail "$name: memtrace exited $?: $(cat "$TMP/$name.err")"
}
run dd "$dyn"
run ds "$st"
run dt "$dyn" texec   # the exec made by a second thread (the leader goes)

"$dyn" wait fork alloc 2 &
fpid=$!
CLEANUP_PIDS+=("$fpid")
at_wait "$fpid" "wait fork" || fail "fork: the workload did not start"
"$MT" --no-vm --json "$TMP/fork.json" -p "$fpid" >/dev/null 2>"$TMP/fork.err" &
mt=$!
wait_for "$TMP/fork.err" attached 20 || fail "fork: no attach"
kill -USR1 "$fpid"
wait "$mt" || fail "fork: memtrace exited $?: $(cat "$TMP/fork.err")"

"$dyn" wait alloc 1 fork alloc 2 exec "$dyn" alloc 5 fork alloc 3 vfork "$st" alloc 13 &
tpid=$!
CLEANUP_PIDS+=("$tpid")
at_wait "$tpid" "wait alloc 1" || fail "-f: the workload did not start"
"$MT" -f --no-vm --min-age 0 --json "$TMP/tree.json" -p "$tpid" >/dev/null 2>"$TMP/tree.err" &
mt=$!
wait_for "$TMP/tree.err" attached 20 || fail "-f: no attach"
kill -USR1 "$tpid"
wait "$mt" || fail "-f: memtrace exited $?: $(cat "$TMP/tree.err")"

PYTHONPATH=$E2E python3 - "$TMP/dd.json" "$TMP/ds.json" "$TMP/fork.json" "$TMP/tree.json" "$dyn" "$st" "$TMP/dt.json" <<'PY'
import json, sys
from proctree import check_image
dd, ds, fk, tr = (json.load(open(p)) for p in sys.argv[1:5])
dyn, st = sys.argv[5:7]
dt = json.load(open(sys.argv[7]))
errors = []
procs = tr.get("processes") or []
want = [(dyn, 1, "exit", True, 0), (dyn, 2, "exec", True, 2), (dyn, 5, "exit", True, 0),
        (dyn, 3, "exit", True, 0), (dyn, 0, "exec", True, 0), (st, 13, "exit", False, 0)]
if len(procs) != len(want):
    errors.append("-f: %d images, expected %d" % (len(procs), len(want)))
else:
    for p, (exe, allocs, end, exact, rel) in zip(procs, want):
        check_image(errors, p, exe, allocs, end, exact=exact, released=rel)
    if [p["exit_code"] for p in procs[2:]] != [0, 0, None, 0]:
        errors.append("-f: children's exit codes %s" % [p["exit_code"] for p in procs])
for rep, second, exact in ((dd, dyn, True), (ds, st, False), (dt, dyn, True)):
    procs = rep.get("processes") or []
    if len(procs) != 2:
        errors.append("%d images, expected 2" % len(procs))
        continue
    # texec: pthread_create's own calloc is the old image's (exact=False)
    check_image(errors, procs[0], dyn, 4, "exec", exact=rep is not dt,
                released=None if rep is dt else 4)
    if rep is dt and procs[0]["released_at_exec"]["objects"] < 4:
        errors.append("texec: %s released" % procs[0]["released_at_exec"])
    check_image(errors, procs[1], second, [6, 35], "exit", exact=exact)
    if rep["leak_summary"]["objects"] > procs[1]["totals"]["live_objects"]:
        errors.append("the old image's blocks are leaks")
if fk.get("untraced_children") != 1:
    errors.append("fork: untraced_children %s, expected 1" % fk.get("untraced_children"))
if fk["totals"]["allocs"] != 0:
    errors.append("fork: %d allocs traced, the child's are not the target's" % fk["totals"]["allocs"])
for e in errors:
    print("mismatch:", e)
if errors:
    sys.exit(1)
print("attach mode: execs followed (dynamic and static), children counted")
PY
