#!/usr/bin/env bash
# make demo-compare: memtrace compare on the example server
# (tools/examples/mt_server.c): unpooled (MTPOOL_DISABLE=1) against pooled,
# 3 rounds each (and each once untraced, for honest CPU and wall time),
# then the pool advice of the unpooled run against what
# the pooled run achieved. The comparison is also written as JSON.
set -euo pipefail
BUILD=${1:-build}
out=$BUILD/demo
mkdir -p "$out"
if [ "$(id -u)" -ne 0 ]; then
	echo "demo-compare: memtrace loads BPF programs: run as root (sudo make demo-compare)" >&2
	exit 1
fi
echo "+ $BUILD/memtrace compare --repeat 3 --untraced --json $out/compare.json --keep $out/compare -- $BUILD/tools/mt_server 20000"
"$BUILD/memtrace" compare --repeat 3 --untraced --json "$out/compare.json" --keep "$out/compare" \
	-- "$BUILD/tools/mt_server" 20000
echo
echo "The comparison as JSON: $out/compare.json; each round's report: $out/compare/{a,b}N.json"
echo "(memtrace diff $out/compare/a1.json $out/compare/b1.json compares any two)"
