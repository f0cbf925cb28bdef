#!/usr/bin/env bash
# Memory view (issue 4): mappings, faults, unmaps, brk growth and madvise
# releases of wl_vm, per creating function, exactly; final RSS within 1% of
# /proc/PID/status VmRSS. Launch mode, attach mode, and --no-heap. A
# single mapping (top_mappings) spans its mmap's length and carries its
# origin's walk end; no object of a report has a key twice.
. "$(dirname "$0")/lib.sh"
# A skip under CI is a failure: the CI machine is meant to run this.
skip() {
	[ "${CI:-}" = true ] && fail "would skip under CI=true: $*"
	echo "skip: $*"
	exit 77
}
need_bpf
snap_progs
[ -x "$WL/wl_vm" ] || fail "$WL/wl_vm not built"
[ -x "$WL/wl_vm_static" ] || fail "$WL/wl_vm_static not built"
command -v python3 >/dev/null || skip "python3 not installed"
CHECK="$E2E/vm_check.py"
[ -f "$CHECK" ] || fail "$CHECK missing"

# NA SIZE_A NB SIZE_B TOUCH UNMAP BRK MADV: primes where free to choose;
# ~100 MiB resident so 1% leaves room for what exit() itself faults in.
args=(23 4194304 7 4194304 997 5 45056 3)

vmrss_of() { sed -n 's/.*VmRSS_kB=\([0-9]*\).*/\1/p' "$1" | tail -1; }

# 1. Launch mode: the child is traced from its first instruction.
"$MT" --json "$TMP/launch.json" -- "$WL/wl_vm" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "launch: memtrace exited $?: $(cat "$TMP/err")"
python3 "$CHECK" exact "$TMP/launch.json" "${args[@]}" || fail "launch: counts"
kb=$(vmrss_of "$TMP/err")
[ -n "$kb" ] || fail "launch: no VmRSS line from wl_vm: $(cat "$TMP/err")"
python3 "$CHECK" rss "$TMP/launch.json" "$kb" || fail "launch: rss"
grep -q "Memory, kernel view" "$TMP/err" || fail "launch: no memory section in the text report"
# The default source is per target (issue 12): uprobes on the target's own
# syscall sites, never a machine-wide syscall hook.
src_of() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["memory"]["attach"]["syscalls"])' "$1"; }
[ "$(src_of "$TMP/launch.json")" = uprobe ] || fail "launch: syscalls seen through $(src_of "$TMP/launch.json"), not uprobe"

# 1b. The machine-wide last resort, asked for: the same exact counts.
"$MT" --vm-source raw_tp --json "$TMP/raw.json" -- "$WL/wl_vm" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "raw_tp: memtrace exited $?: $(cat "$TMP/err")"
python3 "$CHECK" exact "$TMP/raw.json" "${args[@]}" || fail "raw_tp: counts"
[ "$(src_of "$TMP/raw.json")" = raw_tp ] || fail "--vm-source raw_tp: source $(src_of "$TMP/raw.json")"

# 1c. A static program: its syscalls are inlined in its own code.
"$MT" --no-heap --json "$TMP/static.json" -- "$WL/wl_vm_static" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "static: memtrace exited $?: $(cat "$TMP/err")"
python3 "$CHECK" exact "$TMP/static.json" "${args[@]}" || fail "static: counts"
[ "$(src_of "$TMP/static.json")" = uprobe ] || fail "static: source $(src_of "$TMP/static.json")"

# 2. --no-heap: the memory view alone, same exact counts.
"$MT" --no-heap --json "$TMP/noheap.json" -- "$WL/wl_vm" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "--no-heap: memtrace exited $?: $(cat "$TMP/err")"
python3 "$CHECK" exact "$TMP/noheap.json" "${args[@]}" || fail "--no-heap: counts"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(r["heap_traced"] is not False or r["totals"]["allocs"] != 0)' \
	"$TMP/noheap.json" || fail "--no-heap: the report claims heap figures"
grep -q "^allocs " "$TMP/err" && fail "--no-heap: the text report shows heap totals"

# 3. Attach mode: wl_vm waits 3 s for the tracer, works, then holds so the
#    snapshot at -d and our own VmRSS read see the same idle process.
"$WL/wl_vm" --delay 3 --hold 10 "${args[@]}" 2>"$TMP/wl.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
"$MT" -p "$pid" -d 7 --json "$TMP/attach.json" >"$TMP/out" 2>"$TMP/err" ||
	fail "attach: memtrace exited $?: $(cat "$TMP/err")"
kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || kb=""
[ -n "$kb" ] || fail "attach: wl_vm exited before the snapshot"
grep -q "done" "$TMP/wl.err" || fail "attach: wl_vm did not finish within -d: $(cat "$TMP/wl.err")"
python3 "$CHECK" exact "$TMP/attach.json" "${args[@]}" || fail "attach: counts"
[ "$(src_of "$TMP/attach.json")" = uprobe ] || fail "attach: syscalls seen through $(src_of "$TMP/attach.json")"
python3 "$CHECK" rss "$TMP/attach.json" "$kb" || fail "attach: rss"
alive "$pid" || fail "attach: wl_vm did not outlive memtrace"
kill "$pid"
json_no_dup_keys "$TMP"/{launch,raw,static,noheap,attach}.json || fail "an object of a report has a key twice"

no_memtrace_progs || fail "memory-view BPF programs outlived memtrace"
echo "pass"
