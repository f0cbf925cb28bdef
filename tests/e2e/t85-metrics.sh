#!/usr/bin/env bash
# memtrace --listen: /metrics while tracing, checked by its real consumers.
# Attach mode: promtool accepts the exposition; a real Prometheus server
# (127.0.0.1, temporary config and data dir, 1 s scrapes) scrapes it, and
# its HTTP query API returns the live bytes the workload holds, which are
# the live bytes memtrace's own final report gives. Launch mode serves too.
# Bad --listen values fail early with one line. Bounded waits throughout.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v promtool >/dev/null || skip "promtool not installed (tools/install-deps.sh installs prometheus)"
command -v prometheus >/dev/null || skip "prometheus not installed (tools/install-deps.sh)"
[ -x "$WL/wl_hold" ] || fail "$WL/wl_hold not built"

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# get URL FILE: bounded HTTP GET (python: curl need not be installed).
get() {
	python3 - "$1" "$2" <<'PY'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    open(sys.argv[2], "wb").write(r.read())
PY
}

# Bad input: one line on stderr, non-zero exit, before anything is traced.
rc=0; "$MT" --listen nonsense -- /bin/true >"$TMP/o" 2>"$TMP/e" || rc=$?
[ $rc -ne 0 ] && [ "$(wc -l <"$TMP/e")" -eq 1 ] && grep -q "invalid --listen 'nonsense'" "$TMP/e" ||
	fail "--listen nonsense: exit $rc, stderr: $(cat "$TMP/e")"
python3 -c 'import socket, time; s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(30)' >"$TMP/busy" &
CLEANUP_PIDS+=($!)
wait_for "$TMP/busy" '^[0-9]' 5 || fail "no busy port"
rc=0; "$MT" --listen "127.0.0.1:$(cat "$TMP/busy")" -- "$WL/wl_hold" now >"$TMP/o" 2>"$TMP/e" || rc=$?
[ $rc -ne 0 ] && grep -q 'cannot listen on .*Address already in use' "$TMP/e" && ! grep -q holding "$TMP/o" ||
	fail "port in use: exit $rc, stdout $(cat "$TMP/o"), stderr: $(cat "$TMP/e")"

# Attach mode.
"$WL/wl_hold" >"$TMP/wl.out" &
wl=$!
CLEANUP_PIDS+=("$wl")
wait_for "$TMP/wl.out" '^ready' || fail "workload did not start"
"$MT" -p "$wl" --max-overhead off --listen 127.0.0.1:0 --metrics-top 5 --no-vm --json "$TMP/r.json" >"$TMP/out" 2>"$TMP/err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/err" 'attached to PID' || fail "memtrace did not attach"
url=$(sed -n 's/.*serving metrics at \(http:[^ ]*\).*/\1/p' "$TMP/err")
[ -n "$url" ] || fail "no 'serving metrics at' line: $(cat "$TMP/err")"
case $url in http://127.0.0.1:[1-9]*/metrics) ;; *) fail "bad URL '$url'" ;; esac
kill -USR1 "$wl"
wait_for "$TMP/wl.out" '^holding' || fail "workload did not allocate"
read -r _ held _ big _ small < <(grep '^holding' "$TMP/wl.out")
# A tick (1 s) later the snapshot has them.
for i in $(seq 40); do
	get "$url" "$TMP/m.txt" || fail "GET $url failed"
	grep -qx "memtrace_live_bytes $held" "$TMP/m.txt" && break
	sleep 0.1
done
grep -qx "memtrace_live_bytes $held" "$TMP/m.txt" || fail "/metrics: live bytes not $held: $(grep live_bytes "$TMP/m.txt")"
promtool check metrics <"$TMP/m.txt" >"$TMP/lint" 2>&1 || { cat "$TMP/lint"; fail "promtool check metrics rejects the exposition"; }
for name in memtrace_live_bytes memtrace_live_objects memtrace_allocs_total memtrace_frees_total \
	    memtrace_site_live_bytes memtrace_rss_bytes memtrace_lost_events_total \
	    memtrace_allocs_per_second memtrace_self_cpu_seconds_total memtrace_self_resident_bytes; do
	grep -q "^# TYPE $name " "$TMP/m.txt" || fail "no TYPE line for $name"
	grep -q "^# HELP $name " "$TMP/m.txt" || fail "no HELP line for $name"
done
grep -qx '# TYPE memtrace_allocs_total counter' "$TMP/m.txt" || fail "memtrace_allocs_total is not a counter"
grep -qx '# TYPE memtrace_live_bytes gauge' "$TMP/m.txt" || fail "memtrace_live_bytes is not a gauge"
grep -qx "memtrace_site_live_bytes{site=\"hold_big@wl_hold\"} $big" "$TMP/m.txt" ||
	{ grep site_live "$TMP/m.txt"; fail "site hold_big@wl_hold does not hold $big bytes"; }
grep -qx "memtrace_site_live_bytes{site=\"hold_small@wl_hold\"} $small" "$TMP/m.txt" ||
	{ grep site_live "$TMP/m.txt"; fail "site hold_small@wl_hold does not hold $small bytes"; }
n=$(grep -c '^memtrace_site_live_bytes{' "$TMP/m.txt")
[ "$n" -le 5 ] || fail "$n site series with --metrics-top 5"
rc=0; get "${url%/metrics}/nothing" "$TMP/404" 2>"$TMP/404.err" || rc=$?
[ $rc -ne 0 ] && grep -q '404' "$TMP/404.err" || fail "an unknown path should be a 404"

# A real Prometheus scrapes it; its query API returns the live bytes.
pport=$(free_port)
target=${url#http://}; target=${target%/metrics}
cat >"$TMP/prom.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: memtrace
    static_configs:
      - targets: ['$target']
YML
prometheus --config.file="$TMP/prom.yml" --storage.tsdb.path="$TMP/pdata" \
	--web.listen-address="127.0.0.1:$pport" >"$TMP/prom.log" 2>&1 &
CLEANUP_PIDS+=($!)
api="http://127.0.0.1:$pport"
python3 - "$api" "$held" "$big" >"$TMP/q.out" 2>&1 <<'PY' || { cat "$TMP/q.out"; tail -n 20 "$TMP/prom.log"; fail "Prometheus did not return memtrace's live bytes"; }
import json, sys, time, urllib.parse, urllib.request
api, held, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

def query(q):
    u = api + "/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(u, timeout=2) as r:
        d = json.load(r)
    assert d["status"] == "success", d
    return [(s["metric"], float(s["value"][1])) for s in d["data"]["result"]]

deadline = time.time() + 30
got = site = None
while time.time() < deadline:
    try:
        got = query("memtrace_live_bytes")
        site = query('memtrace_site_live_bytes{site="hold_big@wl_hold"}')
        up = query('up{job="memtrace"}')
        if got and site and up and up[0][1] == 1:
            break
    except OSError:
        pass          # not up yet
    time.sleep(0.3)
print("live_bytes", got, "site", site)
if not got or got[0][1] != held:
    sys.exit("memtrace_live_bytes %s, the workload holds %d" % (got, held))
if not site or site[0][1] != big:
    sys.exit("hold_big's live bytes %s, expected %d" % (site, big))
print(int(got[0][1]))
PY
prom_live=$(tail -n 1 "$TMP/q.out")

# memtrace's own report says the same.
kill -INT "$mt"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/err")"
json_live=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["totals"]["live_bytes"])' "$TMP/r.json")
[ "$json_live" = "$prom_live" ] || fail "Prometheus has $prom_live live bytes, memtrace's report $json_live"
alive "$wl" || fail "the target died with memtrace"

# Launch mode serves too (and the vm section is in it), through an exec:
# the metrics follow the new image.
"$MT" --listen 127.0.0.1:0 -- /bin/sh -c "exec '$WL/wl_hold' now" >"$TMP/l.out" 2>"$TMP/l.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/l.out" '^holding' || fail "launched workload did not allocate"
url=$(sed -n 's/.*serving metrics at \(http:[^ ]*\).*/\1/p' "$TMP/l.err")
for i in $(seq 40); do
	get "$url" "$TMP/l.txt" || fail "GET $url failed (launch mode)"
	grep -qx "memtrace_live_bytes $held" "$TMP/l.txt" && break
	sleep 0.1
done
grep -qx "memtrace_live_bytes $held" "$TMP/l.txt" || fail "launch mode: live bytes not $held"
grep -q '^memtrace_info{.*comm="wl_hold"' "$TMP/l.txt" || fail "launch mode: the metrics do not follow the exec: $(grep memtrace_info "$TMP/l.txt")"
grep -q '^memtrace_page_faults_total [0-9]' "$TMP/l.txt" || fail "launch mode: no page faults from the vm view"
grep -q '^memtrace_lost_events_total{source="vm"} 0$' "$TMP/l.txt" || fail "launch mode: no vm lost events"
promtool check metrics <"$TMP/l.txt" >"$TMP/lint" 2>&1 || { cat "$TMP/lint"; fail "promtool rejects the launch-mode exposition"; }
kill -TERM "$mt"    # passed on to the program, which exits 0
wait "$mt" || fail "memtrace (launch) exited $?: $(cat "$TMP/l.err")"
echo "pass: Prometheus query returned $prom_live live bytes, as memtrace's report"
