#!/usr/bin/env bash
# memtrace layout agrees with pahole (dwarves) on the same binaries: every
# struct, class and union pahole prints of the layout workload (built by
# gcc with DWARF 5 and 4, and by clang), of a C++
# program with bases and a vtable, and of the C library's debug info
# (libc6-dbg): size, cache lines, member names, offsets, bit offsets and
# sizes, byte holes, bit holes, padding and bit padding.
. "$(dirname "$0")/lib.sh"
command -v pahole >/dev/null || skip "pahole not installed (tools/install-deps.sh installs dwarves)"
command -v g++ >/dev/null || skip "g++ not installed (tools/install-deps.sh installs it)"
[ -x "$MT" ] || fail "$MT not built"
cmp() {   # cmp FILE MIN-TYPES
	pahole "$1" >"$TMP/pa.txt" 2>"$TMP/pa.err" || fail "pahole $1: $(cat "$TMP/pa.err")"
	"$MT" layout --json "$TMP/l.json" "$1" 2>"$TMP/l.err" || fail "memtrace layout $1 exited $?: $(cat "$TMP/l.err")"
	python3 "$E2E/pahole_cmp.py" "$TMP/pa.txt" "$TMP/l.json" --min "$2" || fail "$1 differs from pahole"
}
cmp "$WL/wl_layout" 13
# DWARF 4 places bit-fields with DW_AT_bit_offset (from the unit's top bit),
# DWARF 5 with DW_AT_data_bit_offset; and clang writes its own DWARF.
cc -g -gdwarf-4 -O1 "$E2E/../../tools/workloads/wl_layout.c" -o "$TMP/wl_dwarf4" || fail "cannot build with -gdwarf-4"
cmp "$TMP/wl_dwarf4" 13
clang -g -O1 "$E2E/../../tools/workloads/wl_layout.c" -o "$TMP/wl_clang" || fail "cannot build with clang"
cmp "$TMP/wl_clang" 13
g++ -g -O1 "$E2E/layout/shapes.cc" -o "$TMP/shapes" || fail "cannot build shapes.cc"
cmp "$TMP/shapes" 6
libc=$(ldd "$WL/wl_layout" | awk '/libc\.so/ { print $3 }')
"$MT" layout "$libc" _IO_FILE >/dev/null 2>"$TMP/libc.err" ||
	skip "no debug info for $libc (tools/install-deps.sh installs libc6-dbg): $(cat "$TMP/libc.err")"
cmp "$libc" 400
