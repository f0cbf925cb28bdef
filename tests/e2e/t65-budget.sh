#!/usr/bin/env bash
# The overhead budget (attach mode's default, --max-overhead 5). A busy
# target attached with the defaults (wl_budget flat out: two threads of malloc/free churn from ten
# sites, a ring of longer-lived blocks, a planted leak every 10 ms) gets
# duty cycling: the report says "budgeted", a duty cycle below 1, labelled
# estimates; the planted leak is found by the rise of its survivors across
# windows, and no churn site is a leak although many of its frees fell
# between windows. A paced, quiet target stays exact, with or without an
# explicit --max-overhead.
. "$(dirname "$0")/lib.sh"
need_bpf
[ -x "$WL/wl_budget" ] || fail "$WL/wl_budget not built"

"$WL/wl_budget" -t 2 -s 60 >"$TMP/hi.out" 2>"$TMP/hi.err" &
hi=$!
CLEANUP_PIDS+=("$hi")
wait_for "$TMP/hi.out" '^ready' || fail "workload did not start"
# Every output labels the estimates: the periodic text (-i), /metrics,
# pprof's comment, and the final text and JSON.
"$MT" -p "$hi" -d 20 -i 8 --listen 127.0.0.1:0 --pprof "$TMP/hi.pb.gz" --json "$TMP/hi.json" \
	>"$TMP/hi.txt" 2>"$TMP/mt_hi.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/mt_hi.err" 'budget: .*armed' 20 || fail "no budget line on attach: $(cat "$TMP/mt_hi.err")"
url=$(sed -n 's/.*serving metrics at \(http:[^ ]*\).*/\1/p' "$TMP/mt_hi.err")
# published once a second: the first after the decision says it
for _ in $(seq 20); do
	python3 - "$url" >"$TMP/m.txt" <<'PY' || fail "GET $url failed"
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())
PY
	grep -qx 'memtrace_budget_estimated 1' "$TMP/m.txt" && break
	sleep 0.25
done
grep -qx 'memtrace_budget_estimated 1' "$TMP/m.txt" && grep -q '^memtrace_budget_traced_fraction 0\.' "$TMP/m.txt" ||
	fail "/metrics does not label the estimates: $(grep budget "$TMP/m.txt")"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/mt_hi.err")"
[ "$(grep -c '^(estimated) overhead budget: allocator probes armed' "$TMP/hi.txt")" -ge 3 ] ||
	fail "the periodic and final text reports do not all label the estimates: $(grep -c '^memtrace: pid' "$TMP/hi.txt") reports"
gzip -dc "$TMP/hi.pb.gz" | grep -aq 'overhead budget: estimates' || fail "the pprof profile does not label its estimates"
grep -q 'budget: .*(budget 5%, the default): allocator probes armed .* ms every .*--max-overhead off traces every call' \
	"$TMP/mt_hi.err" ||
	fail "no line on attach says what memtrace does about the rate and how to trace in full: $(cat "$TMP/mt_hi.err")"
grep -q 'ESTIMATES: counts above are from' "$TMP/hi.txt" "$TMP/mt_hi.err" || fail "the text report does not label its estimates"
python3 - "$TMP/hi.json" <<'PY' || { sed -n '/^budget/,$p' "$TMP/hi.txt" "$TMP/mt_hi.err"; exit 1; }
import json, sys
r = json.load(open(sys.argv[1]))

def funcs(e):
    return [f["func"] for f in e["stack"] if f["func"]]

def die(msg):
    print("FAIL:", msg)
    sys.exit(1)

b = r["budget"]
print("mode", b["mode"], "duty", round(b["duty_cycle"], 4), "windows", b["windows"],
      "trend windows", b["trend_windows"], "cost %", round(b["estimated_cost_pct"], 2),
      "hits", b["alloc_hits"], b["free_hits"])
if b["mode"] != "budgeted" or b["max_overhead_pct"] != 5:
    die("a busy target is not budgeted by default: %s, %s%%" % (b["mode"], b["max_overhead_pct"]))
if not 0 < b["duty_cycle"] < 1 or not b["estimated"]:
    die("duty cycle %s, estimated %s" % (b["duty_cycle"], b["estimated"]))
for k in ("max_overhead_pct", "probe_hit_ns", "rate", "alloc_hits", "free_hits",
          "estimated_cost_pct", "arm_ms", "disarm_ms"):
    if k not in b:
        die("budget section lacks %s" % k)
if b["probe_hit_ns"]["entry"] <= 0 or b["rate"]["alloc_calls_per_s"] <= 0:
    die("calibration or rate missing: %s %s" % (b["probe_hit_ns"], b["rate"]))
sites = [s for s in r["sites"] if any(f.startswith("wl_site") for f in funcs(s))]
if not sites:
    die("no wl_site in the sites")
for s in sites:
    sb = s.get("budget")
    if not sb or not sb["estimated"] or sb["traced_fraction"] != b["traced_fraction"]:
        die("a site's counts are not labelled as estimates: %s" % sb)
leak = [l for l in r["leaks"] if "wl_planted_leak" in funcs(l)]
if len(leak) != 1:
    die("the planted leak is not found: %s" % [funcs(l)[:2] for l in r["leaks"]])
lb = leak[0]["budget"]
if lb["survivors"] != "growing" or not 0.99 <= lb["confidence"] <= 1:
    die("the leak's survivor verdict: %s" % lb)
churn = [(funcs(l)[:1], l["objects"], l["oldest_age_s"], l["budget"]) for l in r["leaks"]
         if any(f.startswith("wl_site") for f in funcs(l))]
if churn:
    die("churn sites reported as leaks: %s" % churn)
print("ok: leak z %.1f confidence %.4f grew %d, %d churn sites not leaks (grew/cleaned/z: %s)" % (
    lb["mk_z"], lb["confidence"], lb["grew"], len(sites),
    " ".join("%d/%d/%.1f" % (s["budget"].get("grew", 0), s["budget"].get("cleaned", 0), s["budget"].get("mk_z", 0))
             for s in sites if s["budget"].get("windows"))))
PY
alive "$hi" || fail "the busy target died with memtrace"

# With --max-overhead off the busy target is traced exactly, and one line
# says what that costs it and what to do (issue 12 item 7).
"$MT" -p "$hi" -d 3 --max-overhead off --json "$TMP/full.json" >"$TMP/full.txt" 2>"$TMP/mt_full.err" ||
	fail "memtrace exited $?: $(cat "$TMP/mt_full.err")"
grep -q "PID $hi makes [0-9]* allocator calls/s under trace; .* of a core .*--max-overhead 5" "$TMP/mt_full.err" ||
	fail "no cost line for a busy target traced in full: $(cat "$TMP/mt_full.err")"

# A quiet target: 20 requests/s, ~1100 calls/s, fits the budget.
"$WL/wl_budget" -t 1 -r 20 -s 60 >"$TMP/lo.out" 2>"$TMP/lo.err" &
lo=$!
CLEANUP_PIDS+=("$lo")
wait_for "$TMP/lo.out" '^ready' || fail "workload did not start"
"$MT" -p "$lo" -d 3 --max-overhead 5 --json "$TMP/lo.json" >"$TMP/lo.txt" 2>"$TMP/mt_lo.err" ||
	fail "memtrace exited $?: $(cat "$TMP/mt_lo.err")"
grep -q 'budget: .*tracing every call' "$TMP/mt_lo.err" || fail "no 'tracing every call' line: $(cat "$TMP/mt_lo.err")"
# The default budget on the quiet target: exact, and not a word about it.
"$MT" -p "$lo" -d 3 --json "$TMP/lodef.json" >/dev/null 2>"$TMP/mt_lodef.err" ||
	fail "memtrace exited $?: $(cat "$TMP/mt_lodef.err")"
grep -q "allocator calls/s" "$TMP/mt_lodef.err" && fail "a budget or cost line for a quiet target: $(cat "$TMP/mt_lodef.err")"
# The quiet target gets busy while attached (SIGUSR1: flat out): the
# default budget, exact at attach, starts cycling within about a second
# of the load, and says so.
"$MT" -p "$lo" -d 5 --json "$TMP/late.json" >/dev/null 2>"$TMP/mt_late.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/mt_late.err" 'attached to PID' 20 || fail "no attach: $(cat "$TMP/mt_late.err")"
sleep 1.5
kill -USR1 "$lo"
wait "$mt" || fail "memtrace exited $?: $(cat "$TMP/mt_late.err")"
grep -q 'budget: .*(budget 5%, the default): allocator probes armed' "$TMP/mt_late.err" ||
	fail "a target busy after the attach is not budgeted: $(cat "$TMP/mt_late.err")"
python3 - "$TMP/late.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))["budget"]
print("late load: mode", b["mode"], "windows", b["windows"], "duty", round(b["duty_cycle"], 3),
      "rate", round(b["rate"]["alloc_calls_per_s"]))
if b["mode"] != "budgeted" or b["windows"] < 2 or not b["estimated"] or not 0 < b["duty_cycle"] < 1:
    print("FAIL: the budget did not follow the load: %s" % b)
    sys.exit(1)
PY
python3 - "$TMP/lo.json" "$TMP/lodef.json" <<'PY'
import json, sys
for path in sys.argv[1:]:
    r = json.load(open(path))
    b = r["budget"]
    print(path.rsplit("/", 1)[1], "mode", b["mode"], "duty", b["duty_cycle"], "rate",
          round(b["rate"]["alloc_calls_per_s"]))
    if b["mode"] != "exact" or b["duty_cycle"] != 1 or b["estimated"] or b["max_overhead_pct"] != 5:
        print("FAIL: a quiet target is not traced exactly: %s" % b)
        sys.exit(1)
    if any("budget" in s for s in r["sites"]):
        print("FAIL: exact sites labelled as estimates")
        sys.exit(1)
    if r["totals"]["allocs"] < 1000:
        print("FAIL: only %d allocations in 3 s of ~1100/s" % r["totals"]["allocs"])
        sys.exit(1)
PY
echo pass
