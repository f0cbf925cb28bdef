#!/usr/bin/env python3
"""Checks of the "processes" section for tools/workloads/wl_proc.c, whose
`alloc N` makes N malloc calls of 100..100+N-1 bytes, kept live."""


def block_bytes(n):
    return 100 * n + n * (n - 1) // 2


def wl_allocs(proc):
    """Objects and bytes the workload's wl_alloc made, from the image's sites."""
    objs = byts = 0
    for s in proc["sites"]:
        if any((f.get("func") or "") == "wl_alloc" for f in s["stack"]):
            objs += s["allocs"]
            byts += s["alloc_bytes"]
    return objs, byts


def check_image(errors, p, exe, allocs, end, exact=True, released=0):
    """One image: its executable, how it ended, its allocations (exact: the
    totals; else those from wl_alloc's sites), blocks released at exec,
    and leaks (every live block at exit; none after an exec). allocs is N
    or a list of the image's `alloc N` words."""
    batches = allocs if isinstance(allocs, list) else [allocs]
    allocs = sum(batches)
    want_bytes = sum(block_bytes(b) for b in batches)
    name = "pid %d %s" % (p["pid"], p["exe"])
    if p["exe"] != exe:
        errors.append("%s: exe, expected %s" % (name, exe))
    if p["end"] != end:
        errors.append("%s: end %s, expected %s" % (name, p["end"], end))
    got = (p["totals"]["allocs"], p["totals"]["alloc_bytes"]) if exact else wl_allocs(p)
    if got != (allocs, want_bytes):
        errors.append("%s: allocs/bytes %s, expected %s" % (name, got, (allocs, want_bytes)))
    if exact and p["calls"].get("malloc") != allocs:
        errors.append("%s: malloc calls %s, expected %d" % (name, p["calls"].get("malloc"), allocs))
    rel = p["released_at_exec"]
    if released is not None and (rel["objects"], rel["bytes"]) != (released, block_bytes(released)):
        errors.append("%s: released_at_exec %s, expected %d blocks" % (name, rel, released))
    leaked = sum(l["objects"] for l in p["leaks"])
    if end == "exec" and leaked:
        errors.append("%s: %d leaks after exec released everything" % (name, leaked))
    wl_leaked = sum(l["objects"] for l in p["leaks"]
                    if any((f.get("func") or "") == "wl_alloc" for f in l["stack"]))
    if end == "exit" and wl_leaked != allocs:
        errors.append("%s: %d workload leaks, expected %d" % (name, wl_leaked, allocs))
    if p["totals"]["untracked_frees"]:
        errors.append("%s: %d untracked frees" % (name, p["totals"]["untracked_frees"]))
