#!/usr/bin/env bash
# Memory view (issue 4): heap efficiency = live requested bytes / heap
# resident bytes. A heap with every other object freed keeps its pages:
# efficiency < 0.6; a compact heap of 500-byte objects (512-byte chunks):
# > 0.9. Needs the heap tracer (live bytes), so no --no-heap here.
. "$(dirname "$0")/lib.sh"
skip() {
	[ "${CI:-}" = true ] && fail "would skip under CI=true: $*"
	echo "skip: $*"
	exit 77
}
need_bpf
[ -x "$WL/wl_vm_frag" ] || fail "$WL/wl_vm_frag not built"
command -v python3 >/dev/null || skip "python3 not installed"
CHECK="$E2E/vm_check.py"   # shared with t40-vm.sh
[ -f "$CHECK" ] || fail "$CHECK missing"

for mode in sparse compact; do
	"$MT" --json "$TMP/$mode.json" -- "$WL/wl_vm_frag" "$mode" 100003 500 \
		>"$TMP/out" 2>"$TMP/err" || fail "$mode: memtrace exited $?: $(cat "$TMP/err")"
	if [ "$mode" = sparse ]; then
		python3 "$CHECK" efficiency "$TMP/$mode.json" below 0.6 || fail "$mode"
	else
		python3 "$CHECK" efficiency "$TMP/$mode.json" above 0.9 || fail "$mode"
	fi
done
echo "pass"
