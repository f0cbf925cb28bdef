#!/usr/bin/env bash
# A debuginfod server that accepts and never answers must not stall
# tracing: the session's counts stay exact, the final report waits
# --debuginfod-timeout at most, says which module is still waiting, and
# reports it as "pending" with the names it had (.dynsym).
. "$(dirname "$0")/lib.sh"
need_bpf
for t in gcc objcopy; do
	command -v $t >/dev/null || skip "$t not installed (tools/install-deps.sh)"
done
gcc -O2 -g -fno-omit-frame-pointer "$E2E/sym/wl_sym.c" -o "$TMP/full" || fail "cannot build wl_sym.c"
objcopy --strip-all "$TMP/full" "$TMP/wl_sym"
# the silent server: accepts, reads, never writes
python3 - "$TMP/port" <<'PY' &
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)
PY
CLEANUP_PIDS+=($!)
disown
for i in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.05; done
PORT=$(cat "$TMP/port")
start=$(date +%s.%N)
DEBUGINFOD_URLS=http://127.0.0.1:$PORT DEBUGINFOD_CACHE_PATH=$TMP/cache \
	timeout 20 "$MT" --no-vm --top 20 --debuginfod-timeout 2 --json "$TMP/r.json" -- "$TMP/wl_sym" \
	>"$TMP/out" 2>"$TMP/err" || fail "memtrace exited $?: $(cat "$TMP/err")"
end=$(date +%s.%N)
grep -q "debuginfod: 1 debug file still downloading after 2 s" "$TMP/err" ||
	fail "no warning about the pending module: $(cat "$TMP/err")"
grep -q "  $TMP/wl_sym (names: symtab)" "$TMP/err" || fail "pending module not named: $(cat "$TMP/err")"
python3 - "$TMP/r.json" "$TMP/wl_sym" "$start" "$end" <<'PY' || fail "report"
import json, sys
d = json.load(open(sys.argv[1]))
exe, took = sys.argv[2], float(sys.argv[4]) - float(sys.argv[3])
err = []
m = [m for m in d["modules"] if m["path"] == exe]
if not m or m[0].get("debuginfod") != "pending" or m[0]["symbols"] != "symtab" or m[0]["lines"]:
    err.append("module %s" % m)
# every call seen: 2000 + 2000 allocations of the workload, none lost
if d["lost_events"] or d["totals"]["allocs"] < 4000:
    err.append("lost %d, allocs %d" % (d["lost_events"], d["totals"]["allocs"]))
# the wait is bounded: 2 s, plus tracing and the cancel of the lookup
if took > 10:
    err.append("took %.1f s with --debuginfod-timeout 2" % took)
for e in err:
    print("mismatch:", e)
if not err:
    print("silent server: %.1f s, module pending, %d allocs, none lost" % (took, d["totals"]["allocs"]))
sys.exit(1 if err else 0)
PY
echo pass
