#!/usr/bin/env bash
# Page faults per target (issue 12, "no tax on other processes"): with
# memtrace attached to wl_vm_threads, a bystander process faults BN pages
# and the target TP pages in a thread created after the attach, then in
# a forked child CP pages. The report counts the thread's TP faults at its
# mapping (the thread inherited the per-thread perf event), and the fault
# programs' run count (kernel.bpf_stats_enabled) grew by no more than the
# faults the report counts: neither the bystander's faults nor the
# child's ran BPF. The machine-wide last resort (--fault-source
# tracepoint), asked for, is the control: its run count grows by the
# bystander's faults, so the measure can see a machine-wide hook.
. "$(dirname "$0")/lib.sh"
need_bpf
snap_progs
[ -x "$WL/wl_vm_threads" ] || fail "$WL/wl_vm_threads not built"
command -v python3 >/dev/null || fail "python3 not installed"

# Primes: no count here is another one by chance.
TP=3001 CP=5003 BN=20011

old_stats=$(sysctl -n kernel.bpf_stats_enabled)
trap 'rc=$?; trap - ERR; sysctl -qw kernel.bpf_stats_enabled="$old_stats"; (exit $rc); cleanup' EXIT
sysctl -qw kernel.bpf_stats_enabled=1

# run_cnt summed over the mt_vm_fault* programs memtrace process $1 holds.
fault_runs() {
	local ids
	ids=$(memtrace_prog_ids "$1")
	[ -n "$ids" ] || { echo "memtrace $1 holds no BPF program" >&2; return 1; }
	bpftool prog show -j | python3 -c '
import json, sys
ids = set(int(i) for i in sys.argv[1].split())
print(sum(p.get("run_cnt", 0) for p in json.load(sys.stdin)
          if p["id"] in ids and p.get("name", "").startswith("mt_vm_fault")))' "$ids"
}

jq_mem() { python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))["memory"]; print(eval(sys.argv[2]))' "$@"; }

# one CASE [memtrace options...]: sets runs, faults (report), thread_faults.
one() {
	local tag=$1 r0 r1 pid bpid mtpid rc
	shift
	rm -f "$TMP/go"
	"$WL/wl_vm_threads" "$TMP/go" "$TP" "$CP" 2>"$TMP/$tag.wl" &
	pid=$!
	CLEANUP_PIDS+=("$pid")
	"$WL/wl_vm_threads" "$TMP/go" "$BN" 1 2>"$TMP/$tag.by" &
	bpid=$!
	CLEANUP_PIDS+=("$bpid")
	"$MT" -p "$pid" --no-heap "$@" --json "$TMP/$tag.json" >"$TMP/$tag.out" 2>"$TMP/$tag.err" &
	mtpid=$!
	CLEANUP_PIDS+=("$mtpid")
	wait_for "$TMP/$tag.err" "attached to PID" 60 || fail "$tag: memtrace did not attach"
	sleep 0.5
	r0=$(fault_runs "$mtpid") || fail "$tag: no fault program"
	touch "$TMP/go"
	wait_for "$TMP/$tag.wl" "done" 60 || fail "$tag: the target did not finish"
	wait_for "$TMP/$tag.by" "done" 60 || fail "$tag: the bystander did not finish"
	r1=$(fault_runs "$mtpid") || fail "$tag: no fault program"
	kill -INT "$mtpid"
	rc=0
	wait "$mtpid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$tag: memtrace exited $rc: $(cat "$TMP/$tag.err")"
	kill "$pid" "$bpid"
	runs=$((r1 - r0))
	faults=$(jq_mem "$TMP/$tag.json" 'm["page_faults"]')
	thread_faults=$(jq_mem "$TMP/$tag.json" \
		'sum(o["page_faults"] for o in m["mappings"] if "wl_vmt_thread_map" in [f.get("func") for f in (o.get("stack") or []) if f])')
	source=$(jq_mem "$TMP/$tag.json" 'm["attach"]["page_faults"]')
	echo "$tag: fault source $source, program runs $runs, report faults $faults, thread faults $thread_faults"
}

# 1. The default: per-thread perf events.
one perf
[ "$source" = perf ] || bad "default: page faults seen through $source, not perf"
[ "$thread_faults" -eq "$TP" ] || bad "default: the new thread's mapping has $thread_faults faults, $TP expected"
[ "$runs" -ge "$TP" ] || bad "default: the fault program ran $runs times, fewer than the thread's $TP faults (bpf_stats off?)"
# Every run is either a counted fault or one of the few before the view was
# switched on; the bystander's BN or the child's CP would show here.
[ "$runs" -le $((faults + 64)) ] ||
	bad "default: the fault program ran $runs times for $faults target faults: it runs for other processes"
grep -q "page faults seen through perf events on the target's threads" "$TMP/perf.out" "$TMP/perf.err" ||
	bad "default: the text report does not name the fault source"

# 2. The control: the machine-wide tracepoints, asked for, are labelled
#    and run for the bystander's faults too.
one tp --fault-source tracepoint
[ "$source" = tp_btf ] || [ "$source" = raw_tp ] || bad "tracepoint: page faults seen through $source"
[ "$thread_faults" -eq "$TP" ] || bad "tracepoint: the new thread's mapping has $thread_faults faults, $TP expected"
[ "$runs" -ge $((faults + BN)) ] ||
	bad "tracepoint: the fault programs ran $runs times for $faults target faults: the run count misses a machine-wide hook"
grep -q "every process's faults pay for it" "$TMP/tp.out" "$TMP/tp.err" ||
	bad "tracepoint: the report does not say the fault source is machine-wide"

# 3. Kernel-mode faults on user addresses count too: read() from /dev/zero
#    into KP untouched pages of a fresh mapping faults each in kernel mode.
KP=401
"$MT" --no-heap --json "$TMP/kf.json" -o /dev/null -- python3 -c '
import mmap, sys
m = mmap.mmap(-1, int(sys.argv[1]) * 4096)
with open("/dev/zero", "rb", buffering=0) as f:
    f.readinto(m)' "$KP" >"$TMP/kf.out" 2>"$TMP/kf.err" || fail "kernel faults: memtrace exited $?: $(cat "$TMP/kf.err")"
kfaults=$(jq_mem "$TMP/kf.json" 'm["page_faults_kernel"]')
echo "kernel-mode faults: $kfaults (at least $KP expected)"
[ "$kfaults" -ge "$KP" ] || bad "kernel faults: $kfaults counted in kernel mode, at least $KP expected"

[ "$errors" -eq 0 ] || fail "$errors case(s) failed"
no_memtrace_progs || fail "memory-view BPF programs outlived memtrace"
echo "pass"
