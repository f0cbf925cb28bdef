#!/usr/bin/env bash
# The Go readers against Go's own tools, for every Go toolchain installed:
# the detected version is what `go version` says of the binary; function
# and file:line of 400 PCs read from the stripped (-s -w) binary's
# .gopclntab equal `go tool addr2line` on the unstripped one; a C program
# is not Go; the RET instructions of runtime.mallocgc found from its
# stack-pointer table are objdump's. No BPF: runs without root.
. "$(dirname "$0")/lib.sh"
. "$E2E/go/build.sh"
T=$MT_BUILD/tests/bin/test_go
[ -x "$T" ] || fail "$T not built"
mapfile -t gos < <(go_toolchains)
[ ${#gos[@]} -gt 0 ] || skip "no Go toolchain installed (tools/install-deps.sh installs golang-go)"
for go in "${gos[@]}"; do
	v=$("$go" env GOVERSION)
	go_build "$go" alloc "$TMP/a-$v" || fail "build"
	go_build "$go" alloc "$TMP/s-$v" -ldflags=-s\ -w || fail "build stripped"
	for b in a s; do
		"$T" detect "$TMP/$b-$v" >"$TMP/d" || fail "detect $b-$v"
		grep -qx "version $v" "$TMP/d" || fail "$b-$v: version not $v: $(cat "$TMP/d")"
		grep -qx "known 1" "$TMP/d" || fail "$b-$v: layouts not known: $(cat "$TMP/d")"
	done
	grep -qx "symtab 0" "$TMP/d" || fail "s-$v still has a symbol table"
	# PCs anywhere inside functions (and a few past the last), from the
	# symbol table with sizes
	nm -S "$TMP/a-$v" | awk '$3 ~ /^[Tt]$/ && NF == 4 { print $1, $2 }' | sort -u |
		awk 'BEGIN { srand(7) } { a[NR] = $1; s[NR] = $2 } END { for (i = 0; i < 400; i++) {
			k = int(rand() * NR) + 1
			printf "%x\n", strtonum("0x" a[k]) + int(rand() * (strtonum("0x" s[k]) + 4)) } }' >"$TMP/pcs"
	"$go" tool addr2line "$TMP/a-$v" <"$TMP/pcs" >"$TMP/theirs"
	"$T" addr2line "$TMP/s-$v" <"$TMP/pcs" >"$TMP/ours" || fail "addr2line"
	grep -q '^main\.' "$TMP/theirs" || fail "go tool addr2line named no function of main"
	diff "$TMP/theirs" "$TMP/ours" >"$TMP/diff" ||
		fail "$v: .gopclntab lookups differ from go tool addr2line: $(head -20 "$TMP/diff")"
	"$T" func "$TMP/s-$v" runtime.mallocgc >"$TMP/f" || fail "$v: no runtime.mallocgc by name"
	want=$(nm "$TMP/a-$v" | awk '$3 == "runtime.mallocgc" { sub(/^0+/, "", $1); print $1 }')
	[ "$(cut -d' ' -f1 "$TMP/f")" = "$want" ] || fail "$v: runtime.mallocgc at $(cat "$TMP/f"), nm says $want"
	# mallocgc's RET instructions (the survival probes' places, from the
	# pcsp table) are objdump's, every one
	"$T" rets "$TMP/s-$v" runtime.mallocgc >"$TMP/ours" || fail "$v: no RET of runtime.mallocgc found"
	objdump -d --no-show-raw-insn "$TMP/a-$v" | awk '/<runtime.mallocgc>:/,/^$/' |
		awk '$2 == "ret" || $2 == "retq" { sub(/:$/, "", $1); print $1 }' >"$TMP/theirs"
	[ -s "$TMP/theirs" ] && diff "$TMP/theirs" "$TMP/ours" >"$TMP/diff" ||
		fail "$v: mallocgc's RETs differ from objdump's: $(cat "$TMP/diff")"
	echo "go $v: version, 400 PCs, runtime.mallocgc and its $(wc -l <"$TMP/ours") RETs agree with go's tools and objdump"
done
"$T" detect "$WL/wl_exact" >"$TMP/d" || fail "detect a C program"
grep -qx "is_go 0" "$TMP/d" || fail "a C program detected as Go: $(cat "$TMP/d")"
