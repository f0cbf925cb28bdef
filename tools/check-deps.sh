#!/usr/bin/env bash
# Called once by the Makefile: stop with one clear line when a build
# dependency is missing, naming the script that installs it.
missing=()
for t in clang llvm-strip bpftool pkg-config g++ protoc-c; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
for m in "libbpf >= 1.4" "libdw" "libelf" "capstone" "libmicrohttpd" "libprotobuf-c" "libdebuginfod"; do
	pkg-config --exists "$m" 2>/dev/null || missing+=("$m")
done
echo "#include <sys/sdt.h>" | cc -E -x c - >/dev/null 2>&1 || missing+=("sys/sdt.h")
echo "#include <libiberty/demangle.h>" | cc -E -x c - >/dev/null 2>&1 || missing+=("libiberty/demangle.h")
if [ ${#missing[@]} -ne 0 ]; then
	echo "memtrace build: missing ${missing[*]}; run: sudo tools/install-deps.sh" >&2
	exit 1
fi
