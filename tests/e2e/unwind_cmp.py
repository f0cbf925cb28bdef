#!/usr/bin/env python3
"""Compare memtrace's stack of one allocation with gdb's backtrace of it.

usage: unwind_cmp.py REPORT.json SIZE GDB_FRAMES [--end END] [--names MODS] [--vm]

The site is the one whose allocations are all SIZE bytes. Its frames must
equal gdb's caller frames (gdb_frames.py): same count, same module and
file offset each, root included, and in the modules named by --names (comma-separated
basenames) the same function (C++ names demangled with c++filt, argument
lists and symbol versions dropped). System libraries are compared by
address only until memtrace reads their separate debug info the way gdb
does (gdb names libc's __libc_start_main_impl, .dynsym __libc_start_main). The stack's "end" must be END (default root).

--vm: the stack is the memory view's of the mmap origin whose mappings are
all SIZE bytes ("memory"."mappings"). Its first frame is the instruction
after the syscall, inside libc's mmap (gdb's frame #0, which it breaks at
and gdb_frames.py leaves out): it, and the functions inlined there, must
be named mmap; the frames after it are compared with gdb's.
"""
import json
import os
import subprocess
import sys


def norm(name):
    if not name or name == "?":
        return None
    name = name.split("@")[0]
    if name.startswith("_Z"):
        r = subprocess.run(["c++filt", name], capture_output=True, text=True)
        name = r.stdout.strip() or name
    depth = 0
    for i, c in enumerate(name):   # drop the argument list
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "(" and depth == 0 and i > 0:
            return name[:i]
    return name


def main():
    args = sys.argv[1:]
    end, names, vm = "root", set(), False
    if "--vm" in args:
        args.remove("--vm")
        vm = True
    if "--end" in args:
        i = args.index("--end")
        end = args[i + 1]
        del args[i:i + 2]
    if "--names" in args:
        i = args.index("--names")
        names = set(args[i + 1].split(","))
        del args[i:i + 2]
    report, size, gdbf = args[0], int(args[1]), args[2]
    with open(report) as f:
        r = json.load(f)
    if vm:
        sites = [s for s in r["memory"]["mappings"] if s["kind"] == "mmap" and s["mmaps"] and
                 s["bytes_mapped"] == size * s["mmaps"]]
    else:
        sites = [s for s in r["sites"] if s["allocs"] and s["alloc_bytes"] == size * s["allocs"]]
    if len(sites) != 1:
        print("FAIL: %d %s %d bytes (want 1)" % (len(sites), "origins map" if vm else "sites allocate", size))
        return 1
    s = sites[0]
    ours = [(os.path.basename(f["module"] or "?"), int(f["module_off"] or "0", 16), f["func"])
            for f in s["stack"]]
    if vm:
        top = [f for f in s["stack"] if f["addr"] == s["stack"][0]["addr"]] if s["stack"] else []
        if not top or any("mmap" not in (f["func"] or "") for f in top):
            print("FAIL: size %d: the first frame is not in mmap: %s" %
                  (size, [f["func"] for f in top]))
            return 1
        ours = ours[len(top):]
    with open(gdbf) as f:
        theirs = []
        for line in f.read().splitlines():
            mod, off, fn = line.split("\t")
            theirs.append((os.path.basename(mod), int(off, 16), fn))
    show = lambda fr: "\n".join("  %s+%#x %s" % x for x in fr)
    bad = []
    if s.get("end") != end:
        bad.append("end is %r, want %r" % (s.get("end"), end))
    if [x[:2] for x in ours] != [x[:2] for x in theirs]:
        bad.append("frames differ")
    elif names:
        for (m, o, a), (_, _, b) in zip(ours, theirs):
            if m in names and norm(a) != norm(b):
                bad.append("%s+%#x: memtrace names it %r, gdb %r" % (m, o, a, b))
    if bad:
        print("FAIL: size %d: %s\nmemtrace:\n%s\ngdb:\n%s" % (size, "; ".join(bad), show(ours), show(theirs)))
        return 1
    print("ok: size %d: %d frames, end %s" % (size, len(ours), end))
    return 0


if __name__ == "__main__":
    sys.exit(main())
