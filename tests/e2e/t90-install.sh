#!/usr/bin/env bash
# make install into a temporary DESTDIR, then each installed piece checked
# by its real consumer: man(1) renders both pages with no warning (and
# mandoc's and groff's linters agree), the man page and the bash completion
# name every option `memtrace --help` lists, a program built with the
# installed pkg-config file links against the installed libmtpool (shared,
# by its soname, and static) and runs, the completion file loads in bash
# and completes, and the installed memtrace prints its version.
# Needs no root and no BPF.
. "$(dirname "$0")/lib.sh"
src=$(cd "$E2E/../.." && pwd)
for t in man mandoc groff pkg-config readelf; do
	command -v "$t" >/dev/null || skip "$t not installed (tools/install-deps.sh)"
done
root=$TMP/root prefix=/opt/memtrace-t90
make -s -C "$src" BUILD="$MT_BUILD" ${MT_SANITIZED:+SANITIZE=1} install \
	PREFIX="$prefix" DESTDIR="$root" >"$TMP/make.out" 2>&1 || { cat "$TMP/make.out"; fail "make install failed"; }
P=$root$prefix
for f in bin/memtrace lib/libmtpool.so.0 lib/libmtpool.so lib/libmtpool.a include/mtpool.h \
	 lib/pkgconfig/mtpool.pc share/man/man1/memtrace.1 share/man/man3/libmtpool.3 \
	 share/bash-completion/completions/memtrace; do
	[ -e "$P/$f" ] || fail "make install did not install $prefix/$f"
done
readelf -d "$P/lib/libmtpool.so.0" >"$TMP/dyn"
grep -q 'SONAME.*\[libmtpool.so.0\]' "$TMP/dyn" || fail "libmtpool.so has no soname libmtpool.so.0"

# --version: the version and the features found (unknown without root).
"$P/bin/memtrace" --version >"$TMP/v" || fail "memtrace --version exited $?"
grep -q '^memtrace [0-9]' "$TMP/v" && grep -q '^libbpf [0-9]' "$TMP/v" && grep -q '^kernel ' "$TMP/v" &&
	grep -q 'BTF: ' "$TMP/v" && grep -q 'uprobe_multi: ' "$TMP/v" && grep -q 'uprobe sessions: ' "$TMP/v" ||
	{ cat "$TMP/v"; fail "--version lacks the version, libbpf or kernel features"; }
if [ "$(id -u)" -eq 0 ]; then
	grep -q 'uprobe_multi: \(yes\|no\)$' "$TMP/v" || { cat "$TMP/v"; fail "root: uprobe_multi should be probed"; }
fi

# Man pages: rendered by man without a warning, clean under both linters,
# version filled in.
for page in man1/memtrace.1 man3/libmtpool.3; do
	f=$P/share/man/$page
	LC_ALL=C MANWIDTH=80 man --warnings=all -l "$f" >"$TMP/page" 2>"$TMP/man.err" || fail "man -l $page exited $?"
	[ ! -s "$TMP/man.err" ] || { cat "$TMP/man.err"; fail "man -l $page warns"; }
	grep -q 'SYNOPSIS' "$TMP/page" || fail "man -l $page rendered no SYNOPSIS"
	mandoc -T lint -W warning "$f" >"$TMP/lint" 2>&1 || { cat "$TMP/lint"; fail "mandoc -T lint: $page"; }
	groff -wall -man -z "$f" 2>"$TMP/groff" || fail "groff failed on $page"
	[ ! -s "$TMP/groff" ] || { cat "$TMP/groff"; fail "groff -wall warns on $page"; }
	! grep -q '@VERSION@' "$f" || fail "$page: version not filled in"
done
LC_ALL=C MANWIDTH=200 man -l "$P/share/man/man1/memtrace.1" 2>/dev/null >"$TMP/memtrace.txt"
grep -q 'EXIT STATUS' "$TMP/memtrace.txt" && grep -q 'EXAMPLES' "$TMP/memtrace.txt" ||
	fail "memtrace(1) lacks EXIT STATUS or EXAMPLES"
# Every option of --help is in the man page and in the completion.
opts=$("$P/bin/memtrace" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
[ "$(echo "$opts" | wc -l)" -gt 15 ] || fail "could not read the options from --help"
for o in $opts; do
	grep -Eq -- "^ +(-[a-zA-Z], )?$o\b" "$TMP/memtrace.txt" || fail "memtrace(1) does not describe $o"
	grep -q -- "$o\b" "$P/share/bash-completion/completions/memtrace" || fail "the bash completion lacks $o"
done

# A program built against the installed pkg-config file links and runs.
cat >"$TMP/app.c" <<'C'
#include <mtpool.h>
#include <stdio.h>
int main(void)
{
	mtpool *p = mtpool_create(64, NULL);
	struct mtpool_stats st;
	void *a, *b;

	if (!p)
		return 1;
	a = mtpool_get(p);
	mtpool_put(p, a);
	b = mtpool_get(p);          /* the cached object again */
	mtpool_put(p, b);
	mtpool_stats(p, &st);
	printf("reused %d gets %llu\n", a == b, (unsigned long long)st.gets);
	mtpool_destroy(p);
	return 0;
}
C
export PKG_CONFIG_LIBDIR=$P/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$root
pkg-config --exists mtpool || fail "pkg-config does not find the installed mtpool.pc"
# shellcheck disable=SC2046
cc -o "$TMP/app" "$TMP/app.c" $(pkg-config --cflags --libs mtpool) || fail "cannot build against the installed libmtpool"
readelf -d "$TMP/app" >"$TMP/dyn"
grep -q 'NEEDED.*\[libmtpool.so.0\]' "$TMP/dyn" || fail "the program does not need libmtpool.so.0"
out=$(LD_LIBRARY_PATH=$P/lib "$TMP/app") || fail "the program exited $?"
[ "$out" = "reused 1 gets 2" ] || fail "the program printed '$out'"
# (ldd into a file: grep -q quitting early would make a pipe fail)
LD_LIBRARY_PATH=$P/lib ldd "$TMP/app" >"$TMP/ldd" || fail "ldd failed"
grep -q "libmtpool.so.0 => $P/lib/libmtpool.so.0" "$TMP/ldd" ||
	fail "the program did not load the installed library: $(cat "$TMP/ldd")"
# shellcheck disable=SC2046
cc -o "$TMP/app_static" "$TMP/app.c" $(pkg-config --cflags mtpool) "$P/lib/libmtpool.a" \
	$(pkg-config --static --libs-only-other --libs-only-l mtpool | sed 's/-lmtpool//') ||
	fail "cannot link the installed libmtpool.a"
readelf -d "$TMP/app_static" >"$TMP/dyn"
! grep -q 'libmtpool' "$TMP/dyn" || fail "the static build still needs libmtpool.so"
out=$("$TMP/app_static") || fail "the static program exited $?"
[ "$out" = "reused 1 gets 2" ] || fail "the static program printed '$out'"

# The completion loads in bash and completes options, subcommands, PIDs.
comp=$P/share/bash-completion/completions/memtrace
bash -c '
. "$1" || exit 1
complete -p memtrace | grep -q _memtrace || { echo "not registered"; exit 1; }
c() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _memtrace; echo "${COMPREPLY[*]}"; }
[ "$(c memtrace --metrics-t)" = "--metrics-top" ] || { echo "option: $(c memtrace --metrics-t)"; exit 1; }
[ "$(c memtrace di)" = "diff" ] || { echo "subcommand: $(c memtrace di)"; exit 1; }
c memtrace -p "$$" | grep -qw "$$" || { echo "pid not offered"; exit 1; }
c memtrace -- bas | grep -qw bash || { echo "command not offered"; exit 1; }
' _ "$comp" >"$TMP/comp" 2>&1 || { cat "$TMP/comp"; fail "the bash completion does not work"; }
echo "pass: installed into $root$prefix; man pages clean, pkg-config build runs, completion loads"
