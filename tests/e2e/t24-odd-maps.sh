#!/usr/bin/env bash
# Targets whose mapped files cannot be reached by their /proc/PID/maps
# path from /proc/PID/root: a chrooted process (maps paths are ours, so
# the root would be joined twice) and one whose libc was deleted from disk
# after it started. Objects are opened through /proc/PID/map_files. Also
# `memtrace -- chroot DIR PROG` traces PROG (an exec into the chroot).
# wl_proc: `wait` waits for SIGUSR1, `alloc N` makes N malloc calls.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v chroot >/dev/null || skip "no chroot command"
wl=$WL/wl_proc
[ -x "$wl" ] || fail "$wl not built"

# A minimal root: the workload and the objects ldd lists, at their paths.
root=$TMP/root
mkdir -p "$root"
cp "$wl" "$root/wl_proc"
for lib in $(ldd "$wl" | grep -o '/[^ ]*'); do
	mkdir -p "$root$(dirname "$lib")"
	cp -L "$lib" "$root$lib"
done
chroot "$root" /wl_proc alloc 1 || fail "the chroot cannot run the workload"

# attach PID NAME N: attach to PID (at its `wait`), let it make N calls.
attach() {
	local pid=$1 name=$2
	"$MT" -v --no-vm --json "$TMP/$name.json" -p "$pid" >"$TMP/$name.out" 2>"$TMP/$name.err" &
	local mt=$!
	CLEANUP_PIDS+=("$mt")
	wait_for "$TMP/$name.err" attached 20 || { cat "$TMP/$name.err"; fail "$name: no attach"; }
	kill -USR1 "$pid"
	wait "$mt" || fail "$name: memtrace exited $?: $(cat "$TMP/$name.err")"
	grep -q "opened through /proc/PID/map_files" "$TMP/$name.err" ||
		fail "$name: -v does not say map_files were used"
}

# exec_seen PID PATH: PID runs PATH (after the chroot command's exec).
exec_seen() {
	local i
	for ((i = 0; i < 200; i++)); do
		case $(readlink "/proc/$1/exe") in "$2"*) return 0 ;; esac
		sleep 0.01
	done
	return 1
}

chroot "$root" /wl_proc wait alloc 9 &
cpid=$!
CLEANUP_PIDS+=("$cpid")
exec_seen "$cpid" "$root/wl_proc" || fail "the chrooted workload did not start"
attach "$cpid" chroot

# libc copied aside, loaded from there, then deleted.
mkdir -p "$TMP/lib"
libc=$(ldd "$wl" | awk '/libc.so/ { print $3 }')
cp -L "$libc" "$TMP/lib/"
LD_LIBRARY_PATH=$TMP/lib "$wl" wait alloc 9 &
dpid=$!
CLEANUP_PIDS+=("$dpid")
for ((i = 0; i < 200; i++)); do
	grep -q "$TMP/lib/libc.so" "/proc/$dpid/maps" 2>/dev/null && break
	sleep 0.01
done
grep -q "$TMP/lib/libc.so" "/proc/$dpid/maps" || fail "the workload did not load the copied libc"
rm -f "$TMP/lib/"libc.so*
attach "$dpid" deleted

"$MT" --no-vm --json "$TMP/launch.json" -- chroot "$root" /wl_proc alloc 5 >/dev/null 2>"$TMP/err" ||
	fail "memtrace -- chroot exited $?: $(cat "$TMP/err")"

python3 - "$TMP/chroot.json" "$TMP/deleted.json" "$TMP/launch.json" <<'PY'
import json, sys
ch, de, la = (json.load(open(p)) for p in sys.argv[1:4])
errors = []
for name, r in (("chroot", ch), ("deleted libc", de)):
    if r["calls"].get("malloc") != 9 or r["totals"]["allocs"] != 9:
        errors.append("%s: %s malloc calls, %d allocs, expected 9" %
                      (name, r["calls"].get("malloc"), r["totals"]["allocs"]))
if "(deleted)" not in (de["target"]["allocator"] or ""):
    errors.append("deleted libc: allocator %s" % de["target"]["allocator"])
last = (la.get("processes") or [{}])[-1]
if not (last.get("exe") or "").endswith("/wl_proc") or last["totals"]["allocs"] != 5 \
        or last["calls"].get("malloc") != 5:
    errors.append("memtrace -- chroot: last image %s %s, expected wl_proc with 5 allocs"
                  % (last.get("exe"), last.get("totals")))
for e in errors:
    print("mismatch:", e)
if errors:
    sys.exit(1)
print("chroot (attach and launch) and a deleted libc: every call traced")
PY
