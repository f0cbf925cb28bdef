#!/usr/bin/env bash
# Stacks without frame pointers equal gdb's: the same allocation, broken on
# in gdb and traced by memtrace, has the same frames (module + offset, and
# the function name in our own modules), root included. Programs built
# -O2 -fomit-frame-pointer (tools/workloads/unwind/): a plain chain, a
# chain through a variable-length array (rbp-based CFA), one through a
# function that realigns its stack (CFA = *(rbp - 16)), a chain through a
# library calling back, a thread, a signal handler (through the kernel's
# signal frame), C++ templates / operator new / a catch handler; a frame-pointer program over the same library (mixed stacks,
# --unwind auto and cfi).
. "$(dirname "$0")/lib.sh"
need_bpf
command -v gdb >/dev/null || skip "gdb is not installed (tools/install-deps.sh)"
command -v c++filt >/dev/null || skip "c++filt is not installed (binutils)"

# check PROG SIZES NAMED_MODULES [memtrace options]
check() {
	local prog=$1 sizes=$2 names=$3 sz
	shift 3
	"$MT" --top 50 --json "$TMP/r.json" "$@" -- "$WL/$prog" >"$TMP/out" 2>"$TMP/err" ||
		fail "memtrace $* -- $prog exited $?: $(cat "$TMP/err")"
	GDB_SIZES=$sizes GDB_FRAMES_OUT="$TMP/gdb" timeout 120 gdb -batch -nx \
		-x "$E2E/gdb_frames.py" --args "$WL/$prog" >"$TMP/gdb.out" 2>&1 ||
		fail "gdb on $prog failed: $(tail -5 "$TMP/gdb.out")"
	for sz in ${sizes//,/ }; do
		[ -s "$TMP/gdb.$sz" ] || fail "gdb did not stop at malloc($sz) in $prog"
		python3 "$E2E/unwind_cmp.py" --names "$names" "$TMP/r.json" "$sz" "$TMP/gdb.$sz" ||
			fail "$prog ($*): the stack of malloc($sz) is not gdb's"
	done
}

check wl_unwind 12345,12346,12347,12348,12354,12355 wl_unwind,libwl_unwind.so
check wl_unwind_cxx 12351,12352 wl_unwind_cxx
# frame pointers in the program, CFI in the library and libc
check wl_unwind_fp 12345,12347,12348 wl_unwind_fp,libwl_unwind.so
check wl_unwind_fp 12347 wl_unwind_fp,libwl_unwind.so --unwind cfi
echo "ok: memtrace's stacks are gdb's"
