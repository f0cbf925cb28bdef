#!/usr/bin/env bash
# Pool advice: wl_advice's hot site (64 B blocks in batches of a prime 37,
# ~250k/s, short-lived) gets an object_pool of capacity 37; its long-lived
# random-size site gets none. Both with a reason.
. "$(dirname "$0")/lib.sh"
need_bpf
[ -x "$WL/wl_advice" ] || fail "$WL/wl_advice not built"
batch=37
"$MT" --json "$TMP/r.json" -- "$WL/wl_advice" 3 "$batch" >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
grep -q '^pool advice:' "$TMP/err" || fail "no 'pool advice' section in the text report"
grep -q "object_pool, capacity $batch, objects of 64 B:" "$TMP/err" ||
	fail "the hot site's advice line: $(grep -A3 '^pool advice:' "$TMP/err")"
if grep -q ' 0 B objects' "$TMP/err"; then fail "advice names 0 B objects: $(grep ' 0 B objects' "$TMP/err")"; fi
python3 - "$TMP/r.json" "$batch" <<'PY' || fail "pool advice"
import json, sys
r = json.load(open(sys.argv[1]))
batch = int(sys.argv[2])

def die(msg):
    print("FAIL:", msg)
    for a in r.get("advice", []):
        print(" ", a["pool"], a["capacity"], a["object_size"], a["reason"],
              [f["func"] for f in a["stack"]][:2])
    sys.exit(1)

def by_func(fn):
    return [a for a in r["advice"] if any(f["func"] == fn for f in a["stack"])]

if r["lost_events"]:
    die("%d events lost: the peak live count cannot be exact" % r["lost_events"])
hot, cold = by_func("wl_hot_objects"), by_func("wl_long_lived")
if len(hot) != 1 or len(cold) != 1:
    die("expected one advice entry per workload site")
h, c = hot[0], cold[0]
if h["pool"] != "object_pool":
    die("hot site: %s, expected object_pool" % h["pool"])
if h["capacity"] != batch or h["object_size"] != 64:
    die("hot site: capacity %d, object_size %s; expected %d and 64" %
        (h["capacity"], h["object_size"], batch))
# calls saved = its (allocs + frees) per second, from the same report.
site = [s for s in r["sites"] if s["site"] == h["site"]]
if len(site) != 1:
    die("the hot site %r is %d times among the report's sites, once expected" %
        (h["site"], len(site)))
want = (site[0]["allocs"] + site[0]["frees"]) / r["duration_s"]
if abs(h["calls_saved_per_s"] - want) > 0.01 * want:
    die("calls_saved_per_s %.0f, expected %.0f" % (h["calls_saved_per_s"], want))
if h["calls_saved_per_s"] < 50000:
    die("hot site saves only %.0f calls/s" % h["calls_saved_per_s"])
if c["pool"] != "none" or c["capacity"] != 0:
    die("long-lived site: %s, expected none" % c["pool"])
if not h["reason"] or not c["reason"]:
    die("an advice entry has no reason")
print("ok: hot %s cap %d saves %.0f/s (%s); cold %s (%s)" % (
    h["pool"], h["capacity"], h["calls_saved_per_s"], h["reason"], c["pool"], c["reason"]))
PY

# Advice that knows a leak: the demo's format_headers leaks one response
# header in ten; a pool sized to its peak would hold the leak, so its
# advice is to fix the leak, with the report's own count of lost objects.
"$MT" --no-vm --json "$TMP/demo.json" -- "$WL/mt_demo" 2 >/dev/null 2>"$TMP/demo.err" ||
	fail "memtrace on mt_demo: $(tail -3 "$TMP/demo.err")"
grep -q "fix the leak" "$TMP/demo.err" || fail "no 'fix the leak' advice in the text report"
python3 - "$TMP/demo.json" <<'PY' || fail "advice for a leaking site"
import json, sys
r = json.load(open(sys.argv[1]))
has = lambda e: any(f["func"] == "format_headers" for f in e["stack"])
adv = [a for a in r["advice"] if has(a)]
leak = [l for l in r["leaks"] if has(l)]
if len(adv) != 1 or len(leak) != 1:
    sys.exit("FAIL: format_headers: %d advice entries, %d leak entries" % (len(adv), len(leak)))
a, l = adv[0], leak[0]
lost = l["lost_objects"] if r.get("reachability") else l["objects"]
if not a["leak"] or a["pool"] != "none" or a["capacity"] != 0 or a["leaked_objects"] != lost:
    sys.exit("FAIL: format_headers advice %s (leaked %s), the report lost %d" %
             (a["pool"], a["leaked_objects"], lost))
if lost < 100:
    sys.exit("FAIL: only %d objects lost: the demo leaks more" % lost)
print("ok: format_headers: fix the leak of %d objects" % lost)
PY
