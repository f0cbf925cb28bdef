#!/usr/bin/env python3
"""A real multi-threaded server under memtrace (make bench; docs/BENCHMARKS.md
"redis-server"): redis-server (io-threads 2, no persistence, the planted
slow leak of redis_leak.c preloaded) on 127.0.0.1, kept busy by
redis-benchmark clients looping SET/GET/INCR/LPUSH/LPOP on 10,000 keys
made beforehand (all at once by default, as a server sees its traffic). memtrace
attaches to the busy server, as it would in production: untraced, with
the default options (attach mode's overhead budget, 5%), fully traced
(--max-overhead off) and kernel-side only (--no-heap), a fresh server
each, untraced and default interleaved for --rounds rounds. Throughput is
the commands the server processed (its INFO counter) over --measure
seconds once memtrace has been attached --settle seconds (the first
seconds after the attach are reported apart). Reports throughput ratios,
the top 10 sites by allocation count under the default budget against
the full trace, whether the planted leak was found and how many other
sites were called leaks. A benchmark: nothing fails on speed.
Usage: redis.py --build DIR [--rounds R] [--measure S] [--doc FILE]"""
import argparse, json, os, socket, statistics, subprocess, sys, tempfile, time

from mt_bench_lib import machine_line, replace_section

TESTS = "set,get,incr,lpush,lpop"
KEYS = 10000
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


def prefill(port):
    """Every key the load touches made before memtrace comes: the keyspace
    then stays as large (SET and INCR overwrite), so no site grows but the
    planted leak."""
    subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-r", str(KEYS), "-q",
                    "-n", str(8 * KEYS), "-c", "20", "-t", "set,incr"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def start_load(port, mixed):
    """Clients looping until killed. Mixed: SET, GET and INCR at once (one
    client each, 4 connections), and LPUSH/LPOP in short alternating
    batches (the list stays short: it does not grow); phased:
    redis-benchmark's own order, each command alone for a while (a
    budgeted trace samples time, and phases shorter than its period rank
    by luck)."""
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-r", str(KEYS), "-q", "-l"]
    if not mixed:
        return [subprocess.Popen(cmd + ["-n", "100000", "-c", "20", "--threads", "2", "-t", TESTS],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    ps = [subprocess.Popen(cmd + ["-n", "100000", "-c", "4", "-t", t], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL) for t in ("set", "get", "incr")]
    ps.append(subprocess.Popen(cmd + ["-n", "2000", "-c", "4", "-t", "lpush,lpop"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return ps


def commands(port):
    """The server's total_commands_processed (INFO stats)."""
    with socket.create_connection(("127.0.0.1", port), 5) as c:
        c.sendall(b"INFO stats\r\n")
        buf = b""
        while b"total_commands_processed:" not in buf or not buf.endswith(b"\r\n\r\n"):
            d = c.recv(65536)
            if not d:
                break
            buf += d
    for line in buf.decode(errors="replace").splitlines():
        if line.startswith("total_commands_processed:"):
            return int(line.split(":")[1])
    raise SystemExit("redis.py: no total_commands_processed in INFO")


def cpu_s(pid):
    """CPU seconds (user + system) pid has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def rate(port, pid, seconds):
    """Commands/s and server CPU µs per command over the next seconds."""
    c0, t0, u0 = commands(port), time.monotonic(), cpu_s(pid)
    time.sleep(seconds)
    c1, t1, u1 = commands(port), time.monotonic(), cpu_s(pid)
    n = max(c1 - c0, 1)
    return n / (t1 - t0), (u1 - u0) / n * 1e6


def run(a, leak_so, tmp, tag, mt_args):
    """One fresh, busy server: (commands/s while measured, CPU µs per
    command, commands/s in the first --settle s after the attach, report,
    memtrace's budget lines)."""
    srv, port = start_server(leak_so, tmp)
    prefill(port)
    clients = start_load(port, a.load == "mixed")
    mt, report, err, guidance, first = None, None, None, [], None
    try:
        time.sleep(a.warmup)
        if mt_args is not None:
            report = os.path.join(tmp, tag + ".json")
            err = open(os.path.join(tmp, tag + ".err"), "w+")
            mt = subprocess.Popen([f"{a.build}/memtrace", "-p", str(srv.pid), "--top", "100",
                                   "--json-leaks", "all", "--json", report, "-o", os.devnull] + mt_args,
                                  stdout=subprocess.DEVNULL, stderr=err, text=True)
            while True:
                err.seek(0)
                if "attached to PID" in err.read():
                    break
                if mt.poll() is not None:
                    raise SystemExit(f"redis.py: memtrace {tag} exited {mt.returncode}")
                time.sleep(0.05)
            t_att = time.monotonic()
        else:
            t_att = time.monotonic()
        first, _ = rate(port, srv.pid, a.settle)
        rps, cpu = rate(port, srv.pid, a.measure)
        if mt:
            # the leak verdict needs windows: at least --seconds attached
            time.sleep(max(0, a.seconds - (time.monotonic() - t_att)))
            mt.send_signal(2)
            if mt.wait(timeout=300):
                raise SystemExit(f"redis.py: memtrace {tag} exited {mt.returncode}")
            err.seek(0)
            guidance = [l.strip() for l in err if "budget" in l.lower() or "overhead" in l.lower()]
    finally:
        for c in clients:
            c.kill()
            c.wait()
        if mt and mt.poll() is None:
            mt.kill()
            mt.wait()
        srv.kill()
        srv.wait()
    r = json.load(open(report)) if report else None
    return rps, cpu, first, r, guidance


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


def top_agree(rf, rb):
    """The budget's top 10 by allocation count against the full trace's:
    (same set, in both, tied): a budget site outside the full top 10 is a
    tie when its full-trace count is within its estimate's own sampling
    error (3 sigma of the calls it counted) of the 10th."""
    tf, tb = top10(rf), top10(rb)
    full_count = {" < ".join(funcs(s)): s["allocs"] for s in rf["sites"]}
    tenth = sorted(full_count.values(), reverse=True)[9] if len(full_count) >= 10 else 0
    frac = (rb.get("budget") or {}).get("traced_fraction") or 1
    counted = {" < ".join(funcs(s)): s["allocs"] * frac for s in rb["sites"]}
    tied = all(k in tf or full_count.get(k, 0) >= tenth * (1 - 3 / max(counted.get(k, 1), 1) ** 0.5)
               for k in tb)
    return set(tf) == set(tb), len(set(tf) & set(tb)), tied, [full_count.get(k, 0) for k in tb], tenth


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=int, default=20, help="memtrace attached at least this long")
    ap.add_argument("--rounds", type=int, default=3, help="untraced and default runs, interleaved")
    ap.add_argument("--warmup", type=float, default=2, help="load before the attach (s)")
    ap.add_argument("--settle", type=float, default=3, help="after the attach, reported apart (s)")
    ap.add_argument("--measure", type=float, default=10, help="throughput measured over (s)")
    ap.add_argument("--load", choices=("mixed", "phased"), default="mixed")
    ap.add_argument("--doc", default="")
    a = ap.parse_args()
    for tool in ("redis-server", "redis-benchmark"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode:
            print(f"redis.py: {tool} not installed (tools/install-deps.sh installs it); skipped")
            return
    tmp = tempfile.mkdtemp()
    leak_so = os.path.join(a.build, "bench", "redis_leak.so")
    base, bud = [], []
    for i in range(a.rounds):
        base.append(run(a, leak_so, tmp, f"base{i}", None))
        bud.append(run(a, leak_so, tmp, f"default{i}", []))
    base.append(run(a, leak_so, tmp, "base_last", None))
    full = run(a, leak_so, tmp, "full", ["--max-overhead", "off"])
    kern = run(a, leak_so, tmp, "noheap", ["--no-heap"])
    med = statistics.median
    B, Bc = med(x[0] for x in base), med(x[1] for x in base)
    D, Dc = med(x[0] for x in bud), med(x[1] for x in bud)
    rf = full[3]
    mem = kern[3].get("memory", {}).get("attach", {})
    fmt = lambda xs: ", ".join("%.0f" % x for x in xs)
    lines = [
        f"{machine_line()}; redis-server "
        f"{subprocess.run(['redis-server', '--version'], capture_output=True, text=True).stdout.split()[2]} "
        f"(jemalloc, io-threads 2), keys prefilled, then kept busy by redis-benchmark -r {KEYS} -t {TESTS} looping, "
        + ("SET, GET, INCR at once (one client each, 4 connections) and LPUSH/LPOP alternating in batches of 2000" if a.load == "mixed"
           else "one command after another (-c 20 --threads 2)")
        + f"; memtrace attached to the busy server (after {a.warmup:g} s of load), throughput = the server's "
        f"commands/s over {a.measure:g} s from {a.settle:g} s after the attach (the first {a.settle:g} s apart); "
        f"{a.rounds} rounds of untraced and default options interleaved (and one more untraced), medians; "
        f"a fresh server each run; memtrace attached at least {a.seconds} s; a shared, noisy 2-CPU guest. "
        f"Server CPU: redis-server's user+system time per command (its I/O threads spin while waiting).",
        "",
        "| run | commands/s | ratio to untraced | first seconds after attach | server CPU µs/command |",
        "|---|---|---|---|---|",
        f"| untraced ({fmt(x[0] for x in base)}) | {B:.0f} | 1.000 | | {Bc:.1f} |",
        f"| default options, budget 5% ({fmt(x[0] for x in bud)}) | {D:.0f} | **{D / B:.3f}** "
        f"| {med(x[2] for x in bud) / B:.3f} | {Dc:.1f} |",
        f"| full trace (`--max-overhead off`) | {full[0]:.0f} | {full[0] / B:.4f} | {full[2] / B:.4f} | {full[1]:.1f} |",
        f"| kernel-side only (`--no-heap`, syscalls via {mem.get('syscalls')}) | {kern[0]:.0f} | {kern[0] / B:.3f} "
        f"| {kern[2] / B:.3f} | {kern[1]:.1f} |",
        "",
    ]
    for i, x in enumerate(bud):
        rb = x[3]
        b = rb.get("budget") or {}
        tp = b.get("throughput") or {}
        same, both, tied, counts, tenth = top_agree(rf, rb)
        leak = [l for l in rb["leaks"] if "mt_bench_planted_leak" in funcs(l)]
        other = sorted({site_name(l) for l in rb["leaks"] if "mt_bench_planted_leak" not in funcs(l)})
        conf = (leak[0].get("budget") or {}).get("confidence") if leak else None
        lines.append(
            f"- default run {i + 1}: {x[0] / B:.3f} of untraced; mode {b.get('mode')}, duty cycle "
            f"{b.get('duty_cycle', 0):.4f}, {b.get('windows')} windows, estimated cost "
            f"{b.get('estimated_cost_pct', 0):.2f}% (read/write calls/s before attach "
            f"{tp.get('before_per_s') or 0:.0f}, armed {tp.get('armed_per_s') or 0:.0f}, off "
            f"{tp.get('off_per_s') or 0:.0f}: {100 * (tp.get('slowdown_armed') or 0):.0f}% lost while armed, "
            f"trap model x{tp.get('trap_cost_factor', 1):.1f}); top 10 by allocations vs full trace: "
            + ("same set" if same else ("same set up to sampling ties at the 10th (%d)" % tenth if tied
                                        else "DIFFERENT")) + f", {both} of 10 in both "
            f"(full-trace counts of the budget's top 10: {counts}); planted leak "
            + (f"found, confidence {conf:.4f}" if conf is not None else ("found" if leak else "NOT found"))
            + f"; other sites called leaks: {len(other)}{' ' + str(other[:5]) if other else ''}.")
    if bud[0][4]:
        lines += ["", f"memtrace said on attach (run 1): `{bud[0][4][0]}`"]
    lines += ["", f"Full trace: planted leak {'listed' if any('mt_bench_planted_leak' in funcs(l) for l in rf['leaks']) else 'not listed'}, "
              f"{len(rf['leaks'])} leak stacks in all; its top 10: {[site_name(s) for s in sorted(rf['sites'], key=lambda s: -s['allocs'])[:10]]}."]
    text = "\n".join(lines)
    print(text)
    if a.doc:
        head = "## redis-server under memtrace (make bench: tools/bench/redis.py)\n"
        replace_section(a.doc, head, head + "\n" + text + "\n")


main()
