#!/usr/bin/env bash
# The memory view's stacks are walked like the heap's (bpf/unwind.bpf.h,
# the same tables): an mmap from a 5-deep chain built -O2
# -fomit-frame-pointer has gdb's stack at a breakpoint on mmap, root
# included, in the frame-pointer program too, with --no-heap (the view's
# own tables) and through malloc's pending uretprobe (a brk from inside
# malloc reaches main); in attach mode, wl_vm's stacks end at _start. The
# vm stack has "end", named frames, inline frames.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v gdb >/dev/null || skip "gdb is not installed (tools/install-deps.sh)"

LEN=$((12356 * 4096))   # WL_MMAP_LEN in tools/workloads/unwind/wl_unwind.c

# check PROG NAMED_MODULES [memtrace options]
check() {
	local prog=$1 names=$2
	shift 2
	"$MT" --json "$TMP/r.json" "$@" -- "$WL/$prog" >"$TMP/out" 2>"$TMP/err" ||
		fail "memtrace $* -- $prog exited $?: $(cat "$TMP/err")"
	GDB_FUNC=mmap GDB_ARG=rsi GDB_SIZES=$LEN GDB_FRAMES_OUT="$TMP/gdb" timeout 120 gdb -batch -nx \
		-x "$E2E/gdb_frames.py" --args "$WL/$prog" >"$TMP/gdb.out" 2>&1 ||
		fail "gdb on $prog failed: $(tail -5 "$TMP/gdb.out")"
	[ -s "$TMP/gdb.$LEN" ] || fail "gdb did not stop at mmap($LEN) in $prog"
	python3 "$E2E/unwind_cmp.py" --vm --names "$names" "$TMP/r.json" "$LEN" "$TMP/gdb.$LEN" ||
		fail "$prog ($*): the memory view's stack of mmap($LEN) is not gdb's"
}

check wl_unwind wl_unwind
check wl_unwind_fp wl_unwind_fp
check wl_unwind wl_unwind --no-heap

# A brk or mmap malloc makes for the program runs under malloc's return
# probe: the walk crosses the uretprobe trampoline to the program's frames.
"$MT" --json "$TMP/r.json" -- "$WL/wl_unwind" >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace -- wl_unwind exited $?: $(cat "$TMP/err")"
python3 - "$TMP/r.json" <<'PY' || fail "a mapping made inside malloc has no whole stack"
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
traced = [o for o in m["mappings"] if o["kind"] in ("mmap", "brk")]
assert traced and all("end" in o for o in traced), [o.get("end") for o in traced]
funcs = lambda o: [f["func"] for f in o["stack"]]
inner = [o for o in traced if "malloc" in funcs(o) and "main" in funcs(o)]
assert inner, [funcs(o) for o in traced]
for o in inner:
    assert o["end"] == "root", (o["end"], funcs(o))
    assert "[uprobes]" not in str(o["stack"]), funcs(o)
PY
grep -q "mmap" "$TMP/err" || fail "no mapping stacks in the text report"

# Attach mode: the tables are built from the running process. wl_vm maps
# 23 + 7 blocks and grows the break once from main, after a delay.
"$WL/wl_vm" --delay 2 --hold 3 23 65536 7 65536 1 0 45056 0 2>"$TMP/wl.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
for _ in $(seq 100); do
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = wl_vm ] && break
	sleep 0.02
done
"$MT" -p "$pid" -d 4 --json "$TMP/a.json" >"$TMP/out" 2>"$TMP/err" ||
	fail "attach: memtrace exited $?: $(cat "$TMP/err")"
grep -q "done" "$TMP/wl.err" || fail "attach: wl_vm did not finish within -d"
python3 - "$TMP/a.json" <<'PY' || fail "attach: the mapping stacks are not whole"
import json, sys
m = json.load(open(sys.argv[1]))["memory"]
want = {"wl_vm_map_a": 23, "wl_vm_map_b": 7, "wl_vm_grow_brk": 1}
for o in m["mappings"]:
    funcs = [f["func"] for f in o["stack"]]
    for fn in want:
        if fn in funcs:
            assert o["mmaps"] == want[fn], (fn, o["mmaps"])
            assert o.get("end") == "root", (fn, o.get("end"), funcs)
            i = funcs.index(fn)
            assert funcs[i + 1:] == ["main", "__libc_start_call_main", "__libc_start_main", "_start"], funcs
            want[fn] = 0
assert not any(want.values()), want
PY
json_no_dup_keys "$TMP/r.json" "$TMP/a.json" || fail "an object of a report has a key twice"
echo "ok: the memory view's stacks are gdb's"
