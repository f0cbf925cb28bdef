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
"$MT" -p "$wl" --max-overhead off --min-age 0 --json "$TMP/r.json" >"$TMP/out" 2>"$TMP/err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/err" 'attached to PID' || fail "memtrace did not attach"
ids=$(memtrace_prog_ids "$mt")
[ -n "$ids" ] || fail "no BPF programs held by memtrace while attached"
# memtrace's BPF map memory as bpftool sees it (issue 12): the maps
# memtrace holds, by their ids in its fdinfo, each one's bytes_memlock.
map_bytes=$(for f in /proc/"$mt"/fdinfo/*; do awk '/^map_id:/ { print $2 }' "$f" 2>/dev/null; done |
	sort -u | while read -r id; do bpftool -j map show id "$id"; echo; done |
	python3 -c 'import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(sum(r["bytes_memlock"] for r in rows), sum(r["bytes_memlock"] for r in rows if r["type"] == "ringbuf"))')
[ -n "$map_bytes" ] || fail "cannot read memtrace's maps through bpftool"
kill -USR1 "$wl"
wait_for "$TMP/wl.out" '^done' || fail "workload did not finish"
kill -INT "$mt"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/err")"
alive "$wl" || fail "the target died with memtrace"
progs_gone $ids || fail "memtrace BPF programs remain after exit"
no_memtrace_progs || fail "memtrace BPF programs remain after exit"
python3 "$E2E/exact.py" attach "$TMP/r.json" "${args[@]}" || exit 1
python3 - "$TMP/r.json" $map_bytes <<'PY' || fail "memtrace's footprint in the report"
import json, sys
m = json.load(open(sys.argv[1]))["memtrace"]
total, rings = int(sys.argv[2]), int(sys.argv[3])
# Ring buffers are sized at load; a hash map's memory follows its entries
# (the unwind rows), so the totals, read at different moments, may differ
# a little.
if abs(m["bpf_map_bytes"] - total) > total / 100 or m["bpf_ring_bytes"] != rings:
    sys.exit(f"report: maps {m['bpf_map_bytes']} rings {m['bpf_ring_bytes']}, bpftool: {total} {rings}")
if m["heap_bpf_map_bytes"] + m["vm_bpf_map_bytes"] != m["bpf_map_bytes"] or not 0 < m["rss_bytes"] <= m["rss_peak_bytes"]:
    sys.exit(f"inconsistent footprint: {m}")
print(f"ok: BPF maps {total} bytes (rings {rings}) as bpftool says, RSS {m['rss_bytes']}")
PY
grep -q "^memtrace itself: RSS .*BPF maps" "$TMP/out" || fail "no footprint line in the text report"
kill -TERM "$wl"
wait "$wl" || fail "the target did not exit cleanly after detach (status $?)"
