# Shared helpers of the end-to-end tests (sourced). Exit codes: 0 pass,
# 1 fail, 77 skip (tests/run.sh turns a skip into a failure under CI=true).
#
# Strict mode: a command that fails and whose status nothing checks fails
# the test (exit 1, never 77), naming the file, line and command. As in
# git's test-lib, a check cannot be dropped by forgetting `|| fail`: write
# `cmd || fail "why"` for a clear message, and `rc=0; cmd || rc=$?` where a
# non-zero status is expected. Holes bash leaves (tests/lint/e2e-strict.sh
# rejects the first three): `local x=$(cmd)` hides cmd's status; a bare
# `! cmd` never fails; a function called as `f || ...` or in `if f` runs with
# errexit off, so such a function must return its checks' status itself.
set -Eeuo pipefail
shopt -s inherit_errexit
MT_TOP_PID=$BASHPID
on_err() {
	local rc=$1 line=$2 file=$3 cmd=$4
	# In a subshell ($(...), a pipeline stage) leave the report to the
	# test's own shell, which fails on the subshell's status in turn.
	[ "$BASHPID" = "$MT_TOP_PID" ] || exit "$rc"
	echo "FAIL: ${file##*/}:$line: unchecked command exited $rc: $cmd"
	exit 1
}
trap 'on_err $? "$LINENO" "${BASH_SOURCE[0]}" "$BASH_COMMAND"' ERR
MT_BUILD=${MT_BUILD:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
MT=$MT_BUILD/memtrace
WL=$MT_BUILD/tools
E2E=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TMP=$(mktemp -d)
CLEANUP_PIDS=()

# Keeps the test's exit status; a process already gone is no error here.
cleanup() {
	local rc=$? p
	set +e
	trap - ERR
	for p in "${CLEANUP_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
	exit "$rc"
}
trap cleanup EXIT

skip() { echo "skip: $*"; exit 77; }
# bad MSG: one misbehaving case, counted in $errors; fail repeats every
# such line last, so a log cut to its tail still says what went wrong.
BAD_LINES=()
errors=0
bad() { echo "$*"; BAD_LINES+=("$*"); errors=$((errors + 1)); }
fail() {
	echo "FAIL: $*"
	[ ${#BAD_LINES[@]} -eq 0 ] || printf '  case: %s\n' "${BAD_LINES[@]}"
	exit 1
}

need_bpf() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to load BPF programs"
	[ -r /sys/kernel/btf/vmlinux ] || skip "kernel has no BTF at /sys/kernel/btf/vmlinux"
	[ -x "$MT" ] || fail "$MT not built"
	command -v bpftool >/dev/null || fail "bpftool not installed (the build needs it too)"
}

# alive PID: the process runs. Not `kill -0`: that succeeds on a zombie,
# and a target killed under the test stays one until the test reaps it.
alive() {
	local stat state
	read -r stat 2>/dev/null <"/proc/$1/stat" || return 1
	state=${stat##*) }
	state=${state%% *}
	[ "$state" != Z ] && [ "$state" != X ]
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

# IDs of every loaded BPF program named like memtrace's (mt_*).
mt_prog_ids_all() {
	bpftool prog show -j 2>/dev/null | python3 -c '
import json, sys
print(" ".join(str(p["id"]) for p in json.load(sys.stdin) if p.get("name", "").startswith("mt_")))'
}

# snap_progs; ...; no_memtrace_progs: no memtrace program loaded since the
# snapshot is still loaded, but for those a memtrace process still running
# holds (another memtrace beside the tests, started after the snapshot, is
# not a leak of this one's; a program a target or nothing holds is).
MT_PROGS_BEFORE=""
snap_progs() { MT_PROGS_BEFORE=" $(mt_prog_ids_all) "; }
# The kernel frees a program shortly after its last reference goes (RCU),
# so both checks allow it ten seconds (a uprobe program waits for an RCU
# tasks-trace grace period, seconds on a loaded machine); a clean state
# returns at once.
no_memtrace_progs() {
	local id ids left try
	for try in $(seq 200); do
		# A listing that fails must not read as "none loaded".
		ids=$(mt_prog_ids_all) || { echo "cannot list the loaded BPF programs"; return 1; }
		left="" held=" $(running_memtrace_prog_ids) "
		for id in $ids; do
			case "$MT_PROGS_BEFORE$held" in *" $id "*) ;; *) left="$left $id" ;; esac
		done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "memtrace BPF programs still loaded:$left"
	return 1
}

# IDs of the BPF programs every running memtrace process holds.
running_memtrace_prog_ids() {
	local p
	for p in $(pgrep -x memtrace || true); do
		memtrace_prog_ids "$p" || true
	done
}

# IDs of the BPF programs a running memtrace holds (from its fds).
# Empty (not a failure) when it holds none: callers check for that.
memtrace_prog_ids() {
	{ grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null || :; } | awk '{ print $2 }' | sort -u | tr '\n' ' '
}

# All of the given program IDs are gone.
progs_gone() {
	local id left try
	for try in $(seq 200); do
		left=""
		for id in "$@"; do
			bpftool prog show id "$id" >/dev/null 2>&1 && left="$left $id"
		done
		[ -z "$left" ] && return 0
		sleep 0.05
	done
	echo "programs still loaded:$left"
	return 1
}

# json_no_dup_keys FILE...: no object in these JSON documents has a key
# twice (most readers reject such an object; Python and browsers keep the
# last value, hiding the first). Prints each offender's keys.
json_no_dup_keys() {
	python3 - "$@" <<'PY'
import collections, json, sys
rc = 0
for path in sys.argv[1:]:
    dups = []
    def pairs(kv, dups=dups):
        n = collections.Counter(k for k, _ in kv)
        if any(c > 1 for c in n.values()):
            dups.append(([k for k, c in n.items() if c > 1], [k for k, _ in kv]))
        return dict(kv)
    with open(path) as f:
        json.load(f, object_pairs_hook=pairs)
    for twice, keys in dups[:5]:
        print("%s: key %s twice in an object with keys %s" % (path, ", ".join(twice), keys))
    if dups:
        print("%s: %d objects with a key twice" % (path, len(dups)))
        rc = 1
sys.exit(rc)
PY
}
