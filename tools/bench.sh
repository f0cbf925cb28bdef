#!/usr/bin/env bash
# memtrace benchmarks: `make bench` runs this after building everything.
# Measures target slowdown (against a raw probe floor and peer tracers),
# event rate, memtrace's CPU and RSS, attach/detach and symbolization time,
# and replaces the "## memtrace (make bench)" section of docs/BENCHMARKS.md
# with the results (machine and date included), then the soak run
# (tools/bench/soak.py, its own section). About 15-20 minutes.
# A benchmark, not a test: nothing here passes or fails on speed.
#   tools/bench.sh [BUILD] [bench.py options]   e.g. --rounds 3 --doc ''
# Needs root (BPF, tracefs, bpf_stats); bpftrace, perf, heaptrack and
# memleak-bpfcc are used when installed, and their rows say n/a otherwise.
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF programs, tracefs uprobe events, bpf_stats)" >&2
	exit 1
fi
for tool in python3 perf readelf taskset; do
	command -v "$tool" >/dev/null || { echo "bench: '$tool' not found" >&2; exit 1; }
done
mkdir -p "$build/bench"
# The aggregator benchmark links libmt.a, which the top-level Makefile builds.
cc -O2 -g -Wall -Wextra -std=gnu11 -D_GNU_SOURCE -I"$build/bpf" -Ibpf -Iuser \
	"$here/bench/bench_agg.c" "$build/libmt.a" \
	$(pkg-config --libs libbpf libdw capstone) -lelf -lz -lm -lpthread -o "$build/bench/bench_agg"
# The tax on other processes of the kernel-side view's syscall sources.
cc -O2 -Wall -Wextra "$here/bench/syscall_tax.c" -o "$build/bench/syscall_tax"
python3 "$here/bench/vmtax.py" --build "$build" --doc docs/BENCHMARKS.md
# redis-server untraced, traced in full, under --max-overhead 5 and
# --no-heap, side by side (about three minutes; skipped without redis).
cc -O2 -g -fno-omit-frame-pointer -shared -fPIC -Wall -Wextra "$here/bench/redis_leak.c" -lpthread \
	-o "$build/bench/redis_leak.so"
python3 "$here/bench/redis.py" --build "$build" --doc docs/BENCHMARKS.md
# The overhead budget side by side (about a minute): its own section.
python3 "$here/bench/budget.py" --build "$build" --doc docs/BENCHMARKS.md
# What each pool tracing mode costs the pooled fast path: its own section.
python3 "$here/bench/pools.py" --build "$build" --doc docs/BENCHMARKS.md
# memtrace's own RSS, peak and BPF maps attached to an idle process (~40 s).
python3 "$here/bench/footprint.py" --build "$build" --doc docs/BENCHMARKS.md
# The Go heap mode per mallocgc call against the raw probe floor: its own section.
python3 "$here/bench/go.py" --build "$build" --doc docs/BENCHMARKS.md
python3 "$here/bench/bench.py" --build "$build" "$@"
# Ten minutes attached to a never-pausing churn: memtrace's RSS, BPF map
# memory and CPU must stay flat (MT_SOAK_SECONDS=0 leaves it out).
if [ "${MT_SOAK_SECONDS:-600}" != 0 ]; then
	python3 "$here/bench/soak.py" --build "$build"
fi
