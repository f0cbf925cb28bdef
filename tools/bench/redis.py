#!/usr/bin/env python3
"""A real multi-threaded server under memtrace (make bench; docs/BENCHMARKS.md
"redis-server"): redis-server (io-threads 2, no persistence, the planted
slow leak of redis_leak.c preloaded) on 127.0.0.1, loaded by
redis-benchmark (2 client threads, 20 connections, fixed-size batches of
SET/GET/INCR/LPUSH/LPOP on 100,000 keys) for SECONDS per run: untraced,
fully traced (--max-overhead off), with the default options (attach
mode's overhead budget, 5%) and kernel-side only (--no-heap), one fresh
server each. Reports throughput ratios, the top 10 sites by allocation
count under the default budget against the full trace,
whether the planted leak was found and how many other sites were called
leaks. A benchmark: nothing fails on speed.
Usage: redis.py --build DIR [--seconds S] [--doc FILE]"""
import argparse, json, os, socket, subprocess, sys, tempfile, time

from mt_bench_lib import machine_line, replace_section

TESTS = "set,get,incr,lpush,lpop"
NTESTS = 5
# Frames that are the allocator or redis's wrappers around it: a site is
# named by the first frame past them.
WRAP = ("malloc", "calloc", "realloc", "free", "je_", "zmalloc", "zcalloc", "zrealloc", "ztry",
        "zfree", "_zmalloc", "_zcalloc", "_zrealloc", "extend_to_usable", "sdsnew", "_sdsnew",
        "sdsMakeRoomFor", "_sdsMakeRoomFor", "sdsempty", "sdsdup", "sdsnewlen", "_sdsnewlen",
        "sdsRemoveFreeSpace", "sdsResize")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(leak_so, tmp):
    port = free_port()
    env = dict(os.environ, LD_PRELOAD=leak_so)
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--io-threads", "2", "--io-threads-do-reads", "yes",
                          "--dir", tmp, "--daemonize", "no", "--protected-mode", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return p, port
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit("redis.py: redis-server did not start")


def load(port, batches, batch, mixed):
    """The bounded load, the same in every run: requests/s. Mixed: the
    five commands at once (one client per command, 4 connections each), as
    a server sees its traffic; phased: redis-benchmark's own order, each
    command alone for a fraction of a second (a budgeted trace samples
    time, and phases shorter than its period rank by luck)."""
    t0 = time.monotonic()
    for _ in range(batches):
        if not mixed:
            subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "20",
                            "--threads", "2", "-n", str(batch), "-r", "100000", "-t", TESTS, "-q"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            continue
        ps = [subprocess.Popen(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "4",
                                "-n", str(batch), "-r", "100000", "-t", t, "-q"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
              for t in TESTS.split(",")]
        for p in ps:
            if p.wait():
                raise SystemExit("redis.py: redis-benchmark failed")
    return batches * batch * NTESTS / (time.monotonic() - t0)


def cpu_s(pid):
    """CPU seconds (user + system) pid has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def run(a, leak_so, tmp, tag, mt_args):
    srv, port = start_server(leak_so, tmp)
    mt, report, err = None, None, None
    try:
        if mt_args is not None:
            report = os.path.join(tmp, tag + ".json")
            err = open(os.path.join(tmp, tag + ".err"), "w+")
            mt = subprocess.Popen([f"{a.build}/memtrace", "-p", str(srv.pid), "--top", "100",
                                   "--json-leaks", "all", "--json", report, "-o", os.devnull] + mt_args,
                                  stdout=subprocess.DEVNULL, stderr=err, text=True)
            t0 = time.monotonic()
            while time.monotonic() - t0 < 60:
                err.seek(0)
                if "attached to PID" in err.read():
                    break
                if mt.poll() is not None:
                    raise SystemExit(f"redis.py: memtrace {tag} exited {mt.returncode}")
                time.sleep(0.1)
        t0 = time.monotonic()
        c0 = cpu_s(srv.pid)
        rps = load(port, a.batches, a.batch, a.load == "mixed")
        cpu = cpu_s(srv.pid) - c0
        if mt:
            # the leak verdict needs windows: at least --seconds attached
            time.sleep(max(0, a.seconds - (time.monotonic() - t0)))
            mt.send_signal(2)
            mt.wait(timeout=300)
            err.seek(0)
            guidance = [l.strip() for l in err if "budget" in l.lower() or "overhead" in l.lower()]
        else:
            guidance = []
    finally:
        srv.kill()
        srv.wait()
    r = json.load(open(report)) if report else None
    return rps, cpu / (a.batches * a.batch * NTESTS), r, guidance


def funcs(e):
    return [f["func"] or "?" for f in e["stack"]]


def site_name(e):
    fs = funcs(e)
    own = [f for f in fs if not f.startswith(WRAP)]
    return " < ".join(own[:2]) if own else "?"


def top10(r):
    """The 10 busiest sites, each as its whole stack of function names."""
    sites = sorted(r["sites"], key=lambda s: -s["allocs"])[:10]
    return [" < ".join(funcs(s)) for s in sites]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=20, help="memtrace attached at least this long")
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--batch", type=int, default=4000, help="requests per test per batch")
    ap.add_argument("--load", choices=("mixed", "phased"), default="mixed")
    ap.add_argument("--doc", default="")
    a = ap.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
            print(f"redis.py: {tool} not installed (tools/install-deps.sh installs it); skipped")
            return
    tmp = tempfile.mkdtemp()
    leak_so = os.path.join(a.build, "bench", "redis_leak.so")
    # untraced first and last: the drift of this shared machine in between
    base1, bc1, _, _ = run(a, leak_so, tmp, "base", None)
    kern, kc, rk, _ = run(a, leak_so, tmp, "noheap", ["--no-heap"])
    bud, budc, rb, guide = run(a, leak_so, tmp, "default", [])
    full, fc, rf, _ = run(a, leak_so, tmp, "full", ["--max-overhead", "off"])
    base2, bc2, _, _ = run(a, leak_so, tmp, "base2", None)
    base, basec = (base1 + base2) / 2, (bc1 + bc2) / 2
    b = rb.get("budget") or {}
    leak = [l for l in rb["leaks"] if "mt_bench_planted_leak" in funcs(l)]
    other = sorted({site_name(l) for l in rb["leaks"] if "mt_bench_planted_leak" not in funcs(l)})
    full_leak = [l for l in rf["leaks"] if "mt_bench_planted_leak" in funcs(l)]
    tf, tb = top10(rf), top10(rb)
    same = set(tf) == set(tb)
    # Sites with equal true counts (one allocation per request of a test:
    # 12,000 each) cannot be ranked by an estimate: a budget site is in the
    # full trace's top 10 up to ties when its full count reaches the 10th.
    full_count = {" < ".join(funcs(s)): s["allocs"] for s in rf["sites"]}
    tenth = sorted(full_count.values(), reverse=True)[9] if len(full_count) >= 10 else 0
    tied = all(full_count.get(k, 0) >= tenth for k in tb)
    conf = (leak[0].get("budget") or {}).get("confidence") if leak else None
    mem = rk.get("memory", {}).get("attach", {})
    lines = [
        f"{machine_line()}; redis-server "
        f"{subprocess.run(['redis-server', '--version'], capture_output=True, text=True).stdout.split()[2]} "
        f"(jemalloc, io-threads 2), redis-benchmark -r 100000 -t {TESTS}, "
        + ("the five commands at once (one client each, 4 connections)" if a.load == "mixed"
           else "one command after another (-c 20 --threads 2)")
        + f": {a.batches} x {a.batch} requests per command in every run (bounded load), a fresh server each, "
        f"memtrace attached at least {a.seconds} s; timings on a shared, noisy 2-CPU guest. "
        f"Server CPU: redis-server's user+system time per request.",
        "",
        "| run | requests/s | ratio to untraced | server CPU µs/request | ratio to untraced |",
        "|---|---|---|---|---|",
        f"| untraced (mean of first and last run: {base1:.0f}, {base2:.0f} req/s; {bc1 * 1e6:.1f}, {bc2 * 1e6:.1f} µs) "
        f"| {base:.0f} | 1.000 | {basec * 1e6:.1f} | 1.000 |",
        f"| full trace (`--max-overhead off`) | {full:.0f} | {full / base:.4f} | {fc * 1e6:.1f} | {fc / basec:.3f} |",
        f"| default options (budget {b.get('max_overhead_pct', '?')}%: {b.get('mode', 'none')}) | {bud:.0f} "
        f"| {bud / base:.3f} | {budc * 1e6:.1f} | {budc / basec:.3f} |",
        f"| kernel-side only (`--no-heap`, syscalls via {mem.get('syscalls')}) | {kern:.0f} | {kern / base:.3f} "
        f"| {kc * 1e6:.1f} | {kc / basec:.3f} |",
        "",
    ]
    if b:
        lines.append(
            f"Budget: mode {b.get('mode')}, duty cycle {b.get('duty_cycle', 0):.4f}, {b.get('windows')} windows, "
            f"hits {b.get('alloc_hits')} alloc + {b.get('free_hits')} free, estimated cost "
            f"{b.get('estimated_cost_pct', 0):.2f}%; rate {b.get('rate', {}).get('alloc_calls_per_s', 0):.0f} "
            f"alloc calls/s in the rate window, full trace projected "
            f"{b.get('rate', {}).get('full_trace_cost_pct', 0):.0f}%.")
        lines.append("")
    if guide:
        lines.append(f"memtrace said on attach: `{guide[0]}`")
        lines.append("")
    lines += [
        f"Top 10 sites by allocation count (whole stacks), default budget vs full trace: "
        f"{'same set' if same else ('same set up to ties at the 10th count (%d)' % tenth if tied else 'DIFFERENT')}; "
        f"in both: {len(set(tf) & set(tb))} of 10; full-trace counts of the budget's top 10: "
        f"{[full_count.get(k, 0) for k in tb]}.",
        f"  full: {[site_name(s) for s in sorted(rf['sites'], key=lambda s: -s['allocs'])[:10]]}",
        f"  default: {[site_name(s) for s in sorted(rb['sites'], key=lambda s: -s['allocs'])[:10]]}",
        f"Planted leak (12.8 KB/s) found with the default options within {max(a.seconds, 0)} s or the load: "
        f"{'yes, confidence %.4f' % conf if conf is not None else ('yes' if leak else 'NO')}; "
        f"other sites reported as leaks: {len(other)} {other[:10] if other else ''}. "
        f"(Full trace: planted leak {'listed' if full_leak else 'not listed'}, "
        f"{len(rf['leaks'])} leak stacks in all.)",
    ]
    text = "\n".join(lines)
    print(text)
    if a.doc:
        head = "## redis-server under memtrace (make bench: tools/bench/redis.py)\n"
        replace_section(a.doc, head, head + "\n" + text + "\n")


main()
