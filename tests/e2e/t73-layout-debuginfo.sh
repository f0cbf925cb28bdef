#!/usr/bin/env bash
# memtrace layout finds separate debug info as the symbolizer finds names
# (user/sym/mt_debuginfo.c, gdb's order, a debug file taken only when its
# CRC or build-id matches): a stripped copy of wl_layout whose
# .gnu_debuglink names a file in its .debug/ folder, with a decoy of the
# same name (another program's debug info) next to it, gives the same
# layouts as the unstripped file and says where they came from.
. "$(dirname "$0")/lib.sh"
[ -x "$MT" ] || fail "$MT not built"
command -v objcopy >/dev/null || skip "objcopy is not installed (binutils)"

mkdir -p "$TMP/bin/.debug"
objcopy --only-keep-debug "$WL/wl_layout" "$TMP/wl_layout.debug" || fail "objcopy --only-keep-debug"
cp "$WL/wl_layout" "$TMP/bin/prog"
objcopy --strip-debug --remove-section=.gnu_debuglink "$TMP/bin/prog" || fail "objcopy --strip-debug"
objcopy --add-gnu-debuglink="$TMP/wl_layout.debug" "$TMP/bin/prog" || fail "objcopy --add-gnu-debuglink"
mv "$TMP/wl_layout.debug" "$TMP/bin/.debug/"
# the decoy: same name, first in gdb's order, wrong CRC
objcopy --only-keep-debug "$WL/wl_vm" "$TMP/bin/wl_layout.debug" || fail "objcopy decoy"

"$MT" layout --json "$TMP/own.json" "$WL/wl_layout" || fail "layout of the unstripped file exited $?"
"$MT" layout --json "$TMP/sep.json" "$TMP/bin/prog" || fail "layout of the stripped file exited $?"
python3 - "$TMP" <<'PY' || fail "the stripped file's layouts are not the unstripped file's"
import json, sys
t = sys.argv[1]
own, sep = (json.load(open("%s/%s.json" % (t, n))) for n in ("own", "sep"))
assert own["debug_file"] is None and own["debug_found_by"] is None, own["debug_file"]
assert sep["debug_file"] == t + "/bin/.debug/wl_layout.debug", sep["debug_file"]
assert sep["debug_found_by"] == "debuglink", sep["debug_found_by"]
assert own["structs"] and sep["structs"] == own["structs"], "structs differ"
PY
echo "ok: layout reads separate debug info the symbolizer's way"
