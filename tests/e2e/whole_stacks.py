#!/usr/bin/env python3
"""The busiest allocation sites of a report have whole, named stacks.

usage: whole_stacks.py REPORT.json NAME [TOP]

The TOP (default 10) sites with the most allocations must each have more
than one frame, end at the root ("end": "root") and pass through libc's
__libc_start_main (the programs checked are single-threaded: every
allocation is made on the main thread, whose root is reached through it).
Names are checked where the files carry them: every frame of a module
named from separate debug info (libc with libc6-dbg) has a function name;
a frame of a module named by its own symbol table that lies inside a
function its .dynsym defines has that function's name (or an alias at
the same address). Prints one line with the counts; exits 1 listing
every problem.
"""
import json
import subprocess
import sys


def loads(path):
    """PT_LOAD segments of an ELF file: (file offset, vaddr, file size)."""
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True, check=True).stdout
    segs = []
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            segs.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
    return segs


def dynsym_funcs(path):
    """Defined functions of an ELF file's .dynsym: [(start, end, names)]."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", path], capture_output=True, text=True,
                         check=True).stdout
    by_start = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 8 or f[3] not in ("FUNC", "IFUNC") or f[6] == "UND":
            continue
        start, size = int(f[1], 16), int(f[2], 0)
        if size <= 0:
            continue
        end, names = by_start.get(start, (start + size, set()))
        names.add(f[7].split("@")[0])
        by_start[start] = (max(end, start + size), names)
    return [(s, e, n) for s, (e, n) in by_start.items()]


def main():
    report, name = sys.argv[1], sys.argv[2]
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    r = json.load(open(report))
    mods = {m["path"]: m for m in r["modules"]}
    sites = sorted(r["sites"], key=lambda s: (-s["allocs"], s["site"]))
    err = []
    if len(sites) < top:
        err.append("%d sites, fewer than %d" % (len(sites), top))
    elf = {}
    named = 0
    for s in sites[:top]:
        st = s["stack"]
        where = "site %s (%d allocs)" % (s["site"], s["allocs"])
        if s.get("end") != "root" or len(st) < 2:
            err.append("%s: end %s after %d frames" % (where, s.get("end"), len(st)))
            continue
        if not any(f["func"] == "__libc_start_main" for f in st):
            err.append("%s: no __libc_start_main frame: %s" % (where, [f["func"] for f in st]))
        for f in st:
            m = mods.get(f["module"])
            if m is None:
                err.append("%s: frame %s in no module" % (where, f["addr"]))
                continue
            if m["symbols"] not in ("symtab", "none"):
                # named from debug info: every function has a name there
                if not f["func"]:
                    err.append("%s: frame %s (%s+%s) unnamed, the module's symbols are %s"
                               % (where, f["addr"], m["path"], f["module_off"], m["symbols"]))
                else:
                    named += 1
                continue
            if f["inline"]:
                continue
            if m["path"] not in elf:
                elf[m["path"]] = (loads(m["path"]), dynsym_funcs(m["path"]))
            segs, funcs = elf[m["path"]]
            off = int(f["module_off"], 16)
            va = next((off - o + v for o, v, sz in segs if o <= off < o + sz), None)
            # the return address's call instruction lies before it
            hit = [n for a, b, n in funcs if va is not None and a <= va - 1 < b]
            if not hit:
                continue
            if f["func"] not in hit[0]:
                err.append("%s: frame %s (%s+%s) named %s, .dynsym says %s"
                           % (where, f["addr"], m["path"], f["module_off"], f["func"], sorted(hit[0])))
            else:
                named += 1
    if "__libc_start_main" not in {f["func"] for s in sites[:top] for f in s["stack"]}:
        err.append("libc's frames are not named (is libc6-dbg installed?)")
    for e in err:
        print("%s: %s" % (name, e))
    if not err:
        print("%s: the %d busiest of %d sites reach the root (%d to %d frames); %d frames named "
              "where the files name them" % (name, top, len(sites), min(len(s["stack"]) for s in sites[:top]),
                                            max(len(s["stack"]) for s in sites[:top]), named))
    return 1 if err else 0


if __name__ == "__main__":
    sys.exit(main())
