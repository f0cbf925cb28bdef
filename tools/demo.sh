#!/usr/bin/env bash
# `make demo`: trace the bundled demo service (tools/workloads/mt_demo.c)
# from its first instruction, with a live report every second, and show the
# leak planted in format_headers() with its stack.
set -eu
build=${1:-build}
if [ "$(id -u)" -ne 0 ]; then
	echo "demo: memtrace loads BPF programs: run as root (sudo make demo)" >&2
	exit 1
fi
out=$build/demo
mkdir -p "$out"
echo "== memtrace -i 1 -- $build/tools/mt_demo 4"
echo "   (a request handler; one response in ten leaks its 256-byte header block)"
echo
"$build/memtrace" -i 1 --top 5 --json "$out/report.json" --pprof "$out/heap.pb.gz" \
	--folded "$out/live.folded" --html "$out/report.html" -- "$build/tools/mt_demo" 4
echo
echo "== written next to the text:"
echo "   $out/report.html   open it in a browser (one file, loads nothing): xdg-open $out/report.html"
echo "   $out/report.json   memtrace report $out/report.json [--html F|--pprof F|--folded F|--text]"
echo "   $out/heap.pb.gz    go tool pprof -top -sample_index=inuse_space $out/heap.pb.gz"
echo "   $out/live.folded   flamegraph.pl $out/live.folded > live.svg (or inferno, speedscope)"
