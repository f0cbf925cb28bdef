#!/usr/bin/env bash
# The Go heap mode on a program with known numbers (tests/e2e/go/alloc),
# for every Go toolchain installed, launched under memtrace: the mallocgc
# calls memtrace attributes to each function equal the program's own
# counts (N *main.Session from main.newSession, the growslice calls of an
# append loop, the map's allocations by the runtime's own Mallocs, the
# sync.Pool's New calls); types and sizes resolve; the version is the
# toolchain's; the pool advice names sync.Pool. The stripped (-s -w)
# build, and a stripped position-independent one (loaded at a random
# address), give the same counts under the same names, from .gopclntab.
. "$(dirname "$0")/lib.sh"
need_bpf
. "$E2E/go/build.sh"
mapfile -t gos < <(go_toolchains)
[ ${#gos[@]} -gt 0 ] || skip "no Go toolchain installed (tools/install-deps.sh installs golang-go)"
N=1000
for go in "${gos[@]}"; do
	v=$("$go" env GOVERSION)
	for kind in plain stripped pie; do
		flags=()
		[ $kind = plain ] || flags=(-ldflags=-s\ -w)
		[ $kind = pie ] && flags+=(-buildmode=pie)
		b=$TMP/alloc-$v-$kind
		go_build "$go" alloc "$b" "${flags[@]}" || fail "build"
		"$MT" --no-vm --json "$TMP/r.json" -o "$TMP/r.txt" -- "$b" $N >"$TMP/out" 2>"$TMP/err" ||
			fail "$v $kind: memtrace exited $?: $(cat "$TMP/err")"
		python3 - "$TMP/r.json" "$TMP/out" "$v" "$kind" <<'PY' || fail "$v $kind: counts ($(cat "$TMP/err"))"
import json, sys
r = json.load(open(sys.argv[1]))
want = {}
size = None
for line in open(sys.argv[2]):
    w = line.split()
    if w[0] == "count":
        want[w[1]] = int(w[2])
    elif w[0] == "size":
        size = int(w[2])
g = r.get("go")
err = []
if not g or not g.get("heap_traced"):
    sys.exit("no traced Go heap in the report: %s" % g)
if g["version"] != sys.argv[3]:
    err.append("version %s, expected %s" % (g["version"], sys.argv[3]))
got = {}
for s in g["sites"]:
    got[s["function"]] = got.get(s["function"], 0) + s["allocs"]
for f, n in want.items():
    if got.get(f) != n:
        err.append("%s: %s mallocgc calls, the program counted %d" % (f, got.get(f), n))
sess = [s for s in g["sites"] if s["function"] == "main.newSession"]
if [(s["type"], s["type_size"], s["via"]) for s in sess] != [("*main.Session", size, "runtime.newobject")]:
    err.append("main.newSession sites: %s" % [(s["type"], s["type_size"], s["via"]) for s in sess])
elif "sync.Pool" not in (sess[0]["advice"] or ""):
    err.append("no sync.Pool advice for main.newSession: %s" % sess[0]["advice"])
elif not sess[0]["file"].endswith("alloc/main.go") or sess[0]["line"] <= 0:
    err.append("main.newSession at %s:%s" % (sess[0]["file"], sess[0]["line"]))
types = {t["type"]: t for t in g["types"]}
if types.get("*main.Session", {}).get("allocs", 0) < want["main.newSession"]:
    err.append("types: %s" % types.get("*main.Session"))
if sum(s["allocs"] for s in g["sites"]) + g["unsited"] != g["allocs"]:
    err.append("sites do not sum to the total %d" % g["allocs"])
for e in err:
    print("mismatch:", e)
if not err:
    print("%s %s: %s" % (sys.argv[3], sys.argv[4], ", ".join("%s %d" % kv for kv in sorted(want.items()))))
sys.exit(1 if err else 0)
PY
		grep -q '\*main.Session  main.newSession' "$TMP/r.txt" || fail "text report lacks the site: $(cat "$TMP/r.txt")"
	done
done
# --no-go: no Go section (the kernel-side view only: a pure Go program
# has no C allocator); --go on a C program: one clear line, exit 1
"$MT" --no-heap --no-go --json "$TMP/n.json" -- "$b" 10 >/dev/null 2>"$TMP/err" ||
	fail "--no-go: exit $?: $(cat "$TMP/err")"
python3 -c 'import json,sys; sys.exit("go" in json.load(open(sys.argv[1])))' "$TMP/n.json" ||
	fail "--no-go still wrote a go section"
rc=0
"$MT" --no-vm --go -- "$WL/wl_exact" 1 1 1 1 1 1 >/dev/null 2>"$TMP/err" || rc=$?
[ $rc -eq 1 ] && grep -q "is not a Go program" "$TMP/err" || fail "--go on C: exit $rc: $(cat "$TMP/err")"
