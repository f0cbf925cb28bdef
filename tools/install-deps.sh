#!/usr/bin/env bash
# Install everything memtrace and libmtpool need to build, test and benchmark
# on Debian 12 (bookworm). Idempotent: a second run installs nothing new.
#
# libbpf >= 1.4 and bpftool come from bookworm-backports. The backports
# source is derived from the machine's own Debian mirror (whatever
# /etc/apt/sources.list{,.d} already uses), so no registry host is named here.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root (try: sudo $0)" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
if [ "$codename" != "bookworm" ]; then
	echo "install-deps: warning: written for Debian 12 (bookworm), found '${codename:-unknown}'" >&2
fi

# Find the first URI that serves the main Debian suite, in either the
# deb822 (.sources) or the one-line (.list) format.
debian_mirror() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v cn="$codename" '
			/^URIs:/   { uri=$2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == cn) found=1 }
			/^$/       { if (found && uri) { print uri; exit } found=0; uri="" }
			END        { if (found && uri) print uri }' "$f" | head -n 1
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v cn="$codename" '$1 == "deb" {
			for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { uri=$i; s=$(i+1) }
			if (s == cn) { print uri; exit } }' "$f"
	done
}

backports_list=/etc/apt/sources.list.d/memtrace-backports.list
if [ "$codename" = "bookworm" ] && ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
	mirror=$(debian_mirror | head -n 1)
	if [ -z "$mirror" ]; then
		echo "install-deps: cannot find the Debian mirror in /etc/apt/sources.list*; add bookworm-backports by hand" >&2
		exit 1
	fi
	echo "deb $mirror bookworm-backports main" > "$backports_list"
	echo "install-deps: enabled bookworm-backports from $mirror"
fi

pkgs=(
	make gcc clang llvm pkg-config
	# libFuzzer and clang's sanitizer runtimes (make test's fuzz stage):
	# only recommended by clang, so not there with --no-install-recommends
	libclang-rt-14-dev
	libelf-dev zlib1g-dev libdw-dev libzstd-dev libdebuginfod-dev libiberty-dev
	libcapstone-dev systemtap-sdt-dev
	python3
	libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev
	bpftrace linux-perf util-linux binutils gdb
	# names: libc's own debug info, a local debuginfod server, a C++
	# compiler, xz and dwz for the symbolizer's tests
	debuginfod xz-utils dwz
	# memtrace layout's tests: pahole to compare with, C++ and Go programs,
	# the C library's debug info
	dwarves g++ golang-go libc6-dbg
	# memtrace --listen: the HTTP server library; its test scrapes with
	# promtool and a real Prometheus server (both in the prometheus package)
	libmicrohttpd-dev prometheus
	# the install test lints the man pages
	mandoc
	# --pprof: protobuf-c encodes pprof's profile.proto; go tool pprof
	# (golang-go, above) reads the result in the tests
	libprotobuf-c-dev protobuf-c-compiler
	# --html: the report page is checked in headless Chromium, driven
	# through chromedriver (tests/e2e/t84-html.sh)
	chromium chromium-driver
	# unwinding: Debian's own binaries without frame pointers to try
	gawk sqlite3
	# make bench only: a real multi-threaded server under memtrace
	# (tools/bench/redis.py)
	redis-server redis-tools
)
backports=(libbpf-dev bpftool)
# The Go heap mode's tests build their Go programs with every toolchain
# installed: golang-go (1.19 on bookworm) and, from backports, newer ones
# (the pclntab and type layouts differ between releases).
if [ "$codename" = "bookworm" ]; then
	backports+=(golang-1.21-go golang-1.22-go golang-1.23-go)
fi

missing=()
for p in "${pkgs[@]}" "${backports[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# libbpf-dev must be >= 1.4 even when an older one is installed.
if dpkg --compare-versions "$(dpkg-query -W -f='${Version}' libbpf-dev 2>/dev/null || echo 0)" lt 1:1.4; then
	missing+=(libbpf-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: everything is installed"
	exit 0
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
if [ "$codename" = "bookworm" ]; then
	apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports[@]}"
else
	apt-get install -y -qq --no-install-recommends "${backports[@]}"
fi
echo "install-deps: done"
