#!/usr/bin/env bash
# libmtpool exports its public API and nothing else: every defined global
# symbol of libmtpool.a (nm) and every defined dynamic symbol of
# libmtpool.so (nm -D) is named mtpool_*, is not internal (mtpool__*, see
# pool/src/internal.h), and is declared MTPOOL_API in pool/include/mtpool.h.
# Both libraries export the same set. The one exception:
#   _.stapsdt.base (libmtpool.a only, weak): sys/sdt.h defines it, weak and
#     hidden in a COMDAT group, in every object with USDT probes, and each
#     probe note refers to it. When the program has probes of its own, the
#     linker keeps the program's copy of the group; were ours local, our
#     notes would point into the discarded copy and the link would fail.
#     The last check links such a program. (In libmtpool.so it is local.)
. "$(dirname "$0")/lib.sh"
HDR=$E2E/../../pool/include/mtpool.h

for f in "$MT_BUILD/libmtpool.a" "$MT_BUILD/libmtpool.so" "$HDR"; do
	[ -f "$f" ] || fail "$f missing (make first)"
done
command -v nm >/dev/null || skip "nm (binutils) not installed"

# Names declared on an MTPOOL_API line of the header.
grep -w MTPOOL_API "$HDR" | grep -o 'mtpool_[A-Za-z0-9_]*' | sort -u >"$TMP/api"

# check LABEL: reads "TYPE NAME" lines; complains about each bad one.
check() {
	local type name
	while read -r type name; do
		case "$1 $type $name" in
		"libmtpool.a W _.stapsdt.base") continue ;;
		esac
		if [[ $name != mtpool_* ]]; then
			echo "$1: $type $name: not the public prefix mtpool_"
		elif [[ $name == mtpool__* ]]; then
			echo "$1: $type $name: internal symbol exported"
		elif ! grep -qxF "$name" "$TMP/api"; then
			echo "$1: $type $name: not declared MTPOOL_API in mtpool.h"
		else
			echo "$name" >>"$TMP/$1.ok"
			continue
		fi
		errors=$((errors + 1))
	done
}

# -A prefixes each line with the archive member, so headers never appear.
nm -gA --defined-only "$MT_BUILD/libmtpool.a" | awk '{ print $(NF-1), $NF }' >"$TMP/a.syms"
nm -D --defined-only "$MT_BUILD/libmtpool.so" | awk '{ print $(NF-1), $NF }' >"$TMP/so.syms"
check libmtpool.a <"$TMP/a.syms"
check libmtpool.so <"$TMP/so.syms"

for l in libmtpool.a libmtpool.so; do
	touch "$TMP/$l.ok"
	sort -o "$TMP/$l.ok" "$TMP/$l.ok"
	n=$(wc -l <"$TMP/$l.ok")
	echo "$l: $n public symbols"
	# A handful would mean a broken build or a broken nm, not a clean one.
	[ "$n" -ge 50 ] || { bad "$l: expected the whole API"; }
done
if ! diff "$TMP/libmtpool.a.ok" "$TMP/libmtpool.so.ok"; then
	echo "libmtpool.a (<) and libmtpool.so (>) export different symbols"
	errors=$((errors + 1))
fi

# A program with its own USDT probe links against libmtpool.a and runs
# (sys/sdt.h is there: libmtpool does not build without it).
cat >"$TMP/own.c" <<'EOF'
#include <sys/sdt.h>
#include "mtpool.h"
int main(void)
{
	mtpool *p = mtpool_create(32, NULL);
	void *o = mtpool_get(p);

	STAP_PROBE(own, start);
	mtpool_put(p, o);
	mtpool_destroy(p);
	return 0;
}
EOF
if ! ${CC:-cc} -I"$(dirname "$HDR")" "$TMP/own.c" "$MT_BUILD/libmtpool.a" -pthread \
		-o "$TMP/own" >"$TMP/own.log" 2>&1 || ! "$TMP/own"; then
	echo "a program with its own USDT probes does not link with libmtpool.a:"
	head -n 5 "$TMP/own.log"
	errors=$((errors + 1))
fi

[ $errors -eq 0 ] || fail "$errors problem(s)"
echo "ok"
