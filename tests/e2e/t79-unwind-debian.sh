#!/usr/bin/env bash
# Whole stacks through Debian's own binaries, built without frame
# pointers (issue 10): python3, sqlite3 and gawk as the distribution ships
# them, launched under memtrace with its default options, each running a
# small job that allocates (python3 builds dicts and lists of objects
# larger than pymalloc's 512 bytes, so malloc serves them; sqlite3 fills
# an in-memory table, indexes and sorts it; gawk builds an associative
# array). The 10 busiest sites by allocations of each must reach the root
# and be named where the files and libc6-dbg name them
# (tests/e2e/whole_stacks.py).
. "$(dirname "$0")/lib.sh"
need_bpf
for b in python3 sqlite3 gawk; do
	[ -x "/usr/bin/$b" ] || skip "/usr/bin/$b is not installed (tools/install-deps.sh)"
	# Debian's build, not one made here with other flags
	dpkg-query -S "/usr/bin/$b" >/dev/null 2>&1 || skip "/usr/bin/$b is not from a Debian package"
done
dpkg-query -W -f='${Status}' libc6-dbg 2>/dev/null | grep -q "ok installed" ||
	skip "libc6-dbg is not installed (tools/install-deps.sh): libc's frames would be unnamed"
command -v readelf >/dev/null || skip "readelf is not installed (binutils)"

cat >"$TMP/job.py" <<'EOF'
rows = {}
for i in range(5000):
    rows["key-%d" % i] = ("%d" % i) * 200
    rows[i] = list(range(i % 300))
big = sorted(rows.items(), key=lambda kv: str(kv[0]))
print(len(big), sum(len(v) for v in rows.values()))
EOF
SQL="create table t(a integer primary key, b text, c real);
with recursive n(i) as (select 1 union all select i + 1 from n where i < 5000)
insert into t(b, c) select printf('row-%d-%s', i, hex(randomblob(8))), i * 0.5 from n;
create index tb on t(b);
select count(*), max(b) from (select b from t order by b desc);
select b from t order by c desc limit 3;"
AWK='BEGIN { for (i = 0; i < 20000; i++) a["k" i] = i " " i * i
	for (k in a) n += length(a[k]); print n }'

# run NAME CMD...: memtrace's JSON report to NAME.json
run() {
	local name=$1
	shift
	"$MT" --json "$TMP/$name.json" -- "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" ||
		fail "memtrace -- $* exited $?: $(tail -3 "$TMP/$name.err")"
	[ -s "$TMP/$name.out" ] || fail "$name printed nothing: did its job run? $(tail -3 "$TMP/$name.err")"
}
run python3 /usr/bin/python3 "$TMP/job.py"
run sqlite3 /usr/bin/sqlite3 :memory: "$SQL"
run gawk /usr/bin/gawk "$AWK"

for name in python3 sqlite3 gawk; do
	python3 "$E2E/whole_stacks.py" "$TMP/$name.json" "$name" ||
		bad "$name: the busiest sites' stacks are not whole and named"
done
[ "$errors" -eq 0 ] || fail "$errors of 3 Debian programs"
echo "pass"
