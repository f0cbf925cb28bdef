#!/usr/bin/env bash
# memtrace layout on known cases: holes and the optimal size of a padded
# struct, packed and aligned(N), bit-fields, nested and anonymous members,
# a flexible array, a cache-line straddle, a union; C++ bases and the
# vtable pointer; a Go struct; --keep-first, --keep-together, --abi-stable;
# and bad input (one line, exit 1; usage errors exit 2).
. "$(dirname "$0")/lib.sh"
[ -x "$MT" ] || fail "$MT not built"
command -v g++ >/dev/null || skip "g++ not installed (tools/install-deps.sh installs it)"
command -v go >/dev/null || skip "go not installed (tools/install-deps.sh installs golang-go)"
"$MT" layout --json "$TMP/c.json" "$WL/wl_layout" || fail "layout exited $?"
"$MT" layout "$WL/wl_layout" wl_padded >"$TMP/c.txt" || fail "layout text exited $?"
grep -q "XXX 7 bytes hole, try to pack" "$TMP/c.txt" || fail "no hole line: $(cat "$TMP/c.txt")"
grep -q "better order: 24 bytes" "$TMP/c.txt" || fail "no better order: $(cat "$TMP/c.txt")"
# Types defined in place are expanded, members at their offsets in the struct.
"$MT" layout "$WL/wl_layout" wl_nest >"$TMP/n.txt" || fail "layout wl_nest exited $?"
grep -qP '^\t\tint\s+x;\s+/\*\s+4\s+4 \*/$' "$TMP/n.txt" || fail "anonymous struct not expanded: $(cat "$TMP/n.txt")"
grep -qP '^\t\} u;\s+/\*\s+16\s+8 \*/$' "$TMP/n.txt" || fail "union u not closed with its offset: $(cat "$TMP/n.txt")"
"$MT" layout --json "$TMP/kf.json" --keep-first kind "$WL/wl_layout" wl_padded || fail "--keep-first exited $?"
"$MT" layout --json "$TMP/kt.json" --keep-together flag,tag "$WL/wl_layout" wl_padded || fail "--keep-together exited $?"
g++ -g -O1 "$E2E/layout/shapes.cc" -o "$TMP/shapes" || fail "cannot build shapes.cc"
"$MT" layout --json "$TMP/cc.json" "$TMP/shapes" Derived Multi Shape Circle || fail "layout C++ exited $?"
mkdir -p "$TMP/go" && cp "$E2E/layout/shapes.go" "$TMP/go/" &&
	(cd "$TMP/go" && GOCACHE="$TMP/gocache" GOPATH="$TMP/gopath" GO111MODULE=off go build -o shapes_go shapes.go) ||
	fail "cannot build shapes.go"
"$MT" layout --json "$TMP/go.json" "$TMP/go/shapes_go" main.Padded || fail "layout Go exited $?"
# A struct declared in a header is an ABI: --abi-stable proposes no order.
printf 'struct hdr_padded { char a; long b; char c; };\n' >"$TMP/hdr.h"
printf '#include "hdr.h"\nstruct hdr_padded g;\nstruct src_padded { char a; long b; char c; } h;\ntypedef struct src_padded src_t;\nsrc_t *hp = &h;\nint main(void) { return g.a + h.a; }\n' >"$TMP/abi.c"
cc -g -O0 -I"$TMP" "$TMP/abi.c" -o "$TMP/abi" || fail "cannot build abi.c"
"$MT" layout --abi-stable --json "$TMP/abi.json" "$TMP/abi" || fail "--abi-stable exited $?"
"$MT" layout --json "$TMP/abi0.json" "$TMP/abi" || fail "layout abi exited $?"
# A typedef's name selects the struct it names.
"$MT" layout --json "$TMP/td.json" "$TMP/abi" src_t || fail "layout by typedef name exited $?"
python3 - "$TMP" <<'PY' || fail "known layouts"
import json, sys
t = sys.argv[1]
def load(f):
    return {s['name']: s for s in json.load(open('%s/%s' % (t, f)))['structs']}
c, cc, go = load('c.json'), load('cc.json'), load('go.json')
err = []
def eq(what, got, want):
    if got != want:
        err.append('%s: %r, expected %r' % (what, got, want))
def holes(s):
    return [(h['after'], h['bytes']) for h in s['holes']]
def mem(s, name):
    return next(m for m in s['members'] if m['name'] == name)
p = c['wl_padded']
eq('wl_padded size', p['size'], 40); eq('wl_padded holes', holes(p), [('tag', 7), ('flag', 3)])
eq('wl_padded padding', p['padding'], 6); eq('wl_padded best', p['best_size'], 24)
eq('wl_padded order', p['best_order'], ['weight', 'next', 'id', 'kind', 'tag', 'flag'])
eq('wl_padded live', (p['live_objects'], p['bytes_saved_live']), (None, None))
k = c['wl_known']
eq('wl_known', (k['size'], holes(k), k['padding'], k['best_size']), (32, [('a', 7), ('c', 3)], 6, 16))
pk = c['wl_packed']
eq('wl_packed', (pk['size'], pk['align'], pk['packed'], holes(pk), pk['best_size']), (7, 1, True, [], 7))
pt = c['wl_packed_tail']
eq('wl_packed_tail', (pt['size'], pt['align'], pt['packed'], pt['padding']), (9, 1, True, 0))
al = c['wl_aligned']
eq('wl_aligned', (al['size'], al['align'], holes(al), al['padding'], mem(al, 'b')['align']),
   (64, 64, [('a', 15)], 44, 16))
b = c['wl_bits']
eq('wl_bits bit holes', [(h['after'], h['bits']) for h in b['bit_holes']], [('b', 24), ('c', 7)])
eq('wl_bits', (b['size'], b['bit_padding'], mem(b, 'e')['bit_offset'], mem(b, 'e')['bit_size']), (16, 8, 80, 40))
n = c['wl_nest']
anon = [m for m in n['members'] if m['role'] == 'anonymous']
eq('wl_nest anonymous', [(m['offset'], m['size'], m['inner_padding']) for m in anon], [(4, 8, 3)])
eq('wl_nest', (n['size'], mem(n, 'h')['size'], mem(n, 'h')['straddles_cacheline'], n['cachelines']), (88, 64, True, 2))
f = c['wl_flex']
eq('wl_flex', (f['size'], holes(f), mem(f, 'data')['role'], f['best_size'], f['best_order']),
   (24, [('c', 7), ('n', 4)], 'flexible_array', 16, ['x', 'n', 'c', 'data']))
w = c['wl_wide']
eq('wl_wide', (mem(w, 'b')['offset'], holes(w), w['cachelines'], w['best_size']), (64, [('a', 4)], 2, 80))
u = c['wl_union']
eq('wl_union', (u['kind'], u['size'], u['holes'], u['best_size']), ('union', 16, [], 16))
kf = load('kf.json')['wl_padded']
eq('--keep-first kind', kf['best_order'][0], 'kind')
kt = load('kt.json')['wl_padded']['best_order']
eq('--keep-together flag,tag', kt[kt.index('flag') + 1], 'tag')
d = cc['Derived']
eq('Derived base', [(m['role'], m['offset'], m['size']) for m in d['members']][0], ('base', 0, 16))
eq('Derived', (d['size'], holes(d)), (24, [('flag', 3)]))
m = cc['Multi']
eq('Multi bases', [(x['role'], x['offset']) for x in m['members']], [('base', 0), ('base', 16), (None, 24)])
eq('Multi best (bases stay)', m['best_size'], 32)
s = cc['Shape']
eq('Shape vptr', (s['members'][0]['role'], s['members'][0]['offset'], s['members'][0]['size']), ('vptr', 0, 8))
eq('Shape', (s['size'], s['best_size'], s['best_order'][0]), (32, 24, '_vptr.Shape'))
ci = cc['Circle']
eq('Circle', (ci['members'][0]['role'], ci['members'][0]['size'], mem(ci, 'r')['offset'], ci['size']), ('base', 32, 32, 40))
g = go['main.Padded']
eq('Go main.Padded', (g['size'], holes(g), g['padding'], g['best_size']), (32, [('Tag', 7), ('Flag', 3)], 6, 16))
abi, abi0 = load('abi.json'), load('abi0.json')
eq('by typedef name', list(load('td.json')), ['src_padded'])
eq('header struct, --abi-stable', (abi['hdr_padded']['abi_locked'], abi['hdr_padded']['bytes_saved']), (True, 0))
eq('source struct, --abi-stable', (abi['src_padded']['abi_locked'], abi['src_padded']['bytes_saved']), (False, 8))
eq('header struct without it', (abi0['hdr_padded']['abi_locked'], abi0['hdr_padded']['bytes_saved']), (False, 8))
for e in err:
    print('mismatch:', e)
sys.exit(1 if err else 0)
PY
# Bad input: one line on stderr, exit 1; usage errors exit 2.
bad() {   # bad EXIT PATTERN ARGS...
	local want=$1 pat=$2 rc
	shift 2
	rc=0
	"$MT" layout "$@" >/dev/null 2>"$TMP/bad.err" || rc=$?
	[ $rc -eq "$want" ] || fail "layout $* exited $rc, expected $want: $(cat "$TMP/bad.err")"
	[ "$(wc -l <"$TMP/bad.err")" -eq 1 ] || fail "layout $*: not one line: $(cat "$TMP/bad.err")"
	grep -q "$pat" "$TMP/bad.err" || fail "layout $*: no '$pat' in: $(cat "$TMP/bad.err")"
}
bad 1 "cannot open" "$TMP/nonexistent"
cp "$WL/wl_layout" "$TMP/stripped" && strip --strip-debug --remove-section=.gnu_debuglink "$TMP/stripped"
bad 1 "no debug info" "$TMP/stripped"
bad 1 "no type 'no_such_type'" "$WL/wl_layout" no_such_type
echo '{"version": 2, "sites": []}' >"$TMP/v2.json"
bad 1 "not a memtrace report" --report "$TMP/v2.json" "$WL/wl_layout"
echo '{"version": 1, "sites": [' >"$TMP/trunc.json"
bad 1 "cannot read" --report "$TMP/trunc.json" "$WL/wl_layout"
bad 2 "FILE or -p PID expected"
bad 2 "invalid pid" -p 0
bad 2 "unknown option '--frobnicate'" --frobnicate "$WL/wl_layout"
bad 2 "needs a value" "$WL/wl_layout" --report
echo "layout: known cases agree"
