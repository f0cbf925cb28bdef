#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The frame-pointer path against its raw probe floor (docs/BENCHMARKS.md,
"The frame-pointer path against its floor"): by hand, not part of
`make bench` (a few minutes). Needs root.

  python3 tools/bench/fp_floor.py [--build build] [--rounds 7] [--base OTHER_BUILD]

1. Ratios in one run: bench_churn (1 thread, malloc(64)+free, built with
   frame pointers; libc is walked by CFI) untraced, under the perf uprobe
   floor, memtrace --no-vm, --no-vm --callsite-only, and (--base) another
   build's memtrace --no-vm; interleaved rounds, medians.
2. The return probe's run time (bpf_stats) by --max-depth: what each frame
   of the walk costs.
"""
import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench as B  # noqa: E402
from mt_bench_lib import bpf_stats_run  # noqa: E402


def exit_ns(b, bench_b, extra, pairs):
    """Run time per run of memtrace's programs in one traced run."""
    w = B.Workload([b.wl("bench_churn"), "--wait", str(pairs)])
    out = {}
    try:
        m = B.Memtrace(bench_b, w.pid, ["--no-vm"] + extra)
        _, progs = bpf_stats_run(w.go, m.p.pid)
        for name, pr in progs.items():
            out[name] = pr["run_time_ns"] / pr["run_cnt"]
        m.stop()
    finally:
        w.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--base", help="another build to compare (e.g. main's)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--pairs", type=int, default=200000)
    a = ap.parse_args()
    b = B.Bench(argparse.Namespace(build=a.build, rounds=a.rounds, pairs=a.pairs))
    b.discover()
    configs = [("untraced", None, b),
               ("floor: perf uprobes at memtrace's offsets", b.tracer_floor(), b),
               ("memtrace --no-vm --callsite-only", b.tracer_memtrace(["--no-vm", "--callsite-only"]), b),
               ("memtrace --no-vm", b.tracer_memtrace(["--no-vm"]), b)]
    base = None
    if a.base:
        base = B.Bench(argparse.Namespace(build=a.base, rounds=a.rounds, pairs=a.pairs))
        configs.append(("base build: memtrace --no-vm", base.tracer_memtrace(["--no-vm"]), base))
    samples = {n: [] for n, _, _ in configs}
    progs = {}
    b.tracefs_events(True)
    try:
        for r in range(a.rounds):
            order = configs[r % len(configs):] + configs[:r % len(configs)]
            for name, tr, _ in order:
                v, why = b.churn_once(tr, a.pairs)
                if why:
                    B.log("%s: round %d invalid: %s" % (name, r, why))
                else:
                    samples[name].append(v)
            B.log("round %d/%d" % (r + 1, a.rounds))
    finally:
        b.tracefs_events(False)
    depth = [("--callsite-only", ["--callsite-only"])] + \
        [("--max-depth %d" % d, ["--max-depth", str(d)]) for d in range(1, 6)] + [("whole stack", [])]
    for r in range(max(3, a.rounds // 2)):
        for name, extra in depth:
            for k, v in exit_ns(b, b, extra, a.pairs // 2).items():
                progs.setdefault(name, {}).setdefault(k, []).append(v)
        if base:
            for k, v in exit_ns(b, base, [], a.pairs // 2).items():
                progs.setdefault("base build", {}).setdefault(k, []).append(v)
    med = {k: statistics.median(v) for k, v in samples.items() if v}
    u = med["untraced"]
    fl = med["floor: perf uprobes at memtrace's offsets"] - u
    print("| Configuration | ns per pair | added | vs floor | range | valid rounds |")
    print("|---|---:|---:|---:|---|---:|")
    for name, _, _ in configs:
        if name in med:
            v = samples[name]
            print("| %s | %.0f | %.0f | %.2f× | %.0f-%.0f | %d/%d |" % (
                name, med[name], med[name] - u, (med[name] - u) / fl if name != "untraced" else 0,
                min(v), max(v), len(v), a.rounds))
    print()
    print("| walk | return probe ns per run | allocation entry | free entry |")
    print("|---|---:|---:|---:|")
    for name in [d[0] for d in depth] + (["base build"] if base else []):
        p = progs.get(name, {})
        get = lambda pre: statistics.median(next((v for k, v in p.items() if k.startswith(pre)), [0]))
        print("| %s | %.0f | %.0f | %.0f |" % (name, get("mt_alloc_exit"), get("mt_alloc_enter"),
                                                get("mt_free_enter")))


if __name__ == "__main__":
    main()
