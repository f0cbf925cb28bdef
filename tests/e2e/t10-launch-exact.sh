#!/usr/bin/env bash
# Launch mode: every call of a workload with known numbers, exactly.
. "$(dirname "$0")/lib.sh"
need_bpf
args=(23 17 13 7 5 11)
"$MT" --json "$TMP/r.json" -- "$WL/wl_exact" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
grep -q "attached to PID" "$TMP/err" || fail "no 'attached' line: $(cat "$TMP/err")"
grep -q "leak candidates" "$TMP/out" || fail "no leak section in the text report"
python3 "$E2E/exact.py" launch "$TMP/r.json" "${args[@]}"
