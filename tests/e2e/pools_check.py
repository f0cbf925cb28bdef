#!/usr/bin/env python3
"""Checks of t66-pools.sh on one memtrace JSON report and the workload's
own output (lines "pool NAME gets G puts P hits H misses M live L cached C
bytes B", printed from mtpool_stats at exit). Each check prints what was
wrong and the script exits 1; a check is asked for by name:
  exact     every pool the program printed (exact=NAME: that one) is in
            "pools" with the same counters (gets, puts, hits, misses,
            checked_out = live, idle = cached, bytes_reserved)
  idle      no leak candidate holds a pool's idle object: the objects left
            live through the pools' miss path (obj_create) are exactly the
            checked-out ones, and each pool's idle objects in the heap were
            handed to it (idle_heap_objects = idle, plus for a buffer pool
            the idle buffers' data blocks the program counted on its line
            "bufdata NAME N", but the destroyed pool); no leak candidate was
            allocated by a buffer's growth (buf_grow): idle buffers keep it;
            such leaks are attributed to the program's function that got
            them (libmtpool's frames are wrappers), and the reachability
            split of each adds up to its objects
  leak      pool_events.leaks has FUNC's 7 objects (--pool-events)
  double    pool_events.errors has a "double put" whose stack has FUNC
  slow=BT   refills and flushes, read from the pools' memory (and from the
            destroy probe for wl_tmp), per pool equal bpftrace's counts of
            the refill and flush probes (file BT) in another run of the same
            deterministic program
"""
import json
import sys

report, prog_out, checks = sys.argv[1], sys.argv[2], sys.argv[3:]
rep = json.load(open(report))
prog = {}
bufdata = {}
for line in open(prog_out):
    w = line.split()
    if len(w) == 3 and w[0] == "bufdata":
        bufdata[w[1]] = int(w[2])
    if len(w) == 16 and w[0] == "pool":
        prog[w[1]] = {w[i]: int(w[i + 1]) for i in range(2, 16, 2)}
pools = {p["name"]: p for p in rep.get("pools") or []}
bad = []


def funcs(stack):
    return [f.get("func") or "" for f in stack or []]


for check in checks:
    name, _, arg = check.partition("=")
    if name == "exact":
        if not prog:
            bad.append("the program printed no pool counters")
        for pn, st in prog.items():
            if arg and pn != arg:
                continue
            p = pools.get(pn)
            if p is None:
                bad.append(f"pool {pn}: not in the report's pools {sorted(pools)}")
                continue
            want = {"gets": st["gets"], "puts": st["puts"], "hits": st["hits"],
                    "misses": st["misses"], "checked_out": st["live"],
                    "idle": st["cached"], "bytes_reserved": st["bytes"]}
            for k, v in want.items():
                if p.get(k) != v:
                    bad.append(f"pool {pn}: {k} {p.get(k)}, the program says {v}")
            rate = p.get("hit_rate")
            if st["gets"] and abs(rate - st["hits"] / st["gets"]) > 1e-9:
                bad.append(f"pool {pn}: hit_rate {rate}")
    elif name == "idle":
        via_pool = sum(l["objects"] for l in rep["leaks"]
                       if "obj_create" in funcs(l.get("stack")))
        # a size-class allocator's blocks come from its own mappings
        heap = {pn: st for pn, st in prog.items()
                if (pools.get(pn) or {}).get("kind") != "size_class"}
        out = sum(st["live"] for st in heap.values())
        if via_pool != out:
            bad.append(f"{via_pool} leak candidates allocated by the pools, "
                       f"but {out} objects checked out at exit")
        for l in rep["leaks"]:
            fs = funcs(l.get("stack"))
            if "buf_grow" in fs:
                bad.append(f"an idle buffer's data is a leak candidate: {l.get('bytes')} B at {fs}")
            if "obj_create" not in fs:
                continue
            at = fs[l.get("attributed_frame", 0)]
            if at not in ("serve", "plant_leak", "double_put", "worker"):
                bad.append(f"a pool's leak attributed to {at}, not the program's get site: {fs}")
            if "lost_objects" in l and l["lost_objects"] + l["reachable_objects"] != l["objects"]:
                bad.append(f"a pool's leak: lost {l['lost_objects']} + reachable "
                           f"{l['reachable_objects']} != {l['objects']} objects")
        for pn, st in heap.items():
            p = pools.get(pn) or {}
            want = 0 if p.get("destroyed") else st["cached"] + bufdata.get(pn, 0)
            if p.get("idle_heap_objects") != want:
                bad.append(f"pool {pn}: idle_heap_objects {p.get('idle_heap_objects')}, "
                           f"expected {want}")
    elif name == "leak":
        leaks = (rep.get("pool_events") or {}).get("leaks")
        if leaks is None:
            bad.append("pool_events.leaks is null")
        elif not any(l["objects"] == 7 and arg in funcs(l.get("stack")) for l in leaks):
            bad.append(f"no pool leak of 7 objects got in {arg}: {json.dumps(leaks)[:600]}")
    elif name == "noleak":
        leaks = (rep.get("pool_events") or {}).get("leaks")
        if leaks != []:
            bad.append(f"pool leaks where there are none: {json.dumps(leaks)[:600]}")
    elif name == "double":
        errs = (rep.get("pool_events") or {}).get("errors") or []
        if not any(e["error"] == "double put" and arg in funcs(e.get("stack")) for e in errs):
            bad.append(f"no double put with {arg} in its stack: {json.dumps(errs)[:600]}")
    elif name == "slow":
        # bpftrace's counts of the refill and flush probes per pool address
        # in another run of the same deterministic program: the same
        # multisets as the counters memtrace read from the pools' memory
        import re
        bt = {"r": [], "f": []}
        for line in open(arg):
            m = re.match(r"@([rf])\[\d+\]: (\d+)", line)
            if m:
                bt[m.group(1)].append(int(m.group(2)))
        mine = {"r": [p["refills"] for p in pools.values() if p["refills"]],
                "f": [p["flushes"] for p in pools.values() if p["flushes"]]}
        if not bt["r"] or not bt["f"]:
            bad.append(f"bpftrace counted nothing: {open(arg).read()[:300]}")
        for k, what in (("r", "refills"), ("f", "flushes")):
            if sorted(mine[k]) != sorted(bt[k]):
                bad.append(f"{what} per pool {sorted(mine[k])}, bpftrace counted {sorted(bt[k])}")
    else:
        sys.exit(f"pools_check: unknown check {name}")
for b in bad:
    print(f"{report}: {b}")
sys.exit(1 if bad else 0)
