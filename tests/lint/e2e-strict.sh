#!/usr/bin/env bash
# The end-to-end tests cannot drop a check's result. tests/e2e/lib.sh runs
# them in strict mode (errexit, pipefail, an ERR trap that names the line);
# this lint proves that mode works and rejects what it cannot see:
#   - a test that does not source lib.sh first, or turns errexit off;
#   - `local|export|declare|readonly x=$(cmd)`: the builtin's status hides cmd's;
#   - a bare `! cmd` statement: errexit ignores it, so it never fails.
# Then it runs small scripts under lib.sh: an unchecked failure (top level,
# in a function, in a pipeline, in $(...), one that exits 77) must fail the
# test with exit 1 and name the line; skip must still exit 77, a passing
# script 0, and alive() must not take an exited process for a running one.
# Needs no root. Exits 1 listing every problem.
set -u
cd "$(dirname "$0")/../.."
e2e=tests/e2e
bad=0
problem() { echo "e2e-strict: $1" >&2; bad=$((bad + 1)); }

for f in "$e2e"/t[0-9]*.sh; do
	bash -n "$f" || { problem "$f: syntax error"; continue; }
	first=$(grep -v -e '^#' -e '^[[:space:]]*$' "$f" | head -n 1)
	[ "$first" = '. "$(dirname "$0")/lib.sh"' ] ||
		problem "$f: the first command must be: . \"\$(dirname \"\$0\")/lib.sh\" (got: $first)"
	while IFS= read -r l; do
		problem "$f:${l%%:*}: turns strict mode off"
	done < <(grep -nE '^[^#]*set[[:space:]]+(\+[a-zA-Z]*e|\+o[[:space:]]+(errexit|pipefail))' "$f")
	while IFS= read -r l; do
		problem "$f:${l%%:*}: '${l#*:}' hides the command's status: declare, then assign"
	done < <(grep -nE '(^|[;{(][[:space:]]*|^[[:space:]]+)(local|export|declare|readonly)[[:space:]]+[^#]*=\$\(' "$f")
	while IFS= read -r l; do
		problem "$f:${l%%:*}: a bare '! cmd' never fails a test: write 'cmd && fail ...'"
	done < <(grep -nE '^[[:space:]]*![[:space:]]' "$f" | grep -vE '\|\||&&')
	# A test's own EXIT trap must hand lib.sh's cleanup the test's status:
	# cleanup exits with the $? it finds, and a command before it resets $?.
	while IFS= read -r l; do
		problem "$f:${l%%:*}: an EXIT trap must keep the test's status (rc=\$?; ...; (exit \$rc); cleanup)"
	done < <(grep -nE '^[^#]*trap[[:space:]].*EXIT' "$f" | grep -v 'rc=\$?')
done

# The library itself: run snippets as a test would.
lib=$(pwd)/$e2e/lib.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# expect_run NAME STATUS OUTPUT-REGEX: the script on stdin, sourced lib.sh.
expect_run() {
	local name=$1 want=$2 re=$3 rc=0
	{ printf '. "%s"\n' "$lib"; cat; } >"$tmp/$name.sh"
	MT_BUILD=$tmp bash "$tmp/$name.sh" >"$tmp/$name.out" 2>&1 || rc=$?
	if [ "$rc" -ne "$want" ]; then
		problem "lib.sh: $name: exit $rc, expected $want: $(cat "$tmp/$name.out")"
	elif ! grep -Eq "$re" "$tmp/$name.out"; then
		problem "lib.sh: $name: output does not match '$re': $(cat "$tmp/$name.out")"
	fi
}
expect_run toplevel 1 'FAIL: toplevel.sh:3: unchecked command exited 1: false' <<'EOF'
echo start
false
echo "not reached"
EOF
expect_run function 1 'FAIL: function.sh:2: .*exited 3' <<'EOF'
check() { python3 -c 'import sys; sys.exit(3)'; echo "not reached"; }
check
echo "not reached"
EOF
expect_run pipeline 1 'FAIL: pipeline.sh:2: ' <<'EOF'
grep -q nothing /nonexistent | cat
echo "not reached"
EOF
expect_run substitution 1 'FAIL: substitution.sh:2: ' <<'EOF'
x=$(false; echo value)
echo "not reached: $x"
EOF
expect_run status77 1 'FAIL: status77.sh:2: unchecked command exited 77' <<'EOF'
sh -c 'exit 77'
echo "not reached"
EOF
expect_run skip 77 '^skip: no reason' <<'EOF'
skip "no reason"
EOF
expect_run checked 0 '^done$' <<'EOF'
rc=0
sh -c 'exit 3' || rc=$?
[ $rc -eq 3 ] || fail "rc $rc"
false || true
grep -q x /dev/null && fail "matched"
sleep 30 &
CLEANUP_PIDS+=($! 999999999)
echo done
EOF
expect_run fail 1 '^FAIL: why$' <<'EOF'
false || fail "why"
EOF
# alive: a running process is; one that exited (a zombie until the test
# reaps it, which kill -0 still finds) and a PID that is gone are not.
expect_run alive 0 '^done$' <<'EOF'
alive $$ || fail "the test's own shell is not alive"
sleep 30 &
CLEANUP_PIDS+=($!)
alive $! || fail "a sleeping child is not alive"
sh -c 'exit 0' &
z=$!
for _ in $(seq 100); do alive $z || break; sleep 0.01; done
alive $z && fail "an exited child is alive"
alive 999999999 && fail "a PID that does not exist is alive"
echo done
EOF
grep -q "not reached" "$tmp"/*.out && problem "lib.sh: a script ran on after an unchecked failure"

if [ $bad -gt 0 ]; then
	echo "e2e-strict: $bad problems" >&2
	exit 1
fi
echo "e2e-strict: $(ls "$e2e"/t[0-9]*.sh | wc -l) tests source the strict library; it fails unchecked commands"
