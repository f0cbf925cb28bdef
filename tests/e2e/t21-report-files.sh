#!/usr/bin/env bash
# Report files are never lost or faked: a failed run leaves an existing
# file byte for byte; a complete report replaces it (keeping its mode, and
# a symlink stays a link); pipes and devices are written in place and never
# removed; every write error is a non-zero exit (4), for memtrace and for
# memtrace diff; no temporary is left behind.
. "$(dirname "$0")/lib.sh"
need_bpf
D=$TMP/out
mkdir "$D"
# A private full device (/dev/full's numbers): if a regression deletes it,
# it deletes the test's own node, not the machine's /dev/full.
FULL=$TMP/full
mknod "$FULL" c 1 7 || skip "cannot create a device node in $TMP"
keep() { printf 'an earlier report\n' >"$D/keep.json"; chmod 0640 "$D/keep.json"; }
kept() { [ "$(cat "$D/keep.json")" = "an earlier report" ] || bad "$1: keep.json changed: $(head -c 80 "$D/keep.json")"; }
no_temps() {
	local extra
	extra=$(ls -A "$D" | { grep -v -x -e keep.json -e link.json -e fifo -e new.json || true; })
	[ -z "$extra" ] || bad "$1: temporaries left behind: $extra"
}
is_report() { python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); assert "totals" in r' "$1" 2>/dev/null; }

# A failed run never touches an existing file.
keep
sh -c 'exit 0' & gone=$!; wait $gone || fail "sh exited $?"
rc=0; "$MT" -p "$gone" --json "$D/keep.json" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] || bad "bad PID: exit $rc, expected 1: $(cat "$TMP/err")"
kept "bad PID"
rc=0; "$MT" --json "$D/keep.json" -- /nonexistent/cmd >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] || bad "command that cannot run: exit $rc, expected 1: $(cat "$TMP/err")"
kept "command that cannot run"
rc=0; "$MT" --btf /nonexistent --json "$D/keep.json" -- /bin/true >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] || bad "failed attach: exit $rc, expected 1: $(cat "$TMP/err")"
kept "failed attach"
no_temps "failed runs"

# A complete report replaces it, keeping its mode; a symlink stays one.
"$MT" --no-vm --json "$D/keep.json" -- "$WL/wl_exact" 1 1 1 1 1 0 >/dev/null 2>"$TMP/err" ||
	bad "launch run exited $?: $(cat "$TMP/err")"
is_report "$D/keep.json" || bad "keep.json was not replaced by a report"
[ "$(stat -c %a "$D/keep.json")" = 640 ] || bad "replaced file's mode $(stat -c %a "$D/keep.json"), expected 640"
keep
ln -s keep.json "$D/link.json"
"$MT" --no-vm --json "$D/link.json" -- /bin/true >/dev/null 2>"$TMP/err" || bad "run through a symlink exited $?"
[ -L "$D/link.json" ] || bad "the symlink was replaced by a file"
is_report "$D/keep.json" || bad "the file the symlink names was not replaced"
"$MT" --no-vm --json "$D/new.json" -- /bin/true >/dev/null 2>"$TMP/err" || bad "new file: exit $?"
[ "$(stat -c %a "$D/new.json")" = "$(printf '%o' $((0666 & ~0$(umask))))" ] ||
	bad "new file mode $(stat -c %a "$D/new.json"), expected 0666 less umask $(umask)"
no_temps "complete runs"

# Unwritable destinations: an error line and a non-zero exit, never 0.
rc=0; "$MT" --no-vm --json /proc/version -- /bin/true >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 4 ] || bad "--json /proc/version: exit $rc, expected 4: $(cat "$TMP/err")"
grep -q "cannot write '/proc/version'" "$TMP/err" || bad "--json /proc/version: $(cat "$TMP/err")"
rc=0; "$MT" --no-vm --json "$FULL" -- /bin/true >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 4 ] || bad "--json onto a full device: exit $rc, expected 4: $(cat "$TMP/err")"
grep -q "cannot write '$FULL'.*No space" "$TMP/err" || bad "--json onto a full device: $(cat "$TMP/err")"
[ -c "$FULL" ] || bad "the full device node is gone or replaced"
# The text report too (-o, on a full device; launch mode's default is
# stderr); in launch mode the write error outranks the program's status.
rc=0; "$MT" --no-vm -- sh -c 'exit 7' >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 7 ] || bad "launch mode: exit $rc, expected the program's 7"
rc=0; "$MT" --no-vm -o "$FULL" -- sh -c 'exit 7' >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 4 ] || bad "text report onto a full device: exit $rc, expected 4: $(cat "$TMP/err")"
[ -c "$FULL" ] || bad "-o: the full device node is gone or replaced"
# The file outputs go through the same writer (sh allocates: folded has lines).
for out in --pprof --folded; do
	rc=0; "$MT" --no-vm "$out" "$FULL" -- sh -c "exit 0" >/dev/null 2>"$TMP/err" || rc=$?
	[ $rc -eq 4 ] || bad "$out onto a full device: exit $rc, expected 4: $(tail -n 1 "$TMP/err")"
	[ -c "$FULL" ] || bad "$out: the full device node is gone or replaced"
done

# A fifo is written in place and stays a fifo.
mkfifo "$D/fifo"
cat "$D/fifo" >"$TMP/fifo.out" &
reader=$!
"$MT" --no-vm --json "$D/fifo" -- /bin/true >/dev/null 2>"$TMP/err" || bad "--json fifo: exit $?: $(cat "$TMP/err")"
wait $reader
[ -p "$D/fifo" ] || bad "the fifo was replaced"
is_report "$TMP/fifo.out" || bad "no report through the fifo: $(head -c 80 "$TMP/fifo.out")"

# /dev/stdout and /dev/fd/N name files the shell holds open: written in
# place (a rename would take the file from under the shell); with the JSON
# on stdout the text report goes to stderr.
: >"$TMP/so.json"
ino=$(stat -c %i "$TMP/so.json")
"$MT" --no-vm --json /dev/stdout -- /bin/true >>"$TMP/so.json" 2>"$TMP/err" || bad "--json /dev/stdout: exit $?"
is_report "$TMP/so.json" || bad "--json /dev/stdout into a file: $(head -c 80 "$TMP/so.json")"
[ "$(stat -c %i "$TMP/so.json")" = "$ino" ] || bad "--json /dev/stdout replaced the shell's file"
"$MT" --no-vm --json /dev/fd/3 -- /bin/true 3>"$TMP/fd3.json" >/dev/null 2>"$TMP/err" || bad "--json /dev/fd/3: exit $?"
is_report "$TMP/fd3.json" || bad "--json /dev/fd/3: $(head -c 80 "$TMP/fd3.json")"

# memtrace diff: the same rules.
"$MT" --no-vm --json "$TMP/a.json" -- "$WL/wl_exact" 1 1 1 1 1 0 >/dev/null 2>&1 || bad "report a"
"$MT" --no-vm --json "$TMP/b.json" -- "$WL/wl_exact" 2 1 1 1 1 0 >/dev/null 2>&1 || bad "report b"
keep
rc=0; "$MT" diff --json "$D/keep.json" "$TMP/a.json" /nonexistent.json >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] || bad "diff of a missing report: exit $rc, expected 1"
kept "diff of a missing report"
rc=0; "$MT" diff --json "$FULL" "$TMP/a.json" "$TMP/b.json" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 4 ] || bad "diff --json onto a full device: exit $rc, expected 4: $(cat "$TMP/err")"
[ -c "$FULL" ] || bad "diff removed the device node"
rc=0; "$MT" diff --json /proc/version "$TMP/a.json" "$TMP/b.json" >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 4 ] || bad "diff --json /proc/version: exit $rc, expected 4: $(cat "$TMP/err")"
rc=0; "$MT" diff "$TMP/a.json" "$TMP/b.json" >"$FULL" 2>"$TMP/err" || rc=$?
[ $rc -eq 4 ] || bad "diff text onto a full device: exit $rc, expected 4"
"$MT" diff --json "$D/keep.json" "$TMP/a.json" "$TMP/b.json" >/dev/null 2>"$TMP/err" || bad "diff exited $?"
python3 -c 'import json, sys; assert "totals" in json.load(open(sys.argv[1]))' "$D/keep.json" ||
	bad "diff did not replace keep.json"
no_temps "diff"

[ $errors -eq 0 ] || fail "$errors report-file cases misbehaved"
echo "report files: kept on failure, replaced when complete, devices and fifos in place, write errors exit 4"
