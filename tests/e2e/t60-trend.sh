#!/usr/bin/env bash
# Leak candidates by growth trend (attach mode, 60 s): of wl_trend's slow
# leak, cache that plateaus, burst freed later and churn, only the slow leak
# is a candidate. The cache's objects are older than --min-age, so without
# the trend judgement it would be one: the test checks that too.
. "$(dirname "$0")/lib.sh"
need_bpf
[ -x "$WL/wl_trend" ] || fail "$WL/wl_trend not built"
"$WL/wl_trend" 75 >"$TMP/wl.out" &
wl=$!
CLEANUP_PIDS+=("$wl")
wait_for "$TMP/wl.out" '^ready' || fail "workload did not start"
"$MT" -p "$wl" --max-overhead off -d 60 --json "$TMP/r.json" >"$TMP/out" 2>"$TMP/err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/err" 'attached to PID' || fail "memtrace did not attach"
kill -USR1 "$wl"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/err")"
grep -q '^growing sites' "$TMP/out" || fail "no 'growing sites' section in the text report"
python3 - "$TMP/r.json" <<'PY' || { sed -n '/^growing sites/,/^lifetimes/p' "$TMP/out"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))

def funcs(e):
    return [f["func"] for f in e["stack"] if f["func"]]

def find(entries, fn):
    return [e for e in entries if fn in funcs(e)]

def die(msg):
    print("FAIL:", msg)
    sys.exit(1)

tr = r["trend"]
print("windows", tr["windows"], "window_s", tr["window_s"], "lost", r["lost_events"])
for e in tr["sites"]:
    t = e["trend"]
    print(" ", t["class"], round(t["slope_bytes_per_s"], 1), round(t["mk_z"], 2),
          round(t["growth_fraction"], 2), e["live_bytes"], funcs(e)[:1])
if tr["windows"] < 50:
    die("only %d trend windows in 60 s" % tr["windows"])
leak = find(tr["sites"], "wl_slow_leak")
cache = find(tr["sites"], "wl_cache_put")
burst = find(tr["sites"], "wl_burst_alloc")
if len(leak) != 1 or leak[0]["trend"]["class"] != "growing":
    die("wl_slow_leak is not a growing site: %s" % leak)
lt = leak[0]["trend"]
# 256 B every 50 ms is 5120 B/s; allow for pacing jitter.
if not 4000 < lt["slope_bytes_per_s"] < 6200:
    die("wl_slow_leak grows %.1f B/s, expected about 5120" % lt["slope_bytes_per_s"])
if not (lt["age_max_s"] > 50 and lt["first_seen_s"] < 10 and lt["last_seen_s"] > 50):
    die("wl_slow_leak age distribution looks wrong: %s" % lt)
if not cache or any(e["trend"]["class"] == "growing" for e in cache):
    die("the cache site is missing or judged growing: %s" % cache)
if not burst or any(e["trend"]["class"] == "growing" for e in burst):
    die("the burst site is missing or judged growing: %s" % burst)
if sum(e["live_objects"] for e in cache) < 900:
    die("the cache should hold ~1000 live objects")
# Leaks: the slow leak with its trend evidence; not the cache, not the burst.
leaks = find(r["leaks"], "wl_slow_leak")
if len(leaks) != 1 or leaks[0]["trend"]["class"] != "growing":
    die("wl_slow_leak is not among the leaks with its trend")
if find(r["leaks"], "wl_cache_put") or find(r["leaks"], "wl_burst_alloc"):
    die("the cache or the burst is reported as a leak")
# The cache's objects are old enough for the age rule alone.
old = [e for e in find(r["sites"], "wl_cache_put") if (e["oldest_age_s"] or 0) > r["min_age_s"]]
if not old:
    die("the cache site's objects should be older than min_age_s")
print("ok: slow leak %.1f B/s (z %.1f), cache %s, burst %s" % (
    lt["slope_bytes_per_s"], lt["mk_z"], [e["trend"]["class"] for e in cache],
    [e["trend"]["class"] for e in burst]))
PY
# The target runs on after the detach (its own 75 s are not over; the
# cleanup ends it, as waiting for them would only make the test slower).
alive "$wl" || fail "the target died with memtrace"
echo pass
