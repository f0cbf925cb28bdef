#!/usr/bin/env bash
# The live view and progress lines. Under a real pseudo-terminal
# (live_pty.py: memtrace in the foreground of a pty, keys typed when the
# screen shows what the test waits for): frames redrawn in place with the
# top site and totals of the final JSON, 's' re-ranks, 'q' ends with the
# documented status (launch: the program's, after SIGINT; attach: 0) and
# the final report, the terminal modes (stty -g) restored after 'q', the
# program's exit, SIGHUP and Ctrl-Z/fg; the unwind-table progress line drawn.
# Without a terminal (or with --no-tty): not one escape code.
. "$(dirname "$0")/lib.sh"
need_bpf
for s in launch_keys attach_quit exits hangup suspend no_tty; do
	mkdir -p "$TMP/$s"
	python3 "$E2E/live_pty.py" "$s" "$MT" "$WL" "$TMP/$s" || fail "live view: $s"
done

"$MT" --no-vm -i 0.3 -- "$WL/mt_demo" 1 </dev/null >"$TMP/out" 2>"$TMP/err" || fail "no tty: exit $?: $(cat "$TMP/err")"
[ "$(grep -c '^top [0-9]* sites by' "$TMP/err")" -ge 2 ] || fail "no tty: periodic reports missing: $(cat "$TMP/err")"
grep -q $'\e' "$TMP/err" "$TMP/out" && fail "no tty: escape codes in the output: $(grep -c $'\e' "$TMP/err")"
echo "ok: live view and progress"
