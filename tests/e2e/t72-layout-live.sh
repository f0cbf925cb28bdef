#!/usr/bin/env bash
# memtrace layout weighted by live objects. A saved report (memtrace
# launching wl_layout N, whose N struct wl_padded and others live to the
# end): --report ranks wl_padded first with N live objects and N x 16
# bytes saved, DWARF-confirmed; wl_known (only its size tells) with N/2;
# wl_twin_a (same size as wl_twin_b: DWARF tells them apart) with N/4; an
# array of 6 wl_elem as 6 objects, an array of pointers as nothing. Then -p PID: the same ranking from
# tracing the running workload.
. "$(dirname "$0")/lib.sh"
need_bpf
N=3000
"$MT" --no-vm --top 1000 --json "$TMP/r.json" -- "$WL/wl_layout" $N >/dev/null 2>"$TMP/r.err" ||
	fail "memtrace exited $?: $(cat "$TMP/r.err")"
"$MT" layout --report "$TMP/r.json" --json "$TMP/l.json" "$WL/wl_layout" 2>"$TMP/l.err" ||
	fail "layout --report exited $?: $(cat "$TMP/l.err")"
"$MT" layout --report "$TMP/r.json" "$WL/wl_layout" >"$TMP/l.txt" 2>&1 || fail "layout text exited $?"
grep -q "live objects by type" "$TMP/l.txt" || fail "no ranking in the text: $(head "$TMP/l.txt")"
check() {   # check LAYOUT.json N ONLY-PADDED
	python3 - "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
s = d['structs']
by = {x['name']: x for x in s}
err = []
def eq(what, got, want):
    if got != want:
        err.append('%s: %r, expected %r' % (what, got, want))
p = by['wl_padded']
eq('first', s[0]['name'], 'wl_padded')
eq('wl_padded live', (p['live_objects'], p['bytes_saved_live'], p['confidence']),
   (n, n * (p['size'] - p['best_size']), 'dwarf'))
eq('wl_padded saved per object', p['size'] - p['best_size'], 16)
eq('wl_known', (by['wl_known']['live_objects'], by['wl_known']['confidence'],
                by['wl_known']['bytes_saved_live']), (n // 2, 'size', n // 2 * 16))
eq('wl_twin_a', (by['wl_twin_a']['live_objects'], by['wl_twin_a']['confidence']), (n // 4, 'dwarf'))
eq('wl_twin_b', by['wl_twin_b']['live_objects'], None)
eq('wl_elem', (by['wl_elem']['live_objects'], by['wl_elem']['confidence']), (6, 'dwarf'))
eq('order', [x['name'] for x in s[:3]], ['wl_padded', 'wl_known', 'wl_twin_a'])
sc = p['size_classes']
eq('glibc class of wl_padded', (sc['glibc']['class'], sc['glibc']['best_class']), (40, 24))
eq('not weighted', by['wl_bits']['live_objects'], None)
# The array of pointers (8 bytes each) is a multiple of wl_elem's 8 bytes:
# without DWARF confirming it, not attributed.
keep = [x for x in d['sites'] if x['object_size'] == 8 * (n + n // 2 + n // 4 + 1)]
eq('pointer array', [(x['type'], x['unattributed']) for x in keep],
   [(None, "a multiple of a type's size, not confirmed by DWARF")])
for e in err:
    print('mismatch:', e)
if not err:
    print('weighted: wl_padded first with %d live objects, %d bytes saved' % (n, p['bytes_saved_live']))
sys.exit(1 if err else 0)
PY
}
check "$TMP/l.json" $N || fail "--report weighting"
# While attached: the workload allocates after memtrace layout -p attached.
M=2000
"$WL/wl_layout" --attach $M >"$TMP/wl.out" &
wl=$!
CLEANUP_PIDS+=("$wl")
wait_for "$TMP/wl.out" '^ready' || fail "workload did not start"
"$MT" layout -p "$wl" -d 2 --json "$TMP/p.json" 2>"$TMP/p.err" &
lay=$!
CLEANUP_PIDS+=("$lay")
wait_for "$TMP/p.err" 'attached to PID' || fail "memtrace layout -p did not attach"
kill -USR1 "$wl"
wait_for "$TMP/wl.out" '^done' || fail "workload did not finish"
wait "$lay" || fail "memtrace layout -p exited $?: $(cat "$TMP/p.err")"
check "$TMP/p.json" $M || fail "-p weighting"
kill -TERM "$wl"
wait "$wl" 2>/dev/null
