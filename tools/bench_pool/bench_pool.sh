#!/usr/bin/env bash
# make bench-pool: every allocator and libmtpool on scenarios (a)-(e), in
# ROUNDS interleaved rounds (default 9; the case order rotates each round so
# drift and noisy neighbours spread evenly), then medians.
# Output: a markdown table on stdout and in BUILD/bench_pool.md.
set -euo pipefail

build=${1:-build}
rounds=${ROUNDS:-9}
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT

# scenario  binary   impl     row label
# mtpool is the header's inline fast path, mtpool-ool the library calls (as
# built with MTPOOL_NO_INLINE). reuse-floor is the malloc rows' builder on
# one buffer reset per message and never freed; memcpy-only is the bare
# copies into a static buffer (information only).
cases=(
	"a1 glibc malloc glibc"    "a1 jemalloc malloc jemalloc" "a1 mimalloc malloc mimalloc"
	"a1 tcmalloc malloc tcmalloc" "a1 glibc mtpool mtpool"       "a1 glibc mtpool_ool mtpool-ool"
	"a2 glibc malloc glibc"    "a2 jemalloc malloc jemalloc" "a2 mimalloc malloc mimalloc"
	"a2 tcmalloc malloc tcmalloc" "a2 glibc mtpool mtpool"
	"b glibc malloc glibc"     "b jemalloc malloc jemalloc"  "b mimalloc malloc mimalloc"
	"b tcmalloc malloc tcmalloc"  "b glibc mtpool mtpool"        "b glibc mtpool_ool mtpool-ool"
	"c glibc malloc glibc"     "c jemalloc malloc jemalloc"  "c mimalloc malloc mimalloc"
	"c tcmalloc malloc tcmalloc"  "c glibc mtsc mtpool_sc"
	"d glibc malloc glibc"     "d jemalloc malloc jemalloc"  "d mimalloc malloc mimalloc"
	"d tcmalloc malloc tcmalloc"  "d glibc mtpool mtpool"
	"e glibc malloc glibc"     "e jemalloc malloc jemalloc"  "e mimalloc malloc mimalloc"
	"e tcmalloc malloc tcmalloc"  "e glibc floor reuse-floor"  "e glibc bufpool mtpool_buf"
	"e glibc memcpy memcpy-only"
)

for bin in glibc jemalloc mimalloc tcmalloc; do
	[ -x "$build/tools/bench_pool_$bin" ] || { echo "bench_pool: missing $build/tools/bench_pool_$bin" >&2; exit 1; }
done
echo "bench_pool: $rounds rounds x ${#cases[@]} cases" >&2
n=${#cases[@]}
for ((r = 0; r < rounds; r++)); do
	for ((i = 0; i < n; i++)); do
		read -r scen bin impl label <<<"${cases[$(((i + r * 7) % n))]}"
		out=$("$build/tools/bench_pool_$bin" "$scen" "$impl")
		ns=${out#ns=}; ns=${ns%% *}
		rss=${out#*rss_kb=}; rss=${rss%% *}
		lib=${out##*malloc=}
		echo "$scen $label $ns $rss $lib" >>"$raw"
	done
	echo "bench_pool: round $((r + 1))/$rounds done" >&2
done

python3 - "$raw" "$rounds" <<'PY' | tee "$build/bench_pool.md"
import statistics, sys
from collections import defaultdict, OrderedDict
raw, rounds = sys.argv[1], sys.argv[2]
ns, rss, lib = defaultdict(list), defaultdict(list), {}
order = OrderedDict()
for line in open(raw):
    s, label, n, r, l = line.split()
    ns[(s, label)].append(float(n)); rss[(s, label)].append(int(r))
    lib[(s, label)] = l; order[(s, label)] = 1
titles = {"a1": "(a) 64 B get/put churn, 1 thread", "a2": "(a) 64 B churn, 2 threads (per thread)",
          "b": "(b) 100,000 live 64 B, random replacement", "c": "(c) 8-4096 B log-uniform, 50,000 live",
          "d": "(d) producer->consumer, 256 B", "e": "(e) 32 B + 1-16 KiB appends per message"}
print(f"Medians of {rounds} interleaved rounds; ns per get+put (malloc+free), per message in (e).\n")
print("| scenario | allocator | ns/op | x glibc | peak RSS MiB | min-max ns |")
print("|---|---|---:|---:|---:|---|")
for (s, label) in order:
    m = statistics.median(ns[(s, label)])
    g = statistics.median(ns[(s, "glibc")])
    r = statistics.median(rss[(s, label)]) / 1024
    lo, hi = min(ns[(s, label)]), max(ns[(s, label)])
    print(f"| {titles[s]} | {label} | {m:.1f} | {m / g:.2f} | {r:.1f} | {lo:.1f}-{hi:.1f} |")
PY
