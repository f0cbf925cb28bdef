#!/usr/bin/env python3
"""Checks the "memory" object of a memtrace JSON report against wl_vm's
arguments (the expectations come from the same numbers the workload got).
Used by t40-vm.sh (exact, rss) and t41-vm-efficiency.sh (efficiency).

  vm_check.py exact JSON NA SIZE_A NB SIZE_B TOUCH UNMAP BRK MADV
  vm_check.py rss JSON VMRSS_KB          (within 1%)
  vm_check.py efficiency JSON below|above LIMIT
"""
import json
import sys

PAGE = 4096


def memory(path):
    with open(path) as f:
        doc = json.load(f)
    if "memory" not in doc or not isinstance(doc["memory"], dict):
        sys.exit("FAIL: no \"memory\" object in %s" % path)
    return doc["memory"]


def funcs(entry):
    return [fr.get("func") for fr in (entry.get("stack") or []) if fr]


def one(mem, kind, func):
    found = [m for m in mem["mappings"] if m["kind"] == kind and func in funcs(m)]
    if len(found) != 1:
        sys.exit("FAIL: %d %s origins with %s on the stack, 1 expected: %s" %
                 (len(found), kind, func, [funcs(m) for m in mem["mappings"]]))
    return found[0]


def expect(errors, what, got, want):
    if got != want:
        errors.append("%s: got %s, expected %s" % (what, got, want))


def exact(mem, na, sa, nb, sb, touch, unmap, brk, madv):
    errors = []
    for key in ("rss_bytes", "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes",
                "heap_resident_bytes", "mapped_bytes", "unmapped_bytes", "released_bytes",
                "brk_growth_bytes", "page_faults", "efficiency", "fragmentation",
                "mappings", "timeline"):
        if key not in mem:
            errors.append("missing key %s" % key)
    if errors:
        sys.exit("FAIL: " + "; ".join(errors))
    a = one(mem, "mmap", "wl_vm_map_a")
    b = one(mem, "mmap", "wl_vm_map_b")
    k = one(mem, "brk", "wl_vm_grow_brk")
    expect(errors, "A mmaps", a["mmaps"], na)
    expect(errors, "A bytes_mapped", a["bytes_mapped"], na * sa)
    expect(errors, "A munmaps", a["munmaps"], unmap)
    expect(errors, "A bytes_unmapped", a["bytes_unmapped"], unmap * sa)
    expect(errors, "A bytes_released", a["bytes_released"], 0)
    expect(errors, "A page_faults", a["page_faults"], na * touch)
    expect(errors, "A bytes_faulted", a["bytes_faulted"], na * touch * PAGE)
    expect(errors, "B mmaps", b["mmaps"], nb)
    expect(errors, "B bytes_mapped", b["bytes_mapped"], nb * sb)
    expect(errors, "B munmaps", b["munmaps"], 0)
    expect(errors, "B bytes_released", b["bytes_released"], madv * PAGE)
    expect(errors, "B page_faults", b["page_faults"], nb * touch)
    expect(errors, "brk bytes_mapped", k["bytes_mapped"], brk)
    expect(errors, "brk page_faults", k["page_faults"], brk // PAGE)
    # Totals include the loader's and malloc's own calls: at least ours.
    if mem["mapped_bytes"] < na * sa + nb * sb:
        errors.append("mapped_bytes %d < %d" % (mem["mapped_bytes"], na * sa + nb * sb))
    if mem["unmapped_bytes"] < unmap * sa:
        errors.append("unmapped_bytes %d < %d" % (mem["unmapped_bytes"], unmap * sa))
    if mem["released_bytes"] < madv * PAGE:
        errors.append("released_bytes %d < %d" % (mem["released_bytes"], madv * PAGE))
    if mem["brk_growth_bytes"] < brk:
        errors.append("brk_growth_bytes %d < %d" % (mem["brk_growth_bytes"], brk))
    if mem["page_faults"] < (na + nb) * touch + brk // PAGE:
        errors.append("page_faults %d too low" % mem["page_faults"])
    if not mem["timeline"]:
        errors.append("empty timeline")
    for p in mem["timeline"]:
        for key in ("t_s", "rss_anon_bytes", "rss_file_bytes", "live_bytes", "page_faults"):
            if key not in p:
                errors.append("timeline point without %s" % key)
                break
    for m in mem["mappings"]:
        for fr in m.get("stack") or []:
            if not str(fr.get("addr", "")).startswith("0x"):
                errors.append("frame without a hex addr: %s" % fr)
                break
    # A single mapping: its address range in start/end, its origin's walk
    # end in stack_end (end is taken by the address).
    sizes = {"wl_vm_map_a": (sa, a), "wl_vm_map_b": (sb, b)}
    mine = 0
    for m in mem.get("top_mappings") or []:
        for fn, (size, origin) in sizes.items():
            if fn not in funcs(m):
                continue
            mine += 1
            try:
                span = int(m["end"], 16) - int(m["start"], 16)
            except (KeyError, TypeError, ValueError):
                errors.append("%s mapping: start %r, end %r" % (fn, m.get("start"), m.get("end")))
                continue
            expect(errors, "%s mapping end - start" % fn, span, size)
            expect(errors, "%s mapping stack_end" % fn, m.get("stack_end"), origin.get("end"))
    if not mine:
        errors.append("no wl_vm_map_a/b mapping in top_mappings")
    if errors:
        sys.exit("FAIL: " + "; ".join(errors))
    print("ok: A %d maps/%d faults, B %d maps/%d faults, brk %d bytes, %d released" %
          (a["mmaps"], a["page_faults"], b["mmaps"], b["page_faults"], k["bytes_mapped"],
           b["bytes_released"]))


def rss(mem, vmrss_kb):
    want = vmrss_kb * 1024
    got = mem["rss_bytes"]
    if abs(got - want) > want * 0.01:
        sys.exit("FAIL: rss_bytes %d vs VmRSS %d: off by %.2f%%" %
                 (got, want, 100.0 * abs(got - want) / want))
    print("ok: rss_bytes %d, VmRSS %d (%.3f%%)" % (got, want, 100.0 * abs(got - want) / want))


def efficiency(mem, how, limit):
    e = mem.get("efficiency")
    if e is None:
        sys.exit("FAIL: efficiency is null (heap_live %s, heap_resident %s)" %
                 (mem.get("heap_live_bytes"), mem.get("heap_resident_bytes")))
    if (how == "below" and not e < limit) or (how == "above" and not e > limit):
        sys.exit("FAIL: efficiency %.3f not %s %.2f (live %s, resident %s)" %
                 (e, how, limit, mem.get("heap_live_bytes"), mem.get("heap_resident_bytes")))
    print("ok: efficiency %.3f %s %.2f, fragmentation %.3f" % (e, how, limit,
                                                            mem["fragmentation"]))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, mem = sys.argv[1], memory(sys.argv[2])
    if mode == "exact" and len(sys.argv) == 11:
        exact(mem, *[int(x, 0) for x in sys.argv[3:]])
    elif mode == "rss" and len(sys.argv) == 4:
        rss(mem, int(sys.argv[3]))
    elif mode == "efficiency" and len(sys.argv) == 5:
        efficiency(mem, sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
