#!/usr/bin/env python3
"""The tax on other processes (make bench; docs/BENCHMARKS.md "Tax on other
processes"): while memtrace --no-heap watches one idle process, an unrelated
process (syscall_tax) times getppid() (ns per syscall) and page faults (ns
per page of mmap/touch/munmap). Untraced and each --vm-source, interleaved
rounds, medians and ratios to untraced. Then the target's own cost of a
page fault under each --fault-source: syscall_tax fault launched under
memtrace --no-heap. A benchmark: nothing fails on speed.
Usage: vmtax.py --build DIR [--rounds N] [--doc FILE]"""
import argparse, os, platform, signal, statistics, subprocess, sys, time

# (key, memtrace options, table label)
SOURCES = [
    ("uprobe", ["--vm-source", "uprobe", "--fault-source", "perf"],
     "`--vm-source uprobe --fault-source perf` (default)"),
    ("fault_tp", ["--vm-source", "uprobe", "--fault-source", "tracepoint"],
     "`--vm-source uprobe --fault-source tracepoint` (last resort)"),
    ("raw_tp", ["--vm-source", "raw_tp", "--fault-source", "tracepoint"],
     "`--vm-source raw_tp --fault-source tracepoint` (both last resorts)"),
]
KEYS = ["untraced"] + [k for k, _, _ in SOURCES]
OPTS = {k: o for k, o, _ in SOURCES}


def bystander(tool, mode, n):
    out = subprocess.run([tool, mode, str(n)], capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def attach(build, pid, source):
    mt = subprocess.Popen([f"{build}/memtrace", "-p", str(pid), "--no-heap"] + OPTS[source] +
                          ["-o", os.devnull], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for line in mt.stderr:
        if "attached to PID" in line:
            time.sleep(1)   # let memtrace's own start-up work finish
            return mt
    raise SystemExit(f"vmtax: memtrace {' '.join(OPTS[source])} did not attach (exit {mt.wait()})")


def target_fault(build, tool, faults, source):
    """ns per page fault of the traced process itself (source None: untraced)."""
    cmd = [tool, "fault", str(faults)]
    if source is not None:
        cmd = [f"{build}/memtrace", "--no-heap", "--vm-source", "uprobe", "--fault-source", source,
               "-o", os.devnull, "--"] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def measure(tool, calls, faults):
    return bystander(tool, "getppid", calls), bystander(tool, "fault", faults)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--calls", type=int, default=2000000)
    ap.add_argument("--faults", type=int, default=40)
    ap.add_argument("--doc", default="")
    a = ap.parse_args()
    tool = f"{a.build}/bench/syscall_tax"
    idle = subprocess.Popen(["sleep", "3600"])
    res = {k: ([], []) for k in KEYS}
    own = {k: [] for k in ["untraced", "perf", "tracepoint"]}
    try:
        for r in range(a.rounds):
            for k in own:
                own[k].append(target_fault(a.build, tool, a.faults, None if k == "untraced" else k))
            for k in KEYS:
                mt = attach(a.build, idle.pid, k) if k != "untraced" else None
                g, f = measure(tool, a.calls, a.faults)
                if mt:
                    mt.send_signal(signal.SIGINT)
                    mt.wait()
                res[k][0].append(g)
                res[k][1].append(f)
    finally:
        idle.kill()
    base_g = statistics.median(res["untraced"][0])
    base_f = statistics.median(res["untraced"][1])
    lines = [
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, kernel {platform.release()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {a.rounds} interleaved rounds, medians of each run's fastest batch (the tax is added to every call; other load only slows a batch); "
        f"memtrace --no-heap -p (an idle sleep); the bystander is another process: "
        f"{a.calls} getppid() and {a.faults} x (mmap 4 MiB, touch every page, munmap).",
        "",
        "| memory syscalls seen through | getppid ns | ratio | page fault ns | ratio |",
        "|---|---|---|---|---|",
        f"| untraced | {base_g:.0f} | 1.000 | {base_f:.0f} | 1.000 |",
    ]
    for k, _, label in SOURCES:
        g = statistics.median(res[k][0])
        f = statistics.median(res[k][1])
        lines.append(f"| {label} | {g:.0f} | {g / base_g:.3f} | {f:.0f} | {f / base_f:.3f} |")
    base_o = statistics.median(own["untraced"])
    lines += [
        "",
        "The traced process's own page faults (syscall_tax fault launched under "
        "memtrace --no-heap --vm-source uprobe; ns per page of mmap/touch/munmap, the same rounds):",
        "",
        "| page faults seen through | target's page fault ns | ratio |",
        "|---|---|---|",
        f"| untraced | {base_o:.0f} | 1.000 |",
    ]
    for k, label in (("perf", "`--fault-source perf` (default): a perf event and BPF per fault"),
                     ("tracepoint", "`--fault-source tracepoint`: tp_btf and BPF per fault")):
        o = statistics.median(own[k])
        lines.append(f"| {label} | {o:.0f} | {o / base_o:.3f} |")
    text = "\n".join(lines)
    print(text)
    if a.doc:
        doc = open(a.doc).read()
        head = "## Tax on other processes (make bench: tools/bench/vmtax.py)\n"
        body = head + "\n" + text + "\n\n"
        if head in doc:
            start = doc.index(head)
            nxt = doc.find("\n## ", start + len(head))
            doc = doc[:start] + body + (doc[nxt + 1:] if nxt >= 0 else "")
        else:
            doc = doc.rstrip("\n") + "\n\n" + body
        open(a.doc, "w").write(doc)


main()
