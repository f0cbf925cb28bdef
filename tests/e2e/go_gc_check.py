#!/usr/bin/env python3
"""Checks memtrace's "go" report section against what the Go program
itself printed (tests/e2e/go/gcprog.go: runtime.ReadMemStats before its GC
phase and after it, the second while memtrace had read its memory with
the program parked).

  go_gc_check.py attach REPORT.json PROGRAM.out   memtrace detached while parked
  go_gc_check.py launch REPORT.json PROGRAM.out   memtrace -- program: read at exit
  go_gc_check.py nodwarf REPORT.json PROGRAM.out  -ldflags=-w: cycles, no MemStats
Exits 1 naming every mismatch."""
import json
import sys

mode, report, prog_out = sys.argv[1:4]
go = json.load(open(report)).get("go")
prog = {}
for line in open(prog_out):
    parts = line.split()
    if len(parts) == 2 and "." in parts[0]:
        when, key = parts[0].split(".", 1)
        prog.setdefault(when, {})[key] = float(parts[1]) if "." in parts[1] or "e" in parts[1] else int(parts[1])
bad = []
KEEP, HEAP_POINTS = 256, 1024   # pauses listed; heap timeline points (+ the last cycle)
limited = prog.get("settings", {}).get("MemoryLimit", 2**63 - 1) < 2**63 - 1


def check(cond, what):
    if not cond:
        bad.append(what)


if go is None:
    print("no \"go\" section in %s" % report)
    sys.exit(1)
before, after = prog["before"], prog["after"]
gc, ms = go.get("gc"), go.get("memstats")

# MemStats fields and the program's names for them.
FIELDS = [("heap_alloc", "HeapAlloc"), ("heap_inuse", "HeapInuse"), ("heap_idle", "HeapIdle"),
          ("heap_released", "HeapReleased"), ("heap_objects", "HeapObjects"), ("next_gc", "NextGC"),
          ("num_gc", "NumGC"), ("pause_total_ns", "PauseTotalNs"), ("heap_sys", "HeapSys"),
          ("mallocs", "Mallocs"), ("frees", "Frees"), ("total_alloc", "TotalAlloc"),
          ("gc_cpu_fraction", "GCCPUFraction")]


def cycles_checks(exact_numbers):
    check(gc is not None and gc["traced"], "GC not traced")
    if not gc or not gc["traced"]:
        return
    pauses = gc["pauses"]
    # Every cycle of the phase was seen whole, in order, numbered as NumGC.
    delta = after["NumGC"] - before["NumGC"]
    check(delta > 0, "the program ran no GC (NumGC %d -> %d)" % (before["NumGC"], after["NumGC"]))
    if mode == "launch":
        check(gc["cycles"] == after["NumGC"],
              "probes counted %d cycles, the program's NumGC is %d" % (gc["cycles"], after["NumGC"]))
    else:
        check(gc["cycles"] == delta,
              "probes counted %d cycles, NumGC rose by %d" % (gc["cycles"], delta))
    # The last 256 cycles are listed (the runtime's own PauseNs ring), the
    # rest counted; the totals cover every cycle.
    check(len(pauses) == min(gc["cycles"], KEEP), "%d pauses listed for %d cycles" % (len(pauses), gc["cycles"]))
    check(gc["pauses_omitted"] == gc["cycles"] - len(pauses),
          "pauses_omitted %d, %d cycles, %d listed" % (gc["pauses_omitted"], gc["cycles"], len(pauses)))
    whole = gc["pauses_omitted"] == 0
    if exact_numbers and pauses:
        check([p["n"] for p in pauses] == list(range(after["NumGC"] - len(pauses) + 1, after["NumGC"] + 1)),
              "cycle numbers %s do not end at NumGC %d" % ([p["n"] for p in pauses], after["NumGC"]))
    end = 0
    for p in pauses:
        check(p["whole"], "cycle %d not seen whole" % p["n"])
        check(p["start_ns"] >= end, "cycle %d starts before the previous ended" % p["n"])
        check(p["sweep_term_ns"] > 0 and p["mark_term_ns"] > 0 and p["mark_ns"] > 0,
              "cycle %d has an empty phase: %s" % (p["n"], p))
        check(p["start_ns"] + p["sweep_term_ns"] + p["mark_ns"] + p["mark_term_ns"] == p["end_ns"],
              "cycle %d: phases do not add up to its span" % p["n"])
        end = p["end_ns"]
        if exact_numbers:
            # (under a memory limit the goal can be the last marked heap,
            # 0 before the first cycle ends)
            # (marked can exceed heap_end by a little: objects allocated
            # black during the mark are in both, counted at different times)
            check((p["goal"] > 0 or limited) and p["heap_marked"] > 0 and p["heap_end"] > 0,
                  "cycle %d: heap timeline %s" % (p["n"], p))
    listed = [p["sweep_term_ns"] + p["mark_term_ns"] for p in pauses]
    if whole:
        check(gc["pause_total_ns"] == sum(listed), "pause_total_ns is not the sum of the pauses")
        check(gc["pause_max_ns"] == max(listed, default=0), "pause_max_ns is not the longest pause")
    else:
        check(gc["pause_total_ns"] > sum(listed), "pause_total_ns does not count the cycles not listed")
        check(gc["pause_max_ns"] >= max(listed), "pause_max_ns below a listed pause")
    hist = gc["pause_hist"]
    check(sum(h["count"] for h in hist) == gc["cycles"], "pause_hist counts %d cycles of %d" %
          (sum(h["count"] for h in hist), gc["cycles"]))
    check(all(any(h["lo_ns"] <= v < max(2 * h["lo_ns"], 2) for h in hist) for v in listed),
          "a listed pause outside every pause_hist bucket")
    # The heap per cycle over the whole run: every stride-th cycle, and the last.
    tl, stride = gc["heap_timeline"], gc["heap_timeline_stride"]
    check(len(tl) <= HEAP_POINTS + 1, "%d heap timeline points" % len(tl))
    n = gc["cycles"]
    check(len(tl) == (n + stride - 1) // stride + (1 if n and (n - 1) % stride else 0),
          "%d heap timeline points for %d cycles at stride %d" % (len(tl), n, stride))
    if tl and pauses:
        check(all(tl[i]["n"] == tl[0]["n"] + i * stride for i in range(len(tl) - 1)),
              "heap timeline points not every %d cycles: %s" % (stride, [t["n"] for t in tl[:8]]))
        check(tl[-1] == {k: pauses[-1][k] for k in tl[-1]}, "the last heap point %s is not the last cycle's" % tl[-1])
    check(gc["lost_events"] == 0, "%d GC events lost" % gc["lost_events"])
    if mode != "launch":
        # ReadMemStats stopped the world once while attached: not a GC pause.
        check(gc["other_stw"] >= 1, "the ReadMemStats stop of the world was not seen as other")
    if exact_numbers and mode != "launch":
        # The runtime's own pause of each cycle, from its PauseNs ring:
        # their sum is exactly how far PauseTotalNs rose.
        rt = [p["runtime_pause_ns"] for p in pauses]
        rise = after["PauseTotalNs"] - before["PauseTotalNs"]
        check(None not in rt, "runtime pauses missing: %s" % rt)
        check(gc["runtime_pauses"] == gc["cycles"], "%d runtime pauses read of %d cycles" %
              (gc["runtime_pauses"], gc["cycles"]))
        check(gc["runtime_pause_total_ns"] == rise, "runtime pauses total %d, PauseTotalNs rose by %d" %
              (gc["runtime_pause_total_ns"], rise))
        if None not in rt:
            check(gc["runtime_pause_max_ns"] >= max(rt, default=0), "runtime_pause_max_ns below a listed pause")
            if whole:
                check(sum(rt) == rise, "runtime pauses sum to %d, PauseTotalNs rose by %d" % (sum(rt), rise))
            check(rt[-1] == after["PauseNsLast"], "last pause %d, the program's PauseNs says %d" %
                  (rt[-1], after["PauseNsLast"]))


if mode == "attach":
    check(ms is not None, "no memstats")
    if ms:
        for k, g in FIELDS:
            check(ms[k] == after[g], "%s: memtrace %s, ReadMemStats %s" % (k, ms[k], after[g]))
        check(gc["num_gc_delta"] == after["NumGC"] - before["NumGC"],
              "num_gc_delta %s, NumGC rose by %d" % (gc["num_gc_delta"], after["NumGC"] - before["NumGC"]))
        st = prog["settings"]
        check(ms["gogc"] == (st["GOGC"] if st["GOGC"] >= 0 else None),
              "GOGC %s, the program's %d" % (ms["gogc"], st["GOGC"]))
        check(ms["memory_limit"] == (st["MemoryLimit"] if st["MemoryLimit"] < 2**63 - 1 else None),
              "memory limit %s, the program's %d" % (ms["memory_limit"], st["MemoryLimit"]))
        if gc["pauses"]:
            check(gc["pauses"][-1]["heap_marked"] == ms["heap_marked"],
                  "last cycle marked %d, gcController.heapMarked %d" % (gc["pauses"][-1]["heap_marked"], ms["heap_marked"]))
    cycles_checks(True)
elif mode == "launch":
    # Read at the exit stop: printing allocated since, so within one cycle.
    check(ms is not None, "no memstats")
    if ms:
        check(abs(ms["num_gc"] - after["NumGC"]) <= 1, "NumGC %d vs %d" % (ms["num_gc"], after["NumGC"]))
        if ms["num_gc"] == after["NumGC"]:
            check(ms["pause_total_ns"] == after["PauseTotalNs"],
                  "PauseTotalNs %d vs %d" % (ms["pause_total_ns"], after["PauseTotalNs"]))
        check(gc["cycles"] == ms["num_gc"], "probes counted %d cycles, NumGC at exit %d" % (gc["cycles"], ms["num_gc"]))
    cycles_checks(True)
elif mode == "nodwarf":
    check(ms is None, "memstats present without DWARF")
    check(not gc or gc["runtime_pauses"] == 0, "runtime pauses read without DWARF")
    cycles_checks(False)
else:
    print("unknown mode %s" % mode)
    sys.exit(2)

for b in bad:
    print("FAIL: " + b)
sys.exit(1 if bad else 0)
