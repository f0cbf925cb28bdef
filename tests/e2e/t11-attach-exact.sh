#!/usr/bin/env bash
# Attach mode: exactly the calls made while attached; blocks allocated
# before attach and freed after are untracked frees, not errors. After
# memtrace ends the target runs on and no memtrace BPF program remains.
. "$(dirname "$0")/lib.sh"
need_bpf
snap_progs
args=(23 17 13 7 5 11)
"$WL/wl_exact" --attach "${args[@]}" >"$TMP/wl.out" &
wl=$!
CLEANUP_PIDS+=("$wl")
wait_for "$TMP/wl.out" '^ready' || fail "workload did not start"
"$MT" -p "$wl" --min-age 0 --json "$TMP/r.json" >"$TMP/out" 2>"$TMP/err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/err" 'attached to PID' || fail "memtrace did not attach"
ids=$(memtrace_prog_ids "$mt")
[ -n "$ids" ] || fail "no BPF programs held by memtrace while attached"
kill -USR1 "$wl"
wait_for "$TMP/wl.out" '^done' || fail "workload did not finish"
kill -INT "$mt"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/err")"
alive "$wl" || fail "the target died with memtrace"
progs_gone $ids || fail "memtrace BPF programs remain after exit"
no_memtrace_progs || fail "memtrace BPF programs remain after exit"
python3 "$E2E/exact.py" attach "$TMP/r.json" "${args[@]}" || exit 1
kill -TERM "$wl"
wait "$wl" || fail "the target did not exit cleanly after detach (status $?)"
