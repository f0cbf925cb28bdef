#!/usr/bin/env python3
"""Go heap mode cost (make bench, its own section of docs/BENCHMARKS.md
"Go heap (runtime.mallocgc)"): tools/bench/go/main.go allocates N small
objects from one site and times itself, untraced, under a raw probe floor
(perf stat counting a tracefs uprobe at the offset memtrace probes, its
-v line), under memtrace --no-vm (launch mode), and attached by PID
(memtrace -p) with --max-overhead off and with the default budget.
Interleaved rounds, medians of ns per allocation. A benchmark: nothing
fails on speed.
Usage: go.py --build DIR [--rounds R] [--n N] [--doc FILE]"""
import argparse, glob, os, re, statistics, subprocess, sys, tempfile, time

from mt_bench_lib import replace_section

GROUP = "mt_gobench"
HEAD = "## Go heap (runtime.mallocgc)"


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode:
        raise RuntimeError("%s exited %d: %s" % (cmd[0], p.returncode, p.stderr[-400:]))
    return p


def ns(out):
    m = re.search(r"ns_per_alloc ([0-9.]+)", out)
    if not m:
        raise RuntimeError("no ns_per_alloc in: " + out[-200:])
    return float(m.group(1))


def attached(mt, prog, n, tmp, extra):
    """ns per allocation of prog attached by memtrace -p (extra options):
    the program waits for a file until memtrace says it is attached."""
    go = os.path.join(tmp, "go")
    if os.path.exists(go):
        os.unlink(go)
    p = subprocess.Popen([prog, str(n), go], stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("the bench program did not start")
        err = os.path.join(tmp, "mt.err")
        with open(err, "w") as e:
            m = subprocess.Popen([mt, "-p", str(p.pid), "--no-vm", "--json",
                                  os.path.join(tmp, "a.json")] + extra,
                                 stdout=subprocess.DEVNULL, stderr=e)
        for _ in range(600):
            if "attached to PID" in open(err).read() or m.poll() is not None:
                break
            time.sleep(0.05)
        open(go, "w").close()
        out = p.stdout.read()
        p.wait()
        if m.wait(timeout=60):
            raise RuntimeError("memtrace -p exited %d: %s" % (m.returncode, open(err).read()[-400:]))
        return ns(out)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def uprobe_events():
    for p in ("/sys/kernel/tracing/uprobe_events", "/sys/kernel/debug/tracing/uprobe_events"):
        if os.path.exists(p):
            return p
    raise RuntimeError("no tracefs uprobe_events")


def write_event(line):
    fd = os.open(uprobe_events(), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=2000000)
    ap.add_argument("--doc", default="")
    a = ap.parse_args()
    mt = os.path.join(a.build, "memtrace")
    gos = sorted(glob.glob("/usr/lib/go-1.*/bin/go"), key=lambda g: int(g.split("go-1.")[1].split("/")[0]))
    if not gos:
        print("go bench: no Go toolchain: section left out", file=sys.stderr)
        return 0
    go = gos[-1]
    tmp = tempfile.mkdtemp()
    env = dict(os.environ, GOCACHE=os.path.join(os.path.abspath(a.build), "go-cache"),
               GOPATH=os.path.join(tmp, "gopath"), GO111MODULE="off", GOFLAGS="-mod=mod",
               GOPROXY="off", GOTOOLCHAIN="local")
    prog = os.path.join(tmp, "gobench")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "go")
    subprocess.run([go, "build", "-o", prog, "main.go"], cwd=src, env=env, check=True)
    version = run([go, "env", "GOVERSION"]).stdout.strip()
    v = run([mt, "-v", "--no-vm", "--", prog, "1000"])
    m = re.search(r"file offset (0x[0-9a-f]+)", v.stderr)
    if not m:
        raise RuntimeError("memtrace -v did not say where it probes mallocgc")
    off = int(m.group(1), 16)
    write_event("p:%s/mallocgc %s:0x%x\n" % (GROUP, prog, off))
    res = {"untraced": [], "floor": [], "memtrace": [], "attach off": [], "attach default": []}
    try:
        for _ in range(a.rounds):
            res["untraced"].append(ns(run([prog, str(a.n)]).stdout))
            p = run(["perf", "stat", "-x,", "-e", "%s:mallocgc" % GROUP, "--", prog, str(a.n)])
            res["floor"].append(ns(p.stdout))
            p = run([mt, "--no-vm", "--json", os.path.join(tmp, "r.json"), "--", prog, str(a.n)])
            res["memtrace"].append(ns(p.stdout))
            res["attach off"].append(attached(mt, prog, a.n, tmp, ["--max-overhead", "off"]))
            # budgeted, a call costs ~untraced: 50x the calls, so the run
            # lasts seconds (the rate window, 50-200 ms traced in full,
            # is part of it, as in any attach)
            res["attach default"].append(attached(mt, prog, 50 * a.n, tmp, []))
    finally:
        write_event("-:%s/mallocgc\n" % GROUP)
    med = {k: statistics.median(x) for k, x in res.items()}
    base = med["untraced"]
    load = os.getloadavg()[0]
    body = [HEAD, "",
            "`tools/bench/go.py` (`make bench`): `tools/bench/go/main.go` built with %s, %d allocations "
            "of a 32-byte `*main.Obj` from one `//go:noinline` site (`runtime.newobject` -> "
            "`runtime.mallocgc`), timed by the program itself; %d interleaved rounds, medians. "
            "Floor: `perf stat` counting a tracefs uprobe at the offset memtrace probes (the trap "
            "alone); memtrace: `--no-vm`, launch mode (frame walk of ~5 frames, one hash update); "
            "attach off / default: the program waits until `memtrace -p PID --no-vm` is attached, with "
            "`--max-overhead off` (every call probed) and with the default budget (5%%: the mallocgc "
            "probe armed in windows; %d allocations, 50x, so that the run lasts seconds, the rate "
            "window included). "
            "%s, %d-CPU VM, shared, load average %.2f at the end: noisy." % (
                version, a.n, a.rounds, 50 * a.n, time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()),
                os.cpu_count(), load), "",
            "| run | ns per allocation | added ns | added vs floor |",
            "|---|---|---|---|"]
    for k in ("untraced", "floor", "memtrace", "attach off", "attach default"):
        added = med[k] - base
        vs = "%.2f×" % (added / (med["floor"] - base)) if k == "memtrace" and med["floor"] > base else ""
        body.append("| %s | %.1f | %s | %s |" % (k, med[k], "%.1f" % added if k != "untraced" else "", vs))
    body.append("")
    text = "\n".join(body) + "\n"
    print(text)
    if a.doc:
        replace_section(a.doc, HEAD, text.rstrip("\n") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
