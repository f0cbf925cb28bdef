#!/usr/bin/env bash
# Attach by PID to a running Go HTTP server (tests/e2e/go/httpd, on
# 127.0.0.1) under bounded load (/session, through the attach), then
# detach: exactly K requests to /counted made while attached give K
# allocations of *main.Counted in main.newCounted;
# the server keeps serving after the detach, does not crash, and no
# memtrace BPF program remains. The server is built with cgo (net's
# resolver) when the toolchain can: then the C allocator is probed too.
. "$(dirname "$0")/lib.sh"
need_bpf
. "$E2E/go/build.sh"
mapfile -t gos < <(go_toolchains)
[ ${#gos[@]} -gt 0 ] || skip "no Go toolchain installed (tools/install-deps.sh installs golang-go)"
go=${gos[${#gos[@]} - 1]}
go_build "$go" httpd "$TMP/httpd" || fail "build"
snap_progs
"$TMP/httpd" >"$TMP/srv.out" 2>"$TMP/srv.err" &
srv=$!
CLEANUP_PIDS+=("$srv")
wait_for "$TMP/srv.out" "^listening " || fail "server did not start: $(cat "$TMP/srv.err")"
url="http://127.0.0.1:$(awk '/^listening/ { print $2 }' "$TMP/srv.out")/session"
# load before, while attaching (background, bounded), and counted while attached
"$TMP/httpd" get "$url" 200 >/dev/null || fail "server did not serve before the attach"
# background load: batches of 50 requests until told to stop (at most
# 400 batches), so it runs through the attach and the counted requests
( for _ in $(seq 400); do
	[ -e "$TMP/stop" ] && exit 0
	"$TMP/httpd" get "$url" 50 || exit 1
done ) >"$TMP/bg.out" 2>&1 &
bg=$!
CLEANUP_PIDS+=("$bg")
"$MT" -p "$srv" --max-overhead off --no-vm --json "$TMP/r.json" >"$TMP/mt.out" 2>"$TMP/mt.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/mt.err" "attached to PID" || fail "no attach: $(cat "$TMP/mt.err")"
K=500
"$TMP/httpd" get "${url%/session}/counted" $K >/dev/null || fail "server failed while traced"
touch "$TMP/stop"
wait "$bg" || fail "the load failed while traced: $(cat "$TMP/bg.out")"
kill -INT "$mt"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/mt.err")"
alive "$srv" || fail "the server died: $(cat "$TMP/srv.err")"
"$TMP/httpd" get "$url" 200 >/dev/null || fail "server does not serve after the detach: $(cat "$TMP/srv.err")"
no_memtrace_progs || fail "BPF programs remain after the detach"
python3 - "$TMP/r.json" "$K" "$TMP/httpd" <<'PY' || fail "report ($(cat "$TMP/mt.err"))"
import json, sys
r = json.load(open(sys.argv[1]))
k = int(sys.argv[2])
g = r["go"]
import subprocess
dyn = subprocess.run(["readelf", "-d", sys.argv[3]], capture_output=True, text=True).stdout
cgo = "Shared library: [libc.so" in dyn
got = [(s["allocs"], s["type"]) for s in g["sites"] if s["function"] == "main.newCounted"]
n = sum(a for a, _ in got)
err = []
if {t for _, t in got} != {"*main.Counted"}:
    err.append("types %s" % got)
if n != k:
    err.append("main.newCounted: %d allocations, %d requests" % (n, k))
sess = {s["type"] for s in g["sites"] if s["function"] == "main.newSession"}
if "*main.Session" not in sess:
    err.append("the load during the attach: main.newSession types %s" % sess)
handlers = [s for s in g["sites"] if any(f["function"] == "main.counted" for f in s["stack"])]
if not handlers:
    err.append("no stack through main.counted")
if cgo != r["heap_traced"]:
    err.append("cgo %s but C allocator traced %s" % (cgo, r["heap_traced"]))
for e in err:
    print("mismatch:", e)
if not err:
    print("attach: %d *main.Counted from main.newCounted for %d requests; cgo %s" % (n, k, cgo))
sys.exit(1 if err else 0)
PY
