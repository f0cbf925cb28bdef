#!/usr/bin/env python3
"""Soak benchmark: memtrace attached with -i 1 to a multi-threaded process
that churns allocations without pause (tools/workloads/bench_soak.c) for
--seconds (default 600). Every --every seconds it samples memtrace's RSS,
its CPU time and the kernel memory of its BPF maps (memlock of every map
fd it holds), and at the end compares the first and last minutes: a
long-running memtrace must stay flat. memtrace also serves /metrics
(--listen) and a scraper fetches it every --scrape seconds throughout, so
the metrics server's memory is part of what must stay flat. Writes the "## soak (make bench)"
section of docs/BENCHMARKS.md (machine and date included). A benchmark,
not a test: nothing here passes or fails."""
import argparse, datetime, os, platform, re, signal, subprocess, sys, threading, time
import urllib.request

from mt_bench_lib import replace_section

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECTION = "## soak (make bench)"


def proc_sample(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1)) * 1024
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    maps = 0
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                info = f.read()
        except OSError:
            continue
        if "map_id:" in info:
            m = re.search(r"^memlock:\s+(\d+)", info, re.M)
            maps += int(m.group(1)) if m else 0
    return rss, cpu, maps


def window(samples, t0, t1):
    sel = [s for s in samples if t0 <= s[0] < t1]
    return sel[0], sel[-1], sum(s[1] for s in sel) / len(sel), sum(s[3] for s in sel) / len(sel)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("MT_SOAK_SECONDS", 600)))
    ap.add_argument("--every", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--scrape", type=float, default=0.5, help="seconds between /metrics scrapes")
    ap.add_argument("--doc", default=os.path.join(ROOT, "docs", "BENCHMARKS.md"),
                    help="document whose soak section is replaced ('' = print only)")
    a = ap.parse_args()
    if a.seconds < 120:
        sys.exit("soak: --seconds must be at least 120 (a first and a last minute)")
    wl = subprocess.Popen([os.path.join(a.build, "tools", "bench_soak"), str(a.threads)],
                          stdout=subprocess.PIPE, text=True)
    mt = None
    try:
        if not wl.stdout.readline().startswith("ready"):
            sys.exit("soak: the workload did not start")
        # every call traced: the heaviest load on memtrace's own memory
        mt = subprocess.Popen([os.path.join(a.build, "memtrace"), "-p", str(wl.pid), "-i", "1",
                               "--max-overhead", "off",
                               "--listen", "127.0.0.1:0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        m = re.search(r"serving metrics at (\S+)", mt.stderr.readline())
        if not m or "attached" not in mt.stderr.readline():
            sys.exit("soak: memtrace did not serve metrics and attach")
        url, stop = m.group(1), threading.Event()

        def scraper():
            while not stop.wait(a.scrape):
                try:
                    with urllib.request.urlopen(url, timeout=5) as r:
                        scrapes[1] = max(scrapes[1], len(r.read()))
                    scrapes[0] += 1
                except OSError:
                    scrapes[2] += 1
        scrapes = [0, 0, 0]   # done, largest bytes, failed
        th = threading.Thread(target=scraper, daemon=True)
        th.start()
        start, samples = time.monotonic(), []
        while True:
            now = time.monotonic() - start
            rss, cpu, maps = proc_sample(mt.pid)
            samples.append((now, rss, cpu, maps))
            if now >= a.seconds:
                break
            time.sleep(min(a.every, a.seconds - now))
        stop.set()
        th.join()
        mt.send_signal(signal.SIGINT)
        err = mt.communicate(timeout=60)[1]
        lost = re.findall(r"lost[^\n]*", err)
    finally:
        if mt and mt.poll() is None:
            mt.kill()
        wl.send_signal(signal.SIGTERM)
        wl.wait()
    first = window(samples, 0, 60)
    last = window(samples, a.seconds - 60, a.seconds + 1)
    cpu_first = (first[1][2] - first[0][2]) / max(first[1][0] - first[0][0], 1e-9)
    cpu_last = (last[1][2] - last[0][2]) / max(last[1][0] - last[0][0], 1e-9)
    mib = 1 << 20
    kern = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
    out = [SECTION, "",
           "Measured %s UTC on %s, %d CPUs, kernel %s; tools/bench/soak.py: memtrace -p -i 1 --max-overhead off on "
           "bench_soak with %d churning threads for %.0f s, sampled every %.0f s. Other load on "
           "the machine during the run changes the CPU figures, not the memory ones. /metrics "
           "was scraped every %.1f s: %d scrapes (%d failed), up to %d bytes each." % (
               datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), platform.node() or "?",
               os.cpu_count(), kern, a.threads, a.seconds, a.every, a.scrape, scrapes[0], scrapes[2],
               scrapes[1]), "",
           "| memtrace | first minute | last minute | change |",
           "|---|---:|---:|---:|",
           "| RSS MiB (mean) | %.1f | %.1f | %+.1f%% |" % (first[2] / mib, last[2] / mib,
                                                         100 * (last[2] / first[2] - 1)),
           "| BPF map memory MiB (mean memlock) | %.1f | %.1f | %+.1f%% |" % (
               first[3] / mib, last[3] / mib, 100 * (last[3] / first[3] - 1)),
           "| CPU, share of one core | %.3f | %.3f | %+.1f%% |" % (
               cpu_first, cpu_last, 100 * (cpu_last / cpu_first - 1) if cpu_first else 0),
           "",
           "Peak RSS %.1f MiB; final report lines on losses: %s." % (
               max(s[1] for s in samples) / mib, "; ".join(lost) if lost else "none"), ""]
    text = "\n".join(out)
    print(text)
    if a.doc:
        replace_section(a.doc, SECTION, text)

if __name__ == "__main__":
    main()
