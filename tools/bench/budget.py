#!/usr/bin/env python3
"""The overhead budget, side by side in one run (make bench; see
docs/BENCHMARKS.md "Overhead budget"): wl_budget (two threads serving
"requests" of 55 allocator calls from ten sites, a ring of longer-lived
blocks, a planted leak every 10 ms) flat out for SECONDS untraced, fully
traced (--max-overhead off) and under the default budget. Reports the
throughput ratios, whether the top 10 sites by allocation count are the
same set as the full trace's, whether the planted leak was found, and how
many other sites were reported as leaks. A benchmark: nothing fails on
speed. Usage: budget.py --build DIR [--seconds S] [--doc FILE]"""
import argparse, json, os, re, subprocess, sys, tempfile

from mt_bench_lib import machine_line, replace_section


def run(build, seconds, mt_args, tmp, tag):
    wl = subprocess.Popen([f"{build}/tools/wl_budget", "-t", "2", "-s", str(seconds)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wl.stdout.readline().strip() == "ready"
    report = None
    mt = None
    if mt_args is not None:
        report = os.path.join(tmp, tag + ".json")
        mt = subprocess.Popen([f"{build}/memtrace", "-p", str(wl.pid), "-d", str(seconds - 1),
                               "--top", "100", "--json", report] + mt_args,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, err = wl.communicate()
    m = re.search(r"requests (\d+) seconds ([\d.]+) per_s ([\d.]+)", err)
    if mt:
        mt.wait()
    r = json.load(open(report)) if report else None
    return float(m.group(3)), r


def funcs(e):
    return [f["func"] for f in e["stack"] if f["func"]]


def top10(r):
    sites = sorted(r["sites"], key=lambda s: -s["allocs"])[:10]
    return {next((f for f in funcs(s) if f.startswith("wl_")), str(s["site"])) for s in sites}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--doc", default="")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    base, _ = run(a.build, a.seconds, None, tmp, "base")
    full, rf = run(a.build, a.seconds, ["--max-overhead", "off"], tmp, "full")
    bud, rb = run(a.build, a.seconds, [], tmp, "budget")
    b = rb["budget"]
    leak = [l for l in rb["leaks"] if "wl_planted_leak" in funcs(l)]
    other = [funcs(l)[:1] for l in rb["leaks"] if "wl_planted_leak" not in funcs(l)]
    same = top10(rf) == top10(rb)
    lines = [
        f"{machine_line()}; wl_budget -t 2, {a.seconds} s each.",
        "",
        "| run | requests/s | ratio to untraced |",
        "|---|---|---|",
        f"| untraced | {base:.0f} | 1.000 |",
        f"| full trace (`--max-overhead off`) | {full:.0f} | {full / base:.3f} |",
        f"| default budget (5%) | {bud:.0f} | {bud / base:.3f} |",
        "",
        f"Budget: mode {b['mode']}, duty cycle {b['duty_cycle']:.4f}, {b['windows']} windows "
        f"(window {b['window_ms']:.1f} ms, tail {b['tail_ms']:.1f} ms, period {b['period_ms']:.0f} ms), "
        f"hits {b['alloc_hits']} alloc + {b['free_hits']} free, estimated cost {b['estimated_cost_pct']:.2f}%; "
        f"probe hit {b['probe_hit_ns']['entry']:.0f} ns entry + {b['probe_hit_ns']['return']:.0f} ns return "
        f"+ {b['probe_hit_ns']['program']:.0f} ns program; rate {b['rate']['alloc_calls_per_s']:.0f} "
        f"alloc calls/s (in the rate window), full trace projected {b['rate']['full_trace_cost_pct']:.0f}%; "
        f"arm {b['arm_ms']['mean']:.2f} ms (min {b['arm_ms']['min']:.2f}), disarm to breakpoints gone "
        f"{b['disarm_ms']['mean']:.2f} ms (min {b['disarm_ms']['min']:.2f}).",
        "",
        f"Top 10 sites by allocation count, budget vs full trace: {'same set' if same else 'DIFFERENT'} "
        f"({sorted(top10(rb))} vs {sorted(top10(rf))}).",
        f"Planted leak found within {a.seconds} s: {'yes, confidence %.4f' % leak[0]['budget']['confidence'] if leak else 'NO'}; "
        f"other sites reported as leaks: {len(other)} {other if other else ''}.",
    ]
    text = "\n".join(lines)
    print(text)
    if a.doc:
        head = "## Overhead budget (make bench: tools/bench/budget.py)\n"
        replace_section(a.doc, head, head + "\n" + text + "\n")


main()
