#!/usr/bin/env python3
"""Print the USDT semaphores of a provider, read from a running process.

usage: usdt_sems.py PID PROVIDER

For every file mapped in PID whose .note.stapsdt has PROVIDER's probes,
each probe's semaphore (a 16-bit counter a tracer raises while attached:
the kernel's uprobe reference counter) is read from /proc/PID/mem at its
run-time address: the note's link-time address turned into a file offset
through the file's PT_LOAD headers, then into the address where the
process maps that offset. Prints "NAME VALUE" per probe name, sorted
(probes sharing a name share its semaphore); exits 1 when the process
maps no such probe or a semaphore cannot be read.
"""
import struct
import subprocess
import sys


def notes(path, provider):
    """{probe name: semaphore link-time address} of path's notes."""
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    sems, prov, name = {}, None, None
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Provider:"):
            prov = line.split()[1]
        elif line.startswith("Name:"):
            name = line.split()[1]
        elif line.startswith("Location:") and prov == provider:
            sem = int(line.rsplit("Semaphore:", 1)[1].strip(), 16)
            if sem:
                sems[name] = sem
    return sems


def file_offset(path, vaddr):
    out = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            off, va, fsz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= vaddr < va + fsz:
                return vaddr - va + off
    return None


def main():
    pid, provider = sys.argv[1], sys.argv[2]
    maps = []
    with open("/proc/%s/maps" % pid) as f:
        for line in f:
            p = line.split(None, 5)
            if len(p) == 6 and p[5].startswith("/"):
                lo, hi = (int(x, 16) for x in p[0].split("-"))
                maps.append((lo, hi, int(p[2], 16), p[5].strip()))
    vals = {}
    with open("/proc/%s/mem" % pid, "rb") as mem:
        for path in sorted({m[3] for m in maps}):
            # the target's own view of the file (its root may differ)
            elf = "/proc/%s/root%s" % (pid, path)
            for name, sem in notes(elf, provider).items():
                off = file_offset(elf, sem)
                addr = next((lo + off - moff for lo, hi, moff, p in maps
                             if p == path and off is not None and moff <= off < moff + hi - lo), None)
                if addr is None:
                    print("%s: semaphore of %s at %#x is not mapped" % (path, name, sem), file=sys.stderr)
                    return 1
                mem.seek(addr)
                vals[name] = struct.unpack("<H", mem.read(2))[0]
    if not vals:
        print("pid %s maps no file with %s probes" % (pid, provider), file=sys.stderr)
        return 1
    for name in sorted(vals):
        print(name, vals[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
