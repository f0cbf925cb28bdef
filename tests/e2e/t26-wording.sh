#!/usr/bin/env bash
# What a user reads: the report names the program by the command and the
# path it was started as, not the file a symlink points to (launch mode
# through a real Debian alternatives symlink, attach mode through our
# own); by default stderr carries only the lines a user needs (attached,
# exited), implementation details only with -v.
. "$(dirname "$0")/lib.sh"
need_bpf

# Launch mode: awk is /usr/bin/awk -> /etc/alternatives/awk -> gawk or mawk.
awk_path=$(command -v awk)
[ -L "$awk_path" ] || skip "$awk_path is not a symlink here"
awk_file=$(readlink -f "$awk_path")
"$MT" --json "$TMP/awk.json" -o "$TMP/awk.out" -- awk 'BEGIN { x = 1 }' >/dev/null 2>"$TMP/awk.err" ||
	bad "memtrace -- awk exited $?: $(cat "$TMP/awk.err")"
grep -q "^memtrace: pid [0-9]* (awk) $awk_path, " "$TMP/awk.out" ||
	bad "launch header does not name awk as started: $(grep '^memtrace: pid' "$TMP/awk.out")"
if grep '^memtrace: pid' "$TMP/awk.out" | grep -q "$awk_file"; then bad "the header names the symlink's target $awk_file"; fi
python3 - "$TMP/awk.json" "$awk_path" "$awk_file" <<'PY' || bad "launch JSON target"
import json, sys
t = json.load(open(sys.argv[1]))["target"]
assert (t["comm"], t["exe"], t["exe_file"]) == ("awk", sys.argv[2], sys.argv[3]), t
PY
# Only the "attached" line on stderr beside the report (-o); the
# program's own output aside.
[ "$(grep -c . "$TMP/awk.err")" -eq 1 ] || bad "default launch run printed more than 'attached': $(cat "$TMP/awk.err")"

# Attach mode through a symlink of our own.
ln -s /bin/sleep "$TMP/napper"
"$TMP/napper" 30 &
nap=$!
CLEANUP_PIDS+=("$nap")
for _ in $(seq 100); do [ "$(cat /proc/$nap/comm 2>/dev/null)" = napper ] && break; sleep 0.02; done
"$MT" -p "$nap" -d 0.3 >"$TMP/att.out" 2>"$TMP/att.err" || bad "attach exited $?: $(cat "$TMP/att.err")"
grep -q "^memtrace: pid $nap (napper) $TMP/napper, " "$TMP/att.out" ||
	bad "attach header: $(grep '^memtrace: pid' "$TMP/att.out")"
[ "$(grep -c . "$TMP/att.err")" -eq 1 ] && grep -q "attached to PID $nap" "$TMP/att.err" ||
	bad "default attach run: stderr is not just the attached line: $(cat "$TMP/att.err")"
# -v tells where probes went and how the kernel side is attached.
"$MT" -v -p "$nap" -d 0.3 >/dev/null 2>"$TMP/v.err" || bad "attach -v exited $?"
grep -q "allocator: " "$TMP/v.err" || bad "-v does not name the allocator"
[ "$(grep -c . "$TMP/v.err")" -gt 3 ] || bad "-v adds nothing: $(cat "$TMP/v.err")"

kill -KILL "$nap"; wait "$nap" 2>/dev/null || true  # killed: 137
[ $errors -eq 0 ] || fail "$errors wording cases misbehaved"
echo "wording: started-as names in the header, quiet stderr by default"
