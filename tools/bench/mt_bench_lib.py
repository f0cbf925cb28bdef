# SPDX-License-Identifier: BSD-2-Clause
"""What the benchmark scripts of tools/bench share: the machine line each
section opens with, the section of docs/BENCHMARKS.md each one replaces,
and the BPF run time of memtrace's programs (kernel.bpf_stats_enabled)."""
import json
import os
import platform
import re
import subprocess
import time

BPF_STATS = "/proc/sys/kernel/bpf_stats_enabled"


def machine_line():
    """"Machine: host, N CPUs, kernel K; date": timings mean nothing without it."""
    return (f"Machine: {platform.node()}, {os.cpu_count()} CPUs, kernel {platform.release()}; "
            f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


def replace_section(path, header, body):
    """Replace the section of markdown document path that starts with the
    line header (up to the next "## " heading) by body, or append body."""
    text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
    start = text.find(header)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = re.search(r"^## ", text[start + len(header):], re.M)
        end = start + len(header) + nxt.start() if nxt else len(text)
        text = text[:start] + body + ("\n" if nxt else "") + text[end:]
    with open(path + ".tmp", "w") as f:
        f.write(text.rstrip("\n") + "\n")
    os.replace(path + ".tmp", path)


def prog_ids(pid):
    """Ids of the BPF programs pid holds open (its fdinfo), since bpftool
    may be built without the pids column."""
    ids = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) != "anon_inode:bpf-prog":
                continue
            with open("/proc/%d/fdinfo/%s" % (pid, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


def bpf_stats_run(go, pid):
    """Call go() with kernel.bpf_stats_enabled=1 (the old value restored:
    the counting costs every BPF program of the machine) and return its
    result and bpftool's entry, by program name, of each program pid holds
    that ran (run_cnt, run_time_ns)."""
    old = open(BPF_STATS).read().strip()
    with open(BPF_STATS, "w") as f:
        f.write("1")
    try:
        res = go()
        progs = json.loads(subprocess.run(["bpftool", "prog", "show", "-j"],
                                          capture_output=True, text=True).stdout or "[]")
    finally:
        with open(BPF_STATS, "w") as f:
            f.write(old)
    mine = prog_ids(pid)
    return res, {pr["name"]: pr for pr in progs if pr.get("id") in mine and pr.get("run_cnt")}
