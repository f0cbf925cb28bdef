#!/usr/bin/env bash
# --folded: Debian packages no flame graph tool (apt-cache search
# flamegraph: nothing in bookworm), so the format is checked strictly, as
# flamegraph.pl and inferno parse it: every line "frame;...;frame VALUE",
# no empty frame, a positive integer after the last space; root first (the
# program's main before the allocating function, which is the leaf); and
# the values sum to the JSON report's total for the weight, for each
# --weight. wl_exact's own numbers pin two sites' values.
. "$(dirname "$0")/lib.sh"
need_bpf
args=(300 40 23 7 5 0)   # leak_a 23 x 100 B, leak_b 7 x 4096 B live at exit
for w in live_bytes live_objects alloc_bytes allocs; do
	"$MT" --no-vm --top 1 --json "$TMP/$w.json" --folded "$TMP/$w.folded" --weight $w \
		-- "$WL/wl_exact" "${args[@]}" >/dev/null 2>"$TMP/err" ||
		fail "--weight $w: memtrace exited $?: $(cat "$TMP/err")"
done
"$MT" --no-vm --folded "$TMP/default.folded" -- "$WL/wl_exact" "${args[@]}" >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
python3 - "$TMP" <<'PY' || fail "folded stacks"
import json, re, sys
tmp = sys.argv[1]
key = {"live_bytes": "live_bytes", "live_objects": "live_objects",
       "alloc_bytes": "alloc_bytes", "allocs": "allocs"}
line_re = re.compile(r"^([^;\n]+)(;[^;\n]+)* ([1-9][0-9]*)$")
leaves = {}
for w, k in key.items():
    total = json.load(open(f"{tmp}/{w}.json"))["totals"][k]
    text = open(f"{tmp}/{w}.folded").read()
    assert text.endswith("\n"), f"{w}: no final newline"
    s = 0
    for ln in text.splitlines():
        assert line_re.match(ln), f"{w}: bad line {ln!r}"
        stack, v = ln.rsplit(" ", 1)
        frames = stack.split(";")
        assert all(f.strip() == f and f for f in frames), f"{w}: empty or padded frame in {ln!r}"
        s += int(v)
        leaves.setdefault(w, {})[frames[-1]] = (frames, int(v))
    assert s == total, f"{w}: values sum to {s}, the report's total is {total}"
    print(f"ok: {w}: {len(text.splitlines())} stacks sum to {total}")
lb = leaves["live_bytes"]
frames, v = lb["wl_leak_calloc"]
assert v == 7 * 4096, f"wl_leak_calloc live bytes {v}"
assert "main" in frames and frames.index("main") < frames.index("wl_leak_calloc"), \
    f"not root first: {frames}"
assert leaves["live_objects"]["wl_leak_small"][1] == 23
assert leaves["allocs"]["wl_leak_small"][1] == 23
assert sorted(open(f"{tmp}/default.folded").read().splitlines()) == \
    sorted(open(f"{tmp}/live_bytes.folded").read().splitlines()), "the default weight is not live_bytes"
PY
rc=0
"$MT" --folded "$TMP/x" --weight nope -- true >/dev/null 2>"$TMP/bad" || rc=$?
[ $rc -eq 2 ] && grep -q "invalid --weight 'nope'" "$TMP/bad" || fail "--weight nope: exit $rc: $(cat "$TMP/bad")"
rc=0
"$MT" --weight allocs -- true >/dev/null 2>"$TMP/bad" || rc=$?
[ $rc -eq 2 ] && grep -q "no --folded FILE" "$TMP/bad" || fail "--weight without --folded: exit $rc: $(cat "$TMP/bad")"
rc=0
"$MT" --json - --folded - -- true >/dev/null 2>"$TMP/bad" || rc=$?
[ $rc -eq 2 ] && grep -q "only one of" "$TMP/bad" || fail "two outputs on stdout: exit $rc: $(cat "$TMP/bad")"
echo "ok: folded"
