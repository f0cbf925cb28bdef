# gdb's backtraces of chosen allocations, the oracle of the unwinding tests.
#   GDB_SIZES=12345,12346 GDB_FRAMES_OUT=PREFIX gdb -batch -nx -x gdb_frames.py --args PROG...
# Breaks on malloc for each size in GDB_SIZES and writes PREFIX.SIZE: the
# caller frames of malloc, outermost last (past main, to the process or
# thread root), one per line as "module<TAB>file offset<TAB>function", the
# way memtrace's JSON names a frame (module, module_off, func). Inline
# frames (sharing their outer frame's pc) and tail-call frames (gdb's
# reconstruction, from call-site debug info, of a caller that jumped
# instead of calling: nothing of it is on the stack) are skipped:
# memtrace's frames are the return addresses on the stack.
# GDB_FUNC=mmap GDB_ARG=rsi: break on another function, its size in another
# argument register (the memory view's mmap stacks).
import os
import gdb

FUNC = os.environ.get("GDB_FUNC", "malloc")
ARG = os.environ.get("GDB_ARG", "rdi")


def mappings(pid):
    out = []
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            p = line.split()
            if len(p) < 6 or "x" not in p[1]:
                continue
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            out.append((lo, hi, int(p[2], 16), p[5]))
    return out


def record():
    size = int(gdb.parse_and_eval("$" + ARG))
    maps = mappings(gdb.selected_inferior().pid)
    lines = []
    f = gdb.newest_frame().older()   # #0 is FUNC itself
    while f is not None:
        if f.type() not in (gdb.INLINE_FRAME, gdb.TAILCALL_FRAME):
            pc = f.pc()
            mod, off = "?", 0
            for lo, hi, o, path in maps:
                if lo <= pc < hi:
                    mod, off = path, pc - lo + o
            lines.append("%s\t%#x\t%s" % (mod, off, f.name() or "?"))
        f = f.older()
    with open("%s.%d" % (os.environ["GDB_FRAMES_OUT"], size), "w") as out:
        out.write("\n".join(lines) + "\n")


for cmd in ("set pagination off", "set confirm off", "set breakpoint pending on",
            "set backtrace past-main on", "set debuginfod enabled off"):
    gdb.execute(cmd)
cond = " || ".join("$%s == %s" % (ARG, s) for s in os.environ["GDB_SIZES"].split(","))
gdb.execute("break %s if %s" % (FUNC, cond))
gdb.execute("run")
while gdb.selected_inferior().pid:
    record()
    gdb.execute("continue")
