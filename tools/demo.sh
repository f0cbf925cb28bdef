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
echo "== memtrace -i 1 -- $build/tools/mt_demo 4"
echo "   (a request handler; one response in ten leaks its 256-byte header block)"
echo
"$build/memtrace" -i 1 --top 5 --no-vm -- "$build/tools/mt_demo" 4
