#!/usr/bin/env bash
# -f traces the process tree: fork, vfork and their execs, each child
# probed before it runs its own code, one "processes" entry per image with
# its own exact counts. Without -f the children are counted as untraced,
# also those forked by a thread other than the main one (tfork).
# The tree: P allocs 3, forks C; C allocs 5 and execs D (7 allocs); D
# forks E (11 allocs), which vforks and execs F (static, 13 allocs).
. "$(dirname "$0")/lib.sh"
need_bpf
dyn=$WL/wl_proc st=$WL/wl_proc_static
[ -x "$dyn" ] && [ -x "$st" ] || fail "wl_proc or wl_proc_static not built"
tree=(alloc 3 fork alloc 5 exec "$dyn" alloc 7 fork alloc 11 vfork "$st" alloc 13)
"$MT" -f --no-vm --json "$TMP/f.json" -- "$dyn" "${tree[@]}" >/dev/null 2>"$TMP/err" ||
	fail "memtrace -f exited $?: $(cat "$TMP/err")"
"$MT" --no-vm --json "$TMP/n.json" -- "$dyn" "${tree[@]}" >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
"$MT" --no-vm --json "$TMP/t.json" -- "$dyn" tfork fork >/dev/null 2>"$TMP/err" ||
	fail "memtrace (tfork) exited $?: $(cat "$TMP/err")"
# -f: an exec made by a second thread (it takes the leader's pid)
"$MT" -f --no-vm --json "$TMP/x.json" -- "$dyn" alloc 2 texec "$dyn" alloc 9 >/dev/null 2>"$TMP/err" ||
	fail "memtrace -f (texec) exited $?: $(cat "$TMP/err")"
# A traced child still running when the program exits runs on, untraced
# (not killed with memtrace's ptrace session).
"$MT" -f --no-vm --json "$TMP/bg.json" -- sh -c "\"$dyn\" wait & echo \$! >\"$TMP/bg.pid\"" \
	>/dev/null 2>"$TMP/err" || fail "memtrace -f (background child) exited $?: $(cat "$TMP/err")"
bg=$(cat "$TMP/bg.pid")
CLEANUP_PIDS+=("$bg")
sleep 0.2
grep -q '^State:.*S (sleeping)' "/proc/$bg/status" ||
	fail "the background child did not run on: $(grep State "/proc/$bg/status" 2>&1)"
grep -q '^TracerPid:[[:space:]]*0$' "/proc/$bg/status" || fail "the background child is still traced"
kill -USR1 "$bg"

PYTHONPATH=$E2E python3 - "$TMP/f.json" "$TMP/n.json" "$dyn" "$st" "$TMP/t.json" "$TMP/x.json" <<'PY'
import json, sys
from proctree import check_image
f, n = (json.load(open(p)) for p in sys.argv[1:3])
dyn, st = sys.argv[3:5]
errors = []
t = json.load(open(sys.argv[5]))
x = json.load(open(sys.argv[6]))
xp = x.get("processes") or []
if len(xp) != 2:
    errors.append("texec: %d images, expected 2" % len(xp))
else:
    check_image(errors, xp[0], dyn, 2, "exec", exact=False, released=None)
    check_image(errors, xp[1], dyn, 9, "exit")
if t.get("untraced_children") != 2:
    errors.append("a thread's fork and the main thread's: untraced_children %s, expected 2"
                  % t.get("untraced_children"))
procs = f.get("processes") or []
# (exe, allocs, end, exact, released) in the order the images began
want = [(dyn, 3, "exit", True, 0), (dyn, 5, "exec", True, 5), (dyn, 7, "exit", True, 0),
        (dyn, 11, "exit", True, 0), (dyn, 0, "exec", True, 0), (st, 13, "exit", False, 0)]
if len(procs) != len(want):
    errors.append("%d images, expected %d: %s" % (len(procs), len(want),
                  [(p["pid"], p["exe"]) for p in procs]))
else:
    for p, (exe, allocs, end, exact, rel) in zip(procs, want):
        check_image(errors, p, exe, allocs, end, exact=exact, released=rel)
    pid = [p["pid"] for p in procs]
    parents = [p["ppid"] for p in procs]
    # C is P's child; D is C after exec; E is D's child; F is E's vfork child
    if not (parents[1] == pid[0] and pid[2] == pid[1] and parents[3] == pid[2]
            and parents[4] == pid[3] and pid[5] == pid[4]):
        errors.append("tree shape pids %s ppids %s" % (pid, parents))
# every image's stacks are walked to the process root: the unwinder's
# mapping table is the first process's, the others' modules found by inode
for p in procs:
    for s in p["sites"] + p["leaks"]:
        if s.get("end") != "root":
            errors.append("-f: pid %d (%s): a stack ends %s at %s" % (
                p["pid"], p["exe"].rsplit("/", 1)[-1], s.get("end"),
                [fr.get("func") for fr in s["stack"]]))
if f.get("untraced_children") != 0:
    errors.append("-f: untraced_children %s, expected 0" % f.get("untraced_children"))
if f["totals"]["allocs"] != sum(p["totals"]["allocs"] for p in procs):
    errors.append("-f: tree totals are not the sum of the images'")
# without -f: only P is traced; its one child is counted, not traced
if n.get("untraced_children") != 1:
    errors.append("without -f: untraced_children %s, expected 1" % n.get("untraced_children"))
if n["totals"]["allocs"] != 3 or "processes" in n:
    errors.append("without -f: %d allocs (expected P's 3), processes %s"
                  % (n["totals"]["allocs"], "processes" in n))
for e in errors:
    print("mismatch:", e)
if errors:
    sys.exit(1)
print("-f: every image of the tree exact; without -f the child is counted")
PY
