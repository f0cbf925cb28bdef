#!/usr/bin/env python3
"""Expected memtrace numbers for tools/workloads/wl_exact.c, computed from
the same arguments the workload gets, and a checker for memtrace's JSON.

usage: exact.py MODE REPORT.json [--threads T] CHURN WINDOW LEAK_A LEAK_B REPEAT PRE
MODE is launch (every live object at exit is a leak) or attach (PRE blocks
were allocated before attach: their frees are untracked).
"""
import json
import sys

# One round of wl_entry_points: successful allocations in order with the
# block each later releases; see the comments there.
ROUND_ALLOCS = [200, 400, 300, 600, 512, 256, 384, 1000, 1000, 150]
ROUND_CALLS = {"malloc": 1, "calloc": 2, "realloc": 4, "reallocarray": 2, "free": 8,
               "posix_memalign": 2, "memalign|aligned_alloc": 2, "valloc": 1, "pvalloc": 1}
ROUND_FAILED = 4


def expected(mode, churn, window, leak_a, leak_b, repeat, pre, threads=0):
    traced_pre = pre if mode == "launch" else 0
    allocs = traced_pre + churn + window + leak_a + leak_b + len(ROUND_ALLOCS) * repeat
    abytes = 32 * traced_pre + 48 * churn + 64 * window + 100 * leak_a + 4096 * leak_b \
        + sum(ROUND_ALLOCS) * repeat
    frees = traced_pre + churn + window + len(ROUND_ALLOCS) * repeat
    fbytes = 32 * traced_pre + 48 * churn + 64 * window + sum(ROUND_ALLOCS) * repeat
    calls = {k: v * repeat for k, v in ROUND_CALLS.items()}
    calls["malloc"] += traced_pre + churn + window + leak_a
    calls["calloc"] += leak_b
    calls["free"] += pre + churn + window
    allocs += threads * (churn + 1)
    abytes += threads * (24 * churn + 72)
    frees += threads * churn
    fbytes += threads * 24 * churn
    calls["malloc"] += threads * (churn + 1)
    calls["free"] += threads * churn
    totals = {
        "allocs": allocs, "frees": frees, "alloc_bytes": abytes, "free_bytes": fbytes,
        "live_objects": allocs - frees, "live_bytes": abytes - fbytes,
        "untracked_frees": pre if mode == "attach" else 0,
        "failed_allocs": ROUND_FAILED * repeat,
    }
    leaks = {}
    if leak_a:
        leaks["wl_leak_small"] = (leak_a, 100 * leak_a)
    if leak_b:
        leaks["wl_leak_calloc"] = (leak_b, 4096 * leak_b)
    if threads:
        leaks["wl_thread_leak"] = (threads, 72 * threads)
    return calls, totals, leaks


def leaks_by_function(report):
    """Leaked objects and bytes per innermost named function of the stack."""
    out = {}
    for leak in report["leaks"]:
        func = leak["stack"][0]["func"] if leak["stack"] else None
        o, b = out.get(func, (0, 0))
        out[func] = (o + leak["objects"], b + leak["bytes"])
    return out


def parse(argv):
    threads = 0
    if argv and argv[0] == "--threads":
        threads = int(argv[1])
        argv = argv[2:]
    return [int(x) for x in argv] + [threads]


def main():
    mode, path = sys.argv[1], sys.argv[2]
    params = parse(sys.argv[3:])
    with open(path) as f:
        report = json.load(f)
    calls, totals, leaks = expected(mode, *params)
    errors = []
    if report.get("version") != 1:
        errors.append("version %r" % report.get("version"))
    if report["lost_events"] != 0:
        errors.append("lost_events %d" % report["lost_events"])
    for k, v in totals.items():
        if report["totals"].get(k) != v:
            errors.append("totals.%s: got %s, expected %s" % (k, report["totals"].get(k), v))
    if report["calls"] != calls:
        errors.append("calls: got %s, expected %s" % (report["calls"], calls))
    got = leaks_by_function(report)
    if got != leaks:
        errors.append("leaks by function: got %s, expected %s" % (got, leaks))
    for e in errors:
        print("mismatch:", e)
    if not errors:
        print("exact: %d calls, %d allocs, %d frees, %d leaked objects all match" %
              (sum(calls.values()), totals["allocs"], totals["frees"], totals["live_objects"]))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
