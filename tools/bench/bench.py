#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""memtrace benchmarks (issue 5): run by tools/bench.sh, i.e. `make bench`.

Everything is measured in one run and reported as medians of interleaved
rounds, as a markdown section that replaces "## memtrace (make bench)" in
docs/BENCHMARKS.md (other sections of that file are left alone).

What is measured, and how (docs/BENCHMARKS.md repeats this for readers):
  slowdown   bench_churn --wait N (1 thread, malloc(64)+free pairs), timed by
             the workload itself around its loop only, under each tracer
             attached by PID (heaptrack: launched, it has no safe attach);
  floor      tracefs uprobe events at the offsets memtrace -v reports
             (malloc entry, malloc return, free+3), counted by `perf stat`:
             the raw cost of the probes memtrace places, without its BPF;
  bpf time   kernel.bpf_stats_enabled=1 in one extra memtrace run, per
             program run_time_ns / run_cnt: where memtrace's extra cost goes;
  rate       bench_churn --threads 2 --rate R for rising R until lost_events
             > 0 or the target cannot reach R; memtrace's CPU time from
             /proc/PID/task/*/schedstat over the loop;
  aggregator bench_agg: synthetic events through mt_rules_apply;
  RSS        memtrace's VmRSS/VmHWM with bench_live 1M live objects minus
             with 0;
  attach     bench_threads 8: memtrace start to its "attached" line;
  detach     SIGINT to exit, report to /dev/null (a few events only);
  symbols    bench_stacks D=10 (1024 leaked stacks) vs D=0, the -v line
             "report: built in X ms" (symbolization happens in the build).
"""
import argparse
import json
import os
import platform
import re
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from mt_bench_lib import bpf_stats_run, prog_ids, replace_section  # noqa: F401 (fp_floor.py, soak.py)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTION = "## memtrace (make bench)"
TRACEFS_GROUP = "mtbench"


T0 = time.monotonic()


def log(msg):
    print("bench: [%4.0fs] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


class Lines:
    """Line reader over a pipe with a timeout (select + os.read)."""

    def __init__(self, f):
        self.fd = f.fileno()
        self.buf = b""
        self.seen = []

    def until(self, pred, timeout):
        end = time.monotonic() + timeout
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                s = line.decode(errors="replace")
                self.seen.append(s)
                if pred(s):
                    return s
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.buf += chunk


def kv(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line or "")}


def stop_proc(p, sig=signal.SIGTERM, timeout=20):
    if p.poll() is None:
        p.send_signal(sig)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


class Workload:
    """A bench_* workload started with --wait: ready -> go -> result."""

    def __init__(self, argv, cpus=None):
        if cpus:
            argv = ["taskset", "-c", cpus] + argv
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        self.out = Lines(self.p.stdout)
        ready = self.out.until(lambda s: s.startswith("ready"), 10)
        if not ready:
            stop_proc(self.p, signal.SIGKILL)
            raise RuntimeError("workload %s never said ready" % argv)
        self.pid = self.p.pid

    def go(self, timeout=300):
        os.kill(self.pid, signal.SIGUSR1)
        line = self.out.until(lambda s: "=" in s, timeout)
        if not line:
            raise RuntimeError("workload gave no result")
        return kv(line)

    def stop(self):
        stop_proc(self.p)
        self.p.stdout.close()


def cpu_ns(pid):
    """CPU time of every thread of pid, ns (schedstat: exact, not ticks)."""
    total = 0
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, t)) as f:
                total += int(f.read().split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def proc_status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class Memtrace:
    """memtrace -p PID attached, every call traced (--max-overhead off: these
    runs measure the tracer's cost per call, not the default budget's; that
    is budget.py's and redis.py's); stop() returns its JSON report."""

    def __init__(self, b, pid, extra=(), verbose=False):
        self.json = os.path.join(b.tmp, "mt-%d.json" % pid)
        argv = [b.mt, "-p", str(pid), "--max-overhead", "off", "--json", self.json] + list(extra)
        if verbose:
            argv.append("-v")
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL)
        self.err = Lines(self.p.stderr)
        if not self.err.until(lambda s: "attached to PID" in s, 60):
            stop_proc(self.p, signal.SIGKILL)
            raise RuntimeError("memtrace did not attach: " + " | ".join(self.err.seen[-5:]))
        self.attach_s = time.monotonic() - self.t0

    def stop(self):
        t0 = time.monotonic()
        self.p.send_signal(signal.SIGINT)
        rest = self.p.stderr.read().decode(errors="replace")
        self.p.wait(120)
        self.detach_s = time.monotonic() - t0
        self.stderr = "\n".join(self.err.seen) + "\n" + rest
        if self.p.returncode != 0:
            raise RuntimeError("memtrace exited %d: %s" % (self.p.returncode, self.stderr[-300:]))
        with open(self.json) as f:
            return json.load(f)


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.mt = os.path.join(self.build, "memtrace")
        self.tools = os.path.join(self.build, "tools")
        self.tmp = tempfile.mkdtemp(prefix="mtbench.")
        self.rounds = args.rounds
        self.pairs = args.pairs
        self.res = {"rounds": self.rounds, "pairs": self.pairs}
        self.notes = []
        self.floor_events = []

    def wl(self, name):
        return os.path.join(self.tools, name)

    # ---------------------------------------------------------------- setup
    def discover(self):
        """Probe offsets memtrace chooses (its -v lines) and libc's path."""
        w = Workload([self.wl("bench_churn"), "--wait", "1000"])
        try:
            libc = None
            with open("/proc/%d/maps" % w.pid) as f:
                for line in f:
                    if re.search(r"/libc[.-][^/]*so", line):
                        libc = line.split()[-1]
                        break
            m = Memtrace(self, w.pid, ["--no-vm"], verbose=True)
            m.stop()
        finally:
            w.stop()
        place = {}
        for name, off in re.findall(r"probe '([^']+)': \+(\d+) ", m.stderr):
            place[name] = int(off)
        if libc is None or "malloc" not in place or "free" not in place:
            raise RuntimeError("cannot find libc or memtrace's placement (-v output changed?)")
        syms = self.file_offsets(libc, ["malloc", "free"])
        self.libc = libc
        self.place = place
        self.res["placement"] = {"libc": libc, "malloc": "+%d" % place["malloc"],
                                 "free": "+%d" % place["free"]}
        self.floor_offsets = {
            "malloc_e": ("p", syms["malloc"] + place["malloc"]),
            "malloc_r": ("r", syms["malloc"]),
            "free_e": ("p", syms["free"] + place["free"]),
        }
        help_text = subprocess.run([self.mt, "--help"], capture_output=True, text=True).stdout
        self.has_sample = "--sample-bytes" in help_text
        log("probes: malloc +%d, free +%d in %s; --sample-bytes %s" % (
            place["malloc"], place["free"], libc, "available" if self.has_sample else "not available"))
        self.has_bpftrace = shutil_which("bpftrace")
        self.has_heaptrack = shutil_which("heaptrack")
        self.bcc = self.check_bcc()
        self.res["bcc"] = self.bcc

    @staticmethod
    def file_offsets(path, names):
        """Symbol vaddr -> file offset through the PT_LOAD headers."""
        loads = []
        for line in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
            f = line.split()
            if f and f[0] == "LOAD":
                loads.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
        out = {}
        for line in subprocess.run(["readelf", "-Ws", "--dyn-syms", path], capture_output=True,
                                   text=True).stdout.splitlines():
            f = line.split()
            if len(f) >= 8 and f[3] == "FUNC":
                name = f[7].split("@")[0]
                if name in names and name not in out:
                    va = int(f[1], 16)
                    for off, vaddr, size in loads:
                        if vaddr <= va < vaddr + size:
                            out[name] = va - vaddr + off
        return out

    def check_bcc(self):
        tool = shutil_which("memleak-bpfcc")
        if not tool:
            return "n/a: memleak-bpfcc not installed (Debian: bpfcc-tools)"
        w = Workload([self.wl("bench_churn"), "--wait", "10"])
        try:
            p = subprocess.Popen([tool, "-p", str(w.pid)], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            out = Lines(p.stdout)
            ok = out.until(lambda s: s.startswith("Attaching to pid"), 90)
            stop_proc(p, signal.SIGINT)
        finally:
            w.stop()
        if ok:
            return None
        why = [s for s in out.seen if re.search(r"kernel headers|Exception|rror", s)] or \
            [s for s in out.seen if s.strip()]
        return "n/a: memleak-bpfcc failed: " + (why[0][:120] if why else "no output")

    def tracefs_events(self, add):
        path = "/sys/kernel/tracing/uprobe_events"
        if not os.path.exists(path):
            path = "/sys/kernel/debug/tracing/uprobe_events"
        # Not open(path, "a"): Python seeks to the end, which tracefs refuses.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        try:
            for name, (kind, off) in self.floor_offsets.items():
                if add:
                    line = "%s:%s/%s %s:0x%x\n" % (kind, TRACEFS_GROUP, name, self.libc, off)
                else:
                    line = "-:%s/%s\n" % (TRACEFS_GROUP, name)
                try:
                    os.write(fd, line.encode())
                except OSError:
                    if add:
                        raise
        finally:
            os.close(fd)

    # -------------------------------------------------------------- tracers
    # Each returns (start(pid) -> handle, stop(handle, pairs) -> ok or reason).
    def tracer_memtrace(self, extra):
        def start(pid):
            return Memtrace(self, pid, extra)

        def stop(m, pairs):
            d = m.stop()
            calls = d.get("calls", {})
            if d.get("lost_events") or calls.get("malloc") != pairs or calls.get("free") != pairs:
                return "memtrace saw malloc=%s free=%s lost=%s of %d" % (
                    calls.get("malloc"), calls.get("free"), d.get("lost_events"), pairs)
            return None
        return start, stop

    def tracer_floor(self):
        names = ",".join("%s:%s" % (TRACEFS_GROUP, n) for n in self.floor_offsets)

        def start(pid):
            out = os.path.join(self.tmp, "perf-%d.csv" % pid)
            p = subprocess.Popen(["perf", "stat", "-x,", "-e", names, "-p", str(pid), "-o", out],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Ready once perf holds its three events open; the counts
            # checked in stop() prove every call was probed.
            end = time.monotonic() + 30
            while perf_fds(p.pid) < len(self.floor_offsets) and time.monotonic() < end:
                time.sleep(0.02)
            time.sleep(0.1)
            return (p, out)

        def stop(h, pairs):
            p, out = h
            stop_proc(p, signal.SIGINT)
            counts = {}
            with open(out) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) > 2 and parts[2].startswith(TRACEFS_GROUP + ":"):
                        counts[parts[2]] = int(parts[0]) if parts[0].isdigit() else -1
            if len(counts) != 3 or any(c != pairs for c in counts.values()):
                return "perf counted %s of %d" % (counts, pairs)
            return None
        return start, stop

    def tracer_bpftrace(self, which, check_counts):
        def start(pid):
            script = self.bpftrace_scripts(pid)[which]
            p = subprocess.Popen(["bpftrace", "-p", str(pid), "-e", script],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL)
            out = Lines(p.stdout)
            # BEGIN runs once every probe is attached.
            if not out.until(lambda s: "bench: attached" in s, 60):
                stop_proc(p, signal.SIGKILL)
                raise RuntimeError("bpftrace did not attach: " + " | ".join(out.seen[-3:]))
            return (p, out)

        def stop(h, pairs):
            p, out = h
            p.send_signal(signal.SIGINT)
            text = p.stdout.read().decode(errors="replace")
            p.wait(60)
            if not check_counts:
                return None
            counts = dict((k, int(v)) for k, v in re.findall(r"@(\w+): (\d+)", text))
            if len(counts) != 3 or any(c != pairs for c in counts.values()):
                return "bpftrace counted %s of %d" % (counts, pairs)
            return None
        return start, stop

    def tracer_bcc(self):
        def start(pid):
            p = subprocess.Popen(["memleak-bpfcc", "-p", str(pid)], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            out = Lines(p.stdout)
            if not out.until(lambda s: s.startswith("Attaching to pid"), 90):
                stop_proc(p, signal.SIGKILL)
                raise RuntimeError("memleak-bpfcc did not attach")
            time.sleep(0.3)
            return p

        def stop(p, pairs):
            stop_proc(p, signal.SIGINT, 60)
            return None
        return start, stop

    def bpftrace_scripts(self, pid):
        lib = self.libc
        # An explicit pid filter: bpftrace 0.17 counts other processes'
        # calls into a library path even with -p.
        flt = "/pid == %d/ " % pid
        count = ("BEGIN { printf(\"bench: attached\\n\"); }\n"
                 "uprobe:%s:malloc %s{ @malloc_e = count(); }\n"
                 "uretprobe:%s:malloc %s{ @malloc_r = count(); }\n"
                 "uprobe:%s:free %s{ @free_e = count(); }\n" % (lib, flt, lib, flt, lib, flt))
        # bcc memleak's work per call, minus its other entry points: size
        # per thread at entry, (size, stack) per address at return, delete
        # at free's entry.
        memleak = ("BEGIN { printf(\"bench: attached\\n\"); }\n"
                   "uprobe:%s:malloc %s{ @size[tid] = arg0; }\n"
                   "uretprobe:%s:malloc /pid == %d && @size[tid]/ { @sz[retval] = @size[tid]; "
                   "@st[retval] = ustack; delete(@size[tid]); }\n"
                   "uprobe:%s:free %s{ delete(@sz[arg0]); delete(@st[arg0]); }\n"
                   "END { clear(@size); clear(@sz); clear(@st); }\n" % (lib, flt, lib, pid, lib, flt))
        return count, memleak

    # ------------------------------------------------------------- slowdown
    def slowdown(self):
        n = self.pairs
        configs = [("untraced", None),
                   ("memtrace", self.tracer_memtrace([])),
                   ("memtrace --no-vm", self.tracer_memtrace(["--no-vm"])),
                   ("memtrace --no-vm --callsite-only",
                    self.tracer_memtrace(["--no-vm", "--callsite-only"]))]
        if self.has_sample:
            configs.append(("memtrace --sample-bytes 524288",
                            self.tracer_memtrace(["--sample-bytes", "524288"])))
        configs.append(("floor: perf uprobes at memtrace's offsets", self.tracer_floor()))
        if self.has_bpftrace:
            configs.append(("bpftrace count, free at entry", self.tracer_bpftrace(0, True)))
            configs.append(("bpftrace memleak equivalent", self.tracer_bpftrace(1, False)))
        if self.bcc is None:
            configs.append(("bcc memleak-bpfcc", self.tracer_bcc()))
        if self.has_heaptrack:
            configs.append(("heaptrack (LD_PRELOAD, launched)", "heaptrack"))
        samples = {name: [] for name, _ in configs}
        invalid = {name: [] for name, _ in configs}
        self.tracefs_events(True)
        try:
            for r in range(self.rounds):
                # Rotate the order so no configuration always runs first.
                order = configs[r % len(configs):] + configs[:r % len(configs)]
                for name, tr in order:
                    ns, why = self.churn_once(tr, n)
                    if why:
                        invalid[name].append(why)
                        log("%s: round %d invalid: %s" % (name, r, why))
                    else:
                        samples[name].append(ns)
                log("slowdown round %d/%d done" % (r + 1, self.rounds))
        finally:
            self.tracefs_events(False)
        self.res["slowdown"] = {name: {"ns_per_pair": samples[name], "invalid": invalid[name]}
                                for name, _ in configs}

    def churn_once(self, tracer, n):
        if tracer == "heaptrack":
            out = os.path.join(self.tmp, "heaptrack")
            p = subprocess.run(["heaptrack", "-o", out, self.wl("bench_churn"), str(n)],
                               capture_output=True, text=True, timeout=300)
            line = [s for s in p.stdout.splitlines() if s.startswith("pairs=")]
            for f in os.listdir(self.tmp):
                if f.startswith("heaptrack"):
                    os.unlink(os.path.join(self.tmp, f))
            if not line:
                return None, "heaptrack run failed: %s" % p.stderr[-200:]
            return kv(line[0])["ns_per_pair"], None
        w = Workload([self.wl("bench_churn"), "--wait", str(n)])
        h = None
        try:
            if tracer:
                h = tracer[0](w.pid)
            res = w.go()
            why = tracer[1](h, n) if tracer else None
            h = None
        finally:
            w.stop()
            if h is not None and hasattr(h, "p"):
                stop_proc(h.p, signal.SIGKILL)
        return res["ns_per_pair"], why

    def bpf_stats(self):
        """Per-program BPF run time in one extra memtrace run."""
        n = self.pairs
        w = Workload([self.wl("bench_churn"), "--wait", str(n)])
        stats = {}
        try:
            m = Memtrace(self, w.pid, ["--no-vm"])
            res, progs = bpf_stats_run(w.go, m.p.pid)
            for name, pr in progs.items():
                stats[name] = {"run_cnt": pr["run_cnt"], "run_time_ns": pr["run_time_ns"],
                               "ns_per_run": pr["run_time_ns"] / pr["run_cnt"]}
            m.stop()
        finally:
            w.stop()
        self.res["bpf_stats"] = {"progs": stats, "pairs": n, "ns_per_pair_with_stats": res["ns_per_pair"]}

    # ----------------------------------------------------------------- rate
    def rate(self):
        results = []
        secs = self.args.rate_seconds
        for rate in self.args.rates:
            n = int(rate * secs)
            w = Workload([self.wl("bench_churn"), "--wait", "--threads", "2", "--rate", str(rate), str(n)])
            try:
                m = Memtrace(self, w.pid)
                c0 = cpu_ns(m.p.pid)
                res = w.go()
                time.sleep(0.1)  # one drain period (20 ms) and then some
                c1 = cpu_ns(m.p.pid)
                d = m.stop()
            finally:
                w.stop()
            events = d["calls"]["malloc"] + d["calls"]["free"]
            row = {"rate": rate, "achieved_pairs_per_s": res["pairs_per_s"],
                   "events": events, "lost": d["lost_events"],
                   "events_per_s": events / res["seconds"],
                   "mt_cpu_ms_per_mevents": (c1 - c0) / 1e6 / (events / 1e6) if events else None,
                   "mt_cpu_share": (c1 - c0) / 1e9 / (res["seconds"] + 0.1)}
            results.append(row)
            log("rate %d: achieved %.0f pairs/s, lost %d, memtrace %.0f ms CPU per M events" % (
                rate, row["achieved_pairs_per_s"], row["lost"], row["mt_cpu_ms_per_mevents"] or 0))
            # Stop at the first loss, or once the target is clearly the limit.
            if row["lost"] > 0 or row["achieved_pairs_per_s"] < 0.8 * rate:
                break
        self.res["rate"] = results
        p = subprocess.run([os.path.join(self.build, "bench", "bench_agg")], capture_output=True,
                           text=True, timeout=300)
        self.res["agg"] = kv(p.stdout.replace("\n", " ")) if p.returncode == 0 else {"error": p.stderr}

    # ------------------------------------------------------------------ RSS
    def rss(self):
        m_objs = self.args.live
        rows = {0: [], m_objs: []}
        for r in range(self.args.small_rounds):
            for count in (0, m_objs):
                w = Workload([self.wl("bench_live"), "--wait", str(count)])
                try:
                    m = Memtrace(self, w.pid)
                    w.go()
                    time.sleep(0.3)
                    rss = proc_status_kb(m.p.pid, "VmRSS")
                    hwm = proc_status_kb(m.p.pid, "VmHWM")
                    d = m.stop()
                finally:
                    w.stop()
                if d["totals"]["live_objects"] != count or d["lost_events"]:
                    raise RuntimeError("memtrace saw %d live objects of %d" % (
                        d["totals"]["live_objects"], count))
                rows[count].append((rss, hwm))
        base_rss = statistics.median(x[0] for x in rows[0])
        base_hwm = statistics.median(x[1] for x in rows[0])
        full_rss = statistics.median(x[0] for x in rows[m_objs])
        full_hwm = statistics.median(x[1] for x in rows[m_objs])
        self.res["rss"] = {"live": m_objs, "base_rss_kb": base_rss, "base_hwm_kb": base_hwm,
                           "rss_kb": full_rss, "hwm_kb": full_hwm,
                           "bytes_per_live_rss": (full_rss - base_rss) * 1024 / m_objs,
                           "bytes_per_live_hwm": (full_hwm - base_hwm) * 1024 / m_objs}

    # -------------------------------------------------------- attach/detach
    def attach(self):
        out = {}
        for label, extra in (("memtrace", []), ("memtrace --no-vm", ["--no-vm"])):
            att, det = [], []
            for r in range(self.args.small_rounds + 2):
                p = subprocess.Popen([self.wl("bench_threads"), "8"], stdout=subprocess.PIPE)
                lines = Lines(p.stdout)
                try:
                    if not lines.until(lambda s: s.startswith("ready"), 10):
                        raise RuntimeError("bench_threads never said ready")
                    m = Memtrace(self, p.pid, extra + ["--json", "/dev/null"])
                    time.sleep(0.2)
                    m.json = "/dev/null"
                    try:
                        m.stop()
                    except json.JSONDecodeError:
                        pass
                finally:
                    stop_proc(p)
                att.append(m.attach_s)
                det.append(m.detach_s)
            out[label] = {"attach_s": att, "detach_s": det}
        self.res["attach"] = out

    # -------------------------------------------------------------- symbols
    def symbols(self):
        depth = self.args.stack_depth
        times = {0: [], depth: []}
        nstacks = {}
        for r in range(self.args.small_rounds):
            for d in (0, depth):
                w = Workload([self.wl("bench_stacks"), "--wait", str(d)])
                try:
                    m = Memtrace(self, w.pid, ["--min-age", "0", "--no-vm"], verbose=True)
                    w.go()
                    time.sleep(0.1)
                    rep = m.stop()
                finally:
                    w.stop()
                mm = re.search(r"report: built in ([0-9.]+) ms, written in ([0-9.]+) ms", m.stderr)
                if not mm:
                    raise RuntimeError("no 'report: built in' line from memtrace -v")
                times[d].append((float(mm.group(1)), float(mm.group(2))))
                nstacks[d] = rep["leak_summary"]["stacks"]
                stack_fail = rep["drops"]["stack_fail"]
        # Stacks whose capture failed are grouped by call site, fewer groups.
        if nstacks[depth] + stack_fail < (1 << depth):
            raise RuntimeError("memtrace saw %d leaked stacks of %d" % (nstacks[depth], 1 << depth))
        b0 = statistics.median(t[0] for t in times[0])
        b1 = statistics.median(t[0] for t in times[depth])
        w0 = statistics.median(t[1] for t in times[0])
        w1 = statistics.median(t[1] for t in times[depth])
        k = nstacks[depth] - nstacks[0]
        self.res["symbols"] = {"stacks": nstacks[depth], "stack_fail": stack_fail, "build_ms": b1, "build_ms_base": b0,
                               "write_ms": w1, "write_ms_base": w0,
                               "build_ms_per_1000": (b1 - b0) / k * 1000,
                               "total_ms_per_1000": (b1 + w1 - b0 - w0) / k * 1000}


UNWIND_CONFIGS = [
    ("fp build, untraced", "wl_unwind_fp", None),
    ("fp build, --unwind fp", "wl_unwind_fp", ["--no-vm", "--unwind", "fp"]),
    ("fp build, --unwind cfi", "wl_unwind_fp", ["--no-vm", "--unwind", "cfi"]),
    ("no-fp build, untraced", "wl_unwind", None),
    ("no-fp build, --unwind auto (cfi)", "wl_unwind", ["--no-vm"]),
    ("no-fp build, --callsite-only", "wl_unwind", ["--no-vm", "--callsite-only"]),
    ("no-fp build, --sample-bytes 524288", "wl_unwind", ["--no-vm", "--sample-bytes", "524288"]),
]


def unwind_bench(b):
    """CFI against frame-pointer stacks: wl_unwind built both ways (9-frame
    stacks through a frame-pointer-less library and libc), interleaved
    rounds; then the unwind tables memtrace builds for a python3 process."""
    n = b.pairs
    load = open("/proc/loadavg").read().split()[0]
    samples = {name: [] for name, _, _ in UNWIND_CONFIGS}
    invalid = {name: [] for name, _, _ in UNWIND_CONFIGS}
    for r in range(b.rounds):
        order = UNWIND_CONFIGS[r % len(UNWIND_CONFIGS):] + UNWIND_CONFIGS[:r % len(UNWIND_CONFIGS)]
        for name, prog, extra in order:
            w = Workload([b.wl(prog), "--bench", "--wait", str(n)])
            m = None
            try:
                if extra is not None:
                    m = Memtrace(b, w.pid, extra)
                res = w.go()
                if m is not None:
                    d = m.stop()
                    m = None
                    calls = d.get("calls", {})
                    if d.get("lost_events") or calls.get("malloc") != n:
                        invalid[name].append("malloc=%s lost=%s" % (calls.get("malloc"), d.get("lost_events")))
                        continue
                samples[name].append(res["ns_per_pair"])
            finally:
                w.stop()
                if m is not None:
                    stop_proc(m.p, signal.SIGKILL)
        log("unwind round %d/%d done" % (r + 1, b.rounds))
    out = {"ns_per_pair": samples, "invalid": invalid, "tables": [], "load": load, "exit_ns": {}}
    # The return probe's own run time (bpf_stats), one run per traced
    # configuration: the walk without the traps, which dominate per pair.
    for name, prog, extra in UNWIND_CONFIGS:
        if extra is None or "--sample-bytes" in extra:
            continue
        w = Workload([b.wl(prog), "--bench", "--wait", str(n)])
        m = None
        try:
            m = Memtrace(b, w.pid, extra)
            _, progs = bpf_stats_run(w.go, m.p.pid)
            for pname, pr in progs.items():
                if pname.startswith("mt_alloc_exit"):
                    out["exit_ns"][name] = pr["run_time_ns"] / pr["run_cnt"]
            m.stop()
            m = None
        finally:
            w.stop()
            if m is not None:
                stop_proc(m.p, signal.SIGKILL)
    for i in range(b.args.small_rounds):
        p = subprocess.Popen(["/usr/bin/python3", "-c",
                              "import time; print('ready', flush=True); time.sleep(120)"],
                             stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        try:
            Lines(p.stdout).until(lambda s: s.startswith("ready"), 20)
            m = Memtrace(b, p.pid, ["--no-vm"], verbose=True)
            m.stop()
            line = [x for x in m.stderr.splitlines() if "unwind:" in x and "rows for" in x]
            if line:
                g = re.search(r"(\d+) modules \((\d+) cfi\), (\d+) rows for ([\d.]+) MiB of text "
                              r"built in ([\d.]+) ms; row map ([\d.]+) MiB", line[0])
                if g:
                    out["tables"].append({"modules": int(g.group(1)), "cfi": int(g.group(2)),
                                          "rows": int(g.group(3)), "text_mib": float(g.group(4)),
                                          "build_ms": float(g.group(5)), "map_mib": float(g.group(6))})
        finally:
            stop_proc(p, signal.SIGKILL)
    b.res["unwind"] = out


def render_unwind(res, add):
    u = res.get("unwind")
    if not u:
        return
    md = {k: med(v) if v else None for k, v in u["ns_per_pair"].items()}

    def added(traced, base):
        return md[traced] - md[base] if md.get(traced) is not None and md.get(base) is not None else None
    fp = added("fp build, --unwind fp", "fp build, untraced")
    cfi_same = added("fp build, --unwind cfi", "fp build, untraced")
    cfi = added("no-fp build, --unwind auto (cfi)", "no-fp build, untraced")
    cso = added("no-fp build, --callsite-only", "no-fp build, untraced")
    smp = added("no-fp build, --sample-bytes 524288", "no-fp build, untraced")
    add("### Unwinding: CFI against frame pointers (wl_unwind, 9-frame stacks)")
    add("")
    add("`wl_unwind --bench N` (tools/workloads/unwind/) built -O2 with frame pointers (`wl_unwind_fp`) "
        "and without (`wl_unwind`), over the same frame-pointer-less library and Debian's libc; "
        "malloc+free pairs through a 5-function chain, so each stack is 9 frames to `_start`. "
        "memtrace attached with `--no-vm`; interleaved rounds, medians. %s, %d CPUs, load average "
        "%s at the start." % (res["machine"]["date"], res["machine"]["nproc"], u.get("load", "n/a")))
    add("")
    ex = u.get("exit_ns", {})
    add("| Configuration | ns per pair | added ns per pair | valid rounds | return probe ns per call (bpf_stats) |")
    add("|---|---:|---:|---:|---:|")
    for name, _, _ in UNWIND_CONFIGS:
        base = "fp build, untraced" if name.startswith("fp") else "no-fp build, untraced"
        a = added(name, base) if name != base else None
        add("| %s | %s | %s | %d/%d | %s |" % (name, "%.0f" % md[name] if md.get(name) else "n/a",
                                               "%.0f" % a if a is not None else "", len(u["ns_per_pair"][name]),
                                               len(u["ns_per_pair"][name]) + len(u["invalid"][name]),
                                               "%.0f" % ex[name] if name in ex else ""))
    add("")
    if fp and cfi:
        walk = "n/a"
        if cso is not None and fp - cso > 0:
            walk = "%.2f× (%.0f vs %.0f ns)" % ((cfi - cso) / (fp - cso), cfi - cso, fp - cso)
        add("CFI stacks cost **%.2f×** the frame-pointer walk per traced pair (added %.0f vs %.0f ns; "
            "target ≤ 2×)%s; the walk alone, over `--callsite-only`: %s. "
            "Walking the frame-pointer build by CFI instead: %.2f×. "
            "`--sample-bytes` leaves unsampled calls without any walk: %s ns added per pair against "
            "%s with `--callsite-only`." % (
                cfi / fp, cfi, fp, "" if cfi / fp <= 2 else " — **missed**", walk,
                cfi_same / fp if cfi_same else float("nan"),
                "%.0f" % smp if smp is not None else "n/a", "%.0f" % cso if cso is not None else "n/a"))
        add("")
    cs, f, c, a = (ex.get(k) for k in ("no-fp build, --callsite-only", "fp build, --unwind fp",
                                        "fp build, --unwind cfi", "no-fp build, --unwind auto (cfi)"))
    if cs and f and c and a and f > cs:
        add("The walk alone, from the return probe's run time (bpf_stats) over `--callsite-only`'s: "
            "frame pointers %.0f ns, CFI on the same build %.0f ns (**%.2f×**), CFI on the build without "
            "frame pointers %.0f ns (**%.2f×**), for 9 frames." % (f - cs, c - cs, (c - cs) / (f - cs),
                                                                  a - cs, (a - cs) / (f - cs)))
        add("")
    t = u.get("tables") or []
    if t:
        ms = med([x["build_ms"] for x in t])
        x = t[0]
        add("Unwind tables for a python3 process (`/usr/bin/python3`, libc, ld.so, libm, libz, libexpat: "
            "%d modules, %d by CFI): %d rows (8 bytes each) for %.2f MiB of text, **%.0f ms** to build "
            "(median of %d attaches; target ≤ 500 ms), row map **%.2f MiB** (room for as many rows again "
            "plus 1 MiB for later dlopens; target ≤ 8 MiB), i.e. %.2f MiB of rows per MiB of text." % (
                x["modules"], x["cfi"], x["rows"], x["text_mib"], ms, len(t), x["map_mib"],
                x["rows"] * 8 / 1048576 / x["text_mib"] if x["text_mib"] else 0))
        add("")


def perf_fds(pid):
    n = 0
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "anon_inode:[perf_event]":
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


def shutil_which(name):
    for d in os.environ.get("PATH", "").split(":"):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    return None


def med(xs):
    return statistics.median(xs) if xs else None


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    glibc = subprocess.run(["ldd", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip() \
        if shutil_which("systemd-detect-virt") else ""
    git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip()
    return {"date": subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip(),
            "nproc": os.cpu_count(), "kernel": platform.release(), "cpu": cpu,
            "glibc": glibc.split()[-1] if glibc else "?", "virt": virt or "none", "git": git}


def us(ns):
    return "%.2f" % (ns / 1000.0) if ns is not None else "n/a"


def render(res):
    m = res["machine"]
    L = []
    add = L.append
    add(SECTION)
    add("")
    add("Generated by `make bench` (`tools/bench.sh build` -> `tools/bench/bench.py`); "
        "do not edit by hand, rerun instead.")
    add("")
    add("- Date: %s" % m["date"])
    add("- Machine: %d CPUs, %s, kernel %s, glibc %s, virtualization: %s" % (
        m["nproc"], m["cpu"], m["kernel"], m["glibc"], m["virt"]))
    add("- Tree: `%s`; %d interleaved rounds (slowdown), %d pairs per run, medians" % (
        m["git"], res["rounds"], res["pairs"]))
    pl = res.get("placement", {})
    add("- Probes memtrace places (from `memtrace -v`): malloc %s (+ uretprobe), free %s, in `%s`" % (
        pl.get("malloc"), pl.get("free"), pl.get("libc")))
    add("")

    sd = res.get("slowdown", {})
    md = {k: med(v["ns_per_pair"]) for k, v in sd.items()}
    base = md.get("untraced") or 0.0
    mt = md.get("memtrace")
    fl = md.get("floor: perf uprobes at memtrace's offsets")
    peers = {k: md.get(k) for k in ("bpftrace memleak equivalent", "bcc memleak-bpfcc")}
    samp = md.get("memtrace --sample-bytes 524288")
    bs = res.get("bpf_stats", {})
    progs = bs.get("progs", {})
    bpf_pair = sum(x["run_time_ns"] for x in progs.values()) / bs["pairs"] if progs else 0

    add("### Targets")
    add("")
    add("| Target | Measured | Met | Why |")
    add("|---|---|---|---|")
    if mt and fl:
        r = (mt - base) / (fl - base)
        why = ("memtrace adds %s µs per pair over the floor's %s µs; its three BPF programs run %s µs "
               "per pair (bpf_stats below), which the counting-only floor does not run" % (
                   us(mt - fl), us(fl - base), us(bpf_pair)))
        add("| traced pair ≤ 1.2× the raw probe floor | %.2f× (%s vs %s µs added) | %s | %s |" % (
            r, us(mt - base), us(fl - base), "yes" if r <= 1.2 else "**no**", why))
        co = md.get("memtrace --no-vm --callsite-only")
        if co:
            r = (co - base) / (fl - base)
            add("| the same with --callsite-only (no stack walk) | %.2f× (%s vs %s µs added) | %s | "
                "the user-stack walk (bpf_get_stackid) is most of mt_alloc_exit's cost; without it "
                "sites are the immediate caller only |" % (
                    r, us(co - base), us(fl - base), "yes" if r <= 1.2 else "**no**"))
    pk = [(k, v) for k, v in peers.items() if v]
    if mt and pk:
        k, v = max(pk, key=lambda kvp: kvp[1])
        r = v / mt
        best = v / fl if fl else 0
        why = ("%s costs %s µs per pair, mostly its single-stepped probe on free's entry; "
               "memtrace's floor alone is %s µs, so even free BPF programs would give only %.1f×" % (
                   k, us(v), us(fl), best)) if fl else ""
        co = md.get("memtrace --no-vm --callsite-only")
        if co:
            why += "; with --callsite-only memtrace is %.1f× cheaper" % (v / co)
        add("| ≥ 4× cheaper per pair than bcc memleak or bpftrace equivalent | %.2f× (vs %s) | %s | %s |" % (
            r, k, "yes" if r >= 4 else "**no**", why))
    if not peers.get("bcc memleak-bpfcc"):
        add("| (bcc memleak) | %s | n/a | |" % (res.get("bcc") or "no valid round"))
    rr = [x for x in res.get("rate", []) if x["rate"] == 300000]
    if rr:
        x = rr[0]
        ok = x["lost"] == 0 and x["achieved_pairs_per_s"] >= 0.95 * 300000
        why = "no events lost" if x["lost"] == 0 else "%d events lost" % x["lost"]
        if x["achieved_pairs_per_s"] < 0.95 * 300000:
            why += ("; the traced target itself cannot reach the rate: %s µs of probes per pair on "
                    "each thread, with %d CPUs shared with memtrace" % (us(mt), m["nproc"]))
        add("| 0 lost events at 300,000 pairs/s from 2 threads | %.0f pairs/s achieved, %d lost | %s | %s |" % (
            x["achieved_pairs_per_s"], x["lost"], "yes" if ok else "**no**", why))
    rs = res.get("rss")
    if rs:
        per = rs["bytes_per_live_rss"]
        agg = res.get("agg", {}).get("agg_bytes_per_live")
        why = ("the live table (user/collect/mt_agg.c) keeps a 16-byte entry per object at 58-87.5%% load "
               "(it grows by 1.5x), so 18-28 B per object; aggregator heap alone: %s B/object "
               "(bench_agg); VmHWM adds the old table during the last growth" % (
                   "%.1f" % agg if agg else "?"))
        add("| ≤ 32 B RSS per live object | %.1f B (VmRSS), %.1f B (VmHWM) | %s | %s |" % (
            per, rs["bytes_per_live_hwm"], "yes" if per <= 32 else "**no**", why))
    if samp and mt:
        r = (mt - base) / (samp - base)
        add("| --sample-bytes 524288 ≥ 2× cheaper per pair than full | %.2f× (%s vs %s µs) | %s | |" % (
            r, us(samp), us(mt), "yes" if r >= 2 else "**no**"))
    else:
        add("| --sample-bytes 524288 ≥ 2× cheaper per pair than full | n/a: --sample-bytes not available | n/a | |")
    add("")

    add("### Target slowdown: bench_churn, 1 thread, malloc(64) + free")
    add("")
    add("Per pair, timed by the workload around its loop; tracers attached by PID before the loop "
        "starts (heaptrack launches the program).")
    add("")
    add("| Tracer | µs per pair | added µs per pair | added vs floor | memtrace cheaper by | valid rounds |")
    add("|---|---:|---:|---:|---:|---:|")
    for k, v in sd.items():
        x = md[k]
        if x is None:
            add("| %s | n/a | | | | 0 (%s) |" % (k, (v["invalid"] or ["?"])[0][:80]))
            continue
        vs_floor = "%.2f×" % ((x - base) / (fl - base)) if fl and k != "untraced" else ""
        cheaper = "%.2f×" % (x / mt) if mt and k not in ("untraced",) else ""
        add("| %s | %s | %s | %s | %s | %d/%d |" % (k, "%.3f" % (x / 1000), us(x - base) if k != "untraced" else "",
                                                   vs_floor, cheaper, len(v["ns_per_pair"]), res["rounds"]))
    if res.get("bcc"):
        add("| bcc memleak-bpfcc | %s | | | | |" % res["bcc"])
    add("")
    add("\"memtrace cheaper by\" is the tracer's cost per pair over memtrace's (below 1: that tracer is cheaper).")
    add("")
    if progs:
        add("### Where memtrace's time goes: BPF program run time (kernel.bpf_stats_enabled, one run)")
        add("")
        add("| Program | runs | ns per run |")
        add("|---|---:|---:|")
        for p, x in sorted(progs.items()):
            add("| %s | %d | %.0f |" % (p, x["run_cnt"], x["ns_per_run"]))
        add("| per malloc+free pair (all programs) | | %.0f |" % bpf_pair)
        add("")
        add("The traps, the uretprobe's return trampoline and the emulated instructions are the floor; "
            "the programs above come on top of it.")
        add("")

    if res.get("rate"):
        add("### Event rate: bench_churn --threads 2 --rate R, memtrace default options")
        add("")
        add("| requested pairs/s | achieved pairs/s | events/s | lost events | memtrace CPU ms per 1M events | memtrace CPU share |")
        add("|---:|---:|---:|---:|---:|---:|")
        for x in res["rate"]:
            add("| %d | %.0f | %.0f | %d | %.0f | %.0f%% |" % (
                x["rate"], x["achieved_pairs_per_s"], x["events_per_s"], x["lost"],
                x["mt_cpu_ms_per_mevents"] or 0, 100 * x["mt_cpu_share"]))
        ok = [x for x in res["rate"] if x["lost"] == 0]
        last = res["rate"][-1]
        if ok:
            add("")
            add("Highest rate with 0 lost events: %.0f events/s. The ramp stops at the first loss or when "
                "the target cannot reach the requested rate (%s)." % (
                    max(x["events_per_s"] for x in ok),
                    "here: lost events" if last["lost"] else "here: the target, not memtrace, was the limit"))
        agg = res.get("agg", {})
        if "agg_churn_events_per_s" in agg:
            add("")
            add("Aggregator alone (tools/bench/bench_agg.c, synthetic events through mt_rules_apply, one core): "
                "%.1f M events/s with a small live set, %.1f M events/s with 1M live objects." % (
                    agg["agg_churn_events_per_s"] / 1e6, agg["agg_window_events_per_s"] / 1e6))
        add("")
    if rs:
        add("### memtrace RSS: bench_live with %d live objects of 16 B" % rs["live"])
        add("")
        add("| | VmRSS KiB | VmHWM KiB |")
        add("|---|---:|---:|")
        add("| 0 live objects | %d | %d |" % (rs["base_rss_kb"], rs["base_hwm_kb"]))
        add("| %d live objects | %d | %d |" % (rs["live"], rs["rss_kb"], rs["hwm_kb"]))
        add("| bytes per live object | %.1f | %.1f |" % (rs["bytes_per_live_rss"], rs["bytes_per_live_hwm"]))
        add("")
    at = res.get("attach")
    if at:
        add("### Attach and detach: bench_threads (8 idle threads)")
        add("")
        add("| | attach ms (start to \"attached\") | detach ms (SIGINT to exit) |")
        add("|---|---:|---:|")
        for k, v in at.items():
            add("| %s | %.0f | %.0f |" % (k, med(v["attach_s"]) * 1000, med(v["detach_s"]) * 1000))
        add("")
    sy = res.get("symbols")
    if sy:
        add("### Symbolization: bench_stacks, %d leaked stacks" % sy["stacks"])
        add("")
        add("Final report with `--min-age 0` (every stack is a leak candidate, so every frame is symbolized); "
            "time from the `-v` line `report: built in X ms, written in Y ms`, minus the same with one stack.")
        add("")
        add("| | build ms | write ms |")
        add("|---|---:|---:|")
        add("| 1 stack | %.1f | %.1f |" % (sy["build_ms_base"], sy["write_ms_base"]))
        add("| %d stacks | %.1f | %.1f |" % (sy["stacks"], sy["build_ms"], sy["write_ms"]))
        add("| per 1,000 stacks | %.1f | %.1f (build + write) |" % (sy["build_ms_per_1000"], sy["total_ms_per_1000"]))
        add("")
        add("Symbolization per 1,000 unique stacks: **%.1f ms** (build + write; frames are resolved "
            "where the report needs them). %d of %d stacks could not be captured (`drops.stack_fail`) "
            "and are grouped by call site." % (sy["total_ms_per_1000"], sy.get("stack_fail", 0),
                                               sy["stacks"] + sy.get("stack_fail", 0)))
        add("")
    render_unwind(res, add)
    add("How each number is measured, and its limits: see \"Method\" below.")
    add("")
    return "\n".join(L)


def update_doc(path, section, method):
    replace_section(path, SECTION, section + "\n" + method)


def main():
    ap = argparse.ArgumentParser(description="memtrace benchmarks")
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("MT_BENCH_ROUNDS", 5)))
    ap.add_argument("--small-rounds", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=int(os.environ.get("MT_BENCH_PAIRS", 200000)))
    ap.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")],
                    default=[100000, 200000, 300000, 400000, 500000, 600000, 800000])
    ap.add_argument("--rate-seconds", type=float, default=2.0)
    ap.add_argument("--live", type=int, default=1000000)
    ap.add_argument("--stack-depth", type=int, default=10)
    ap.add_argument("--only", default="slowdown,bpfstats,rate,rss,attach,symbols,unwind")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"),
                    help="markdown file whose memtrace section is replaced ('' = none)")
    ap.add_argument("--method", default=os.path.join(ROOT, "tools", "bench", "method.md"))
    ap.add_argument("--render-only", action="store_true",
                    help="rewrite the section from BUILD/bench/results.json without measuring")
    args = ap.parse_args()
    if args.render_only:
        with open(os.path.join(args.build, "bench", "results.json")) as f:
            res = json.load(f)
        section = render(res)
        print(section)
        if args.doc:
            method = open(args.method).read() if os.path.exists(args.method) else ""
            update_doc(args.doc, section, method)
        return 0
    b = Bench(args)
    t0 = time.monotonic()
    b.res["machine"] = machine()
    b.discover()
    only = args.only.split(",")
    steps = [("slowdown", b.slowdown), ("bpfstats", b.bpf_stats), ("rate", b.rate),
             ("rss", b.rss), ("attach", b.attach), ("symbols", b.symbols),
             ("unwind", lambda: unwind_bench(b))]
    for name, fn in steps:
        if name in only:
            log("%s ..." % name)
            fn()
    b.res["seconds"] = time.monotonic() - t0
    with open(os.path.join(b.build, "bench", "results.json"), "w") as f:
        json.dump(b.res, f, indent=1)
    section = render(b.res)
    print(section)
    if args.doc:
        method = open(args.method).read() if os.path.exists(args.method) else ""
        update_doc(args.doc, section, method)
        log("wrote %s (%.0f s in all)" % (args.doc, b.res["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
