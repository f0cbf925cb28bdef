#!/usr/bin/env python3
"""memtrace's own footprint (make bench; docs/BENCHMARKS.md "memtrace's own
footprint"): memtrace attached with the defaults (and --no-heap) to an idle
`sleep`, its RSS and peak RSS from /proc/PID/status while attached and the
report's "memtrace" section (RSS, peak, BPF map memory by object, DWARF
modules loaded). Medians of --rounds runs. A benchmark: nothing fails on
size. Usage: footprint.py --build DIR [--compare DIR [--compare-label L]]
[--rounds N] [--doc FILE] (--compare: another build measured the same way,
e.g. an older commit)."""
import argparse, json, os, platform, signal, statistics, subprocess, tempfile, time

MODES = [("defaults", []), ("--no-heap", ["--no-heap"])]
# a target with libmtpool: the pools object loads too (wl_pool sleeps 20 s)
POOL_WL = "tools/wl_pool"
OBJECTS = ["heap", "vm", "pools", "go_alloc", "go_gc"]
MIB = 1 << 20


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) * 1024
    return out


def run(build, args, wait_s, target):
    idle = subprocess.Popen(target, stdout=subprocess.PIPE, text=True)
    if target[0] != "sleep":
        for line in idle.stdout:   # wl_pool: "holding" once its pools are made
            if line.startswith("holding"):
                break
    with tempfile.TemporaryDirectory() as tmp:
        js = os.path.join(tmp, "r.json")
        mt = subprocess.Popen([f"{build}/memtrace", "-p", str(idle.pid), "--json", js, "-o", os.devnull]
                              + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            for line in mt.stderr:
                if "attached to PID" in line:
                    break
            else:
                raise SystemExit(f"footprint: memtrace {' '.join(args)} did not attach (exit {mt.wait()})")
            time.sleep(wait_s)
            st = status(mt.pid)
            mt.send_signal(signal.SIGINT)
            mt.stderr.read()
            if mt.wait() != 0:
                raise SystemExit(f"footprint: memtrace exited {mt.returncode}")
        finally:
            idle.kill()
            idle.wait()
        with open(js) as f:
            m = json.load(f)["memtrace"]
    objs = m.get("bpf_objects", {})
    return {"rss": st["VmRSS"], "peak": st["VmHWM"], "report_rss": m["rss_bytes"],
            "maps": m["bpf_map_bytes"], "rings": m["bpf_ring_bytes"],
            "dwarf": m.get("dwarf_modules_loaded"),
            "by": {o: objs[o]["map_bytes"] for o in objs}}


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--compare", default="")
    ap.add_argument("--compare-label", default="")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--wait", type=float, default=3.0)
    ap.add_argument("--doc", default="")
    a = ap.parse_args()
    builds = [("this build", a.build)] + ([(a.compare_label or a.compare, a.compare)] if a.compare else [])
    lines = [
        f"Machine: {platform.node()}, {os.cpu_count()} CPUs, kernel {platform.release()}; "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; memtrace -p an idle `sleep`, "
        f"read {a.wait:g} s after attach (RSS and peak from /proc/PID/status), BPF maps from the "
        f"report's `memtrace` section (each map's memlock); medians of {a.rounds} runs. "
        f"DWARF modules loaded: debug info decompressed by the symbolizer (found at attach, "
        f"read only for frames a report names).",
        "",
        "| build | options | RSS MiB | peak RSS MiB | BPF maps MiB (by object) | of which rings MiB | DWARF modules loaded |",
        "|---|---|---|---|---|---|---|",
    ]
    modes = [(n, x, ["sleep", "3600"]) for n, x in MODES]
    wl = os.path.join(a.build, POOL_WL)
    if os.access(wl, os.X_OK):
        modes.append(("defaults, target uses libmtpool (`wl_pool hold`)", [], [wl, "hold"]))
    for label, build in builds:
        for name, args, target in modes:
            rows = [run(build, args, a.wait, target) for _ in range(a.rounds)]
            by = ", ".join(f"{o} {statistics.median(r['by'].get(o, 0) for r in rows) / MIB:.1f}"
                           for o in OBJECTS if any(o in r["by"] for r in rows))
            dw = rows[-1]["dwarf"]
            lines.append(f"| {label} | {name} | {med(rows, 'rss') / MIB:.1f} | {med(rows, 'peak') / MIB:.1f} | "
                         f"{med(rows, 'maps') / MIB:.1f}{f' ({by})' if by else ''} | {med(rows, 'rings') / MIB:.1f} | "
                         f"{'n/a' if dw is None else dw} |")
    text = "\n".join(lines)
    print(text)
    if a.doc:
        doc = open(a.doc).read()
        head = "## memtrace's own footprint (make bench: tools/bench/footprint.py)\n"
        body = head + "\n" + text + "\n\n"
        old = [h for h in (head, "## memtrace's own footprint (issue 12; measured by hand)\n") if h in doc]
        if old:
            start = doc.index(old[0])
            nxt = doc.find("\n## ", start + len(old[0]))
            doc = doc[:start] + body + (doc[nxt + 1:] if nxt >= 0 else "")
        else:
            doc = doc.rstrip("\n") + "\n\n" + body
        open(a.doc, "w").write(doc)


main()
