#!/usr/bin/env bash
# Launch mode: every call of a workload with known numbers, exactly.
. "$(dirname "$0")/lib.sh"
need_bpf
args=(23 17 13 7 5 11)
"$MT" --json "$TMP/r.json" -- "$WL/wl_exact" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
grep -q "attached to PID" "$TMP/err" || fail "no 'attached' line: $(cat "$TMP/err")"
grep -q "leak candidates" "$TMP/err" || fail "no leak section in the text report"
python3 "$E2E/exact.py" launch "$TMP/r.json" "${args[@]}" || fail "launch mode: counts not exact"

# --callsite-only: no stack walk, the same exact counts; sites are one frame.
"$MT" --no-vm --callsite-only --json "$TMP/c.json" -- "$WL/wl_exact" "${args[@]}" >/dev/null 2>"$TMP/err" ||
	fail "--callsite-only: memtrace exited $?: $(cat "$TMP/err")"
python3 "$E2E/exact.py" launch "$TMP/c.json" "${args[@]}" || fail "--callsite-only: counts not exact"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
depths = {len(s["stack"]) for s in r["sites"] + r["leaks"]}
assert depths == {1}, depths
assert r["drops"]["stack_fail"] == 0, r["drops"]
' "$TMP/c.json" || fail "--callsite-only: stacks deeper than the call site"
