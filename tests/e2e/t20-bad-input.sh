#!/usr/bin/env bash
# Bad input: one clear line on stderr, a non-zero exit, no crash, and
# nothing left attached.
. "$(dirname "$0")/lib.sh"

# run_error STATUS EXPECTED_REGEX -- memtrace args...: exactly STATUS, one
# line on stderr matching the regex.
run_error() {
	local status=$1 want=$2 rc=0 lines
	shift 3
	"$MT" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null || rc=$?
	lines=$(grep -c . "$TMP/err") || lines=0
	if [ "$rc" -ne "$status" ]; then
		bad "memtrace $*: exit $rc, expected $status: $(cat "$TMP/err")"
	elif [ "$lines" -ne 1 ]; then
		bad "memtrace $*: $lines lines on stderr, expected 1: $(cat "$TMP/err")"
	elif ! grep -Eq "^memtrace: .*$want" "$TMP/err"; then
		bad "memtrace $*: '$(cat "$TMP/err")' does not match '$want'"
	else
		echo "ok: memtrace $* -> $(cat "$TMP/err")"
	fi
}

# 1. Option parsing: usage errors (exit 2) before anything is looked up,
#    so no root and no BPF needed.
[ -x "$MT" ] || fail "$MT not built"
run_error 2 "invalid PID 'abc'" -- -p abc
run_error 2 "unknown option '--bogus'" -- --bogus -p 1
run_error 2 "option '-p' needs an argument" -- -p
run_error 2 "nothing to trace" --
run_error 2 "either -p PID or -- CMD" -- -p 1 -- /bin/true
run_error 2 "invalid duration" -- -d -1 -p 1
run_error 2 "invalid duration .1e300." -- -d 1e300 -p 1
run_error 2 "invalid interval" -- -i 0 -p 1
run_error 2 "invalid --top '100001': sites from 1 to 100000 expected" -- --top 100001 -p 1
run_error 2 "diff: invalid --top '0': sites from 1 to 100000 expected" -- diff --top 0 a.json b.json
run_error 2 "give either --reachability or --no-reachability" -- --reachability --no-reachability -- /bin/true
run_error 2 "--unwind: 'xyz' is not auto, fp or cfi" -- --unwind xyz -p 1
run_error 2 "--max-depth: '128' is not a number from 1 to 127" -- --max-depth 128 -p 1
run_error 2 "--max-depth: '0' is not a number from 1 to 127" -- --max-depth 0 -p 1
[ $errors -eq 0 ] || fail "$errors option-parsing cases misbehaved"

# 2. Errors found looking up the target, its files and the kernel's: the
#    same one line, and no BPF program left behind (checking that needs root).
need_bpf

# expect_error [STATUS] EXPECTED_REGEX -- memtrace args...: STATUS 1 unless
# given (4: a report that cannot be written).
expect_error() {
	local status=1
	case $1 in [0-9]) status=$1; shift ;; esac
	snap_progs
	run_error "$status" "$@"
	if ! no_memtrace_progs; then
		bad "memtrace ${*:3}: BPF programs left behind"
	fi
}

sh -c 'exit 0' & gone=$!; wait $gone
kthread=$(awk '{ print FILENAME }' /proc/2/stat >/dev/null 2>&1 && echo 2)
chmod 644 "$TMP" 2>/dev/null; chmod 755 "$TMP"
printf '#!/bin/sh\n' >"$TMP/noexec"; chmod 644 "$TMP/noexec"

expect_error "no process with PID $gone" -- -p "$gone"
expect_error "PID $kthread is a kernel thread" -- -p "$kthread"
expect_error "cannot execute '/nonexistent/cmd': No such file" -- -- /nonexistent/cmd
expect_error "cannot execute '$TMP/noexec': Permission denied" -- -- "$TMP/noexec"
expect_error 4 "cannot write '/nonexistent/dir/r.json'" -- --json /nonexistent/dir/r.json -- /bin/true
expect_error 4 "cannot write '$TMP'" -- --json "$TMP" -- /bin/true
expect_error "cannot read kernel BTF '/nonexistent'" -- --btf /nonexistent -- /bin/true
expect_error "'/etc/passwd' is not BTF" -- --btf /etc/passwd -- /bin/true
expect_error "no allocator entry points \(malloc and free\) in '/bin/true'" -- --lib /bin/true -- /bin/true

# No privileges: the BPF load is refused; the launched child must not survive.
cp "$MT" "$TMP/memtrace"; chmod 755 "$TMP/memtrace"
rc=0
setpriv --reuid=65534 --regid=65534 --clear-groups "$TMP/memtrace" -- /bin/sleep 30 >/dev/null 2>"$TMP/err" || rc=$?
if [ $rc -eq 0 ] || [ "$(grep -c . "$TMP/err")" -ne 1 ] || ! grep -q "run as root" "$TMP/err"; then
	bad "unprivileged: exit $rc, stderr: $(cat "$TMP/err")"
else
	echo "ok: unprivileged -> $(cat "$TMP/err")"
fi
pgrep -x -u 65534 sleep >/dev/null && { bad "unprivileged: launched child left running"; }

# A binary without symbols still traces: frames name their module.
cp "$WL/wl_exact" "$TMP/stripped"; strip "$TMP/stripped"
"$MT" --json "$TMP/s.json" -- "$TMP/stripped" 3 3 5 2 1 0 >/dev/null 2>"$TMP/err" || {
	bad "stripped target: exit $?: $(cat "$TMP/err")"; }
python3 - "$TMP/s.json" <<'PY' || bad "stripped target: its report is wrong (above)"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["totals"]["live_objects"] == 7, r["totals"]
top = r["leaks"][0]["stack"][0]
assert top["module"].endswith("/stripped"), top
print("ok: stripped target traced, leak frame in module", top["module"], "at", top["module_off"])
PY

# A target exiting during attach, at every step of it (targets living from
# 0.02 s to about an attach's length): a clean report, or one line naming
# the cause, never the failing step's own error (maps, exe, uprobes, ...).
during=0
for d in 0.02 0.05 0.1 0.15 0.2 0.25 0.3 0.4 0.5 0.6; do
	snap_progs
	sleep "$d" &
	t=$!
	rc=0
	"$MT" -p "$t" -d 0.5 --json "$TMP/e.json" >/dev/null 2>"$TMP/err" || rc=$?
	# Traced or not, the target runs to its normal end.
	wait "$t" || { bad "exit during attach: the target exited $?"; }
	clear=0
	if grep -Eq "^memtrace: (PID $t exited during attach|PID $t has exited|no process with PID $t)$" "$TMP/err"; then
		clear=1
	fi
	if [ $rc -ge 128 ]; then
		bad "exit during attach: memtrace crashed ($rc)"
	elif [ $rc -ne 0 ] && { [ "$(grep -c . "$TMP/err")" -ne 1 ] || [ $clear -eq 0 ]; }; then
		bad "exit during attach after ${d}s: unclear error (exit $rc): $(cat "$TMP/err")"
	fi
	if grep -q "exited during attach" "$TMP/err"; then during=$((during + 1)); fi
	no_memtrace_progs || { bad "exit during attach: programs left"; }
done
echo "ok: targets exiting during attach handled ($during of 10 exited during attach)"
[ $errors -eq 0 ] || fail "$errors bad-input cases misbehaved"
