# Shared helpers of the end-to-end tests (sourced). Exit codes: 0 pass,
# 1 fail, 77 skip (tests/run.sh turns a skip into a failure under CI=true).
set -u
MT_BUILD=${MT_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
MT=$MT_BUILD/memtrace
WL=$MT_BUILD/tools
E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d)
CLEANUP_PIDS=()

cleanup() {
	local p
	for p in "${CLEANUP_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

skip() { echo "skip: $*"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }

need_bpf() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to load BPF programs"
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF at /sys/kernel/btf/vmlinux"
	[ -x "$MT" ] || fail "$MT not built"
}

# wait_for FILE PATTERN [SECONDS]: until a line of FILE matches.
wait_for() {
	local i
	for ((i = 0; i < ${3:-20} * 20; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1:"; cat "$1"
	return 1
}

# No BPF program of memtrace's may outlive it.
no_memtrace_progs() {
	if bpftool prog show 2>/dev/null | grep -Eq 'name (mt_alloc_enter|mt_alloc_exit|mt_free_enter)'; then
		bpftool prog show | grep -E 'mt_' 
		return 1
	fi
	return 0
}
