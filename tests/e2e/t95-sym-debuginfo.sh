#!/usr/bin/env bash
# Names from separate debug info, found the way gdb finds it: one workload
# (tests/e2e/sym/wl_sym.c) built once with symbols, then stripped and its
# debug info put where each lookup looks: next to it through
# .gnu_debuglink (in .debug/), under /usr/lib/debug/.build-id/, inside the
# file as MiniDebugInfo, and on a local debuginfod server; and a debuglink
# to a file that dwz shrank into a supplementary file (.gnu_debugaltlink),
# as Debian's debug packages are. Every variant
# must name the frames as the unstripped build does, and "modules" must say
# which source named the executable. Inlined frames are checked against
# binutils' addr2line -i on the unstripped file.
. "$(dirname "$0")/lib.sh"
need_bpf
for t in gcc objcopy xz nm addr2line debuginfod dwz; do
	command -v $t >/dev/null || skip "$t not installed (tools/install-deps.sh)"
done
SRC=$E2E/sym/wl_sym.c
mkdir -p "$TMP/full" "$TMP/link/.debug" "$TMP/bid" "$TMP/mini" "$TMP/dinfod" "$TMP/dsrv" \
	"$TMP/dwz/.debug"
gcc -O2 -g -fno-omit-frame-pointer -Wl,--build-id "$SRC" -o "$TMP/full/wl_sym" || fail "cannot build $SRC"
W=$TMP/full/wl_sym
# debuglink: stripped of everything, its debug file in .debug/
objcopy --only-keep-debug "$W" "$TMP/link/.debug/wl_sym.debug"
objcopy --strip-all "$W" "$TMP/link/wl_sym"
(cd "$TMP/link/.debug" && objcopy --add-gnu-debuglink=wl_sym.debug "$TMP/link/wl_sym")
# dwz: two debug files sharing most of their DWARF; the common part goes
# to common.dwz, which each names by absolute path
objcopy --strip-all "$W" "$TMP/dwz/wl_sym"
objcopy --only-keep-debug "$W" "$TMP/dwz/.debug/wl_sym.debug"
gcc -O2 -g -fno-omit-frame-pointer -DWL_TWIN "$SRC" -o "$TMP/twin"
objcopy --only-keep-debug "$TMP/twin" "$TMP/dwz/.debug/twin.debug"
(cd "$TMP/dwz/.debug" && dwz -m common.dwz -M "$TMP/dwz/.debug/common.dwz" wl_sym.debug twin.debug &&
	objcopy --add-gnu-debuglink=wl_sym.debug "$TMP/dwz/wl_sym") || fail "dwz"
readelf -S "$TMP/dwz/.debug/wl_sym.debug" 2>/dev/null | grep -q gnu_debugaltlink || fail "dwz made no altlink"
# build-id: no debuglink; the debug file in the host's build-id tree
objcopy --strip-all "$W" "$TMP/bid/wl_sym"
BID=$(readelf -n "$W" | awk '/Build ID/ { print $3 }')
[ -n "$BID" ] || fail "no build-id in $W"
BIDF=/usr/lib/debug/.build-id/${BID:0:2}/${BID:2}.debug
[ -e "$BIDF" ] && fail "$BIDF exists already"
# cleanup keeps the exit status it finds in $?: give it the test's, not rm's
trap 'rc=$?; trap - ERR; rm -f "$BIDF"; (exit $rc); cleanup' EXIT
# MiniDebugInfo, as gdb's manual builds it: the function symbols that are
# not in .dynsym, xz-compressed into .gnu_debugdata
nm -D "$W" --format=posix --defined-only | awk '{ print $1 }' | sort >"$TMP/dyn"
nm "$W" --format=posix --defined-only | awk '$2 ~ /[Tt]/ { print $1 }' | sort >"$TMP/fun"
comm -13 "$TMP/dyn" "$TMP/fun" >"$TMP/keep"
objcopy --only-keep-debug "$W" "$TMP/mini.dbg"
objcopy -S --remove-section .gdb_index --remove-section .comment --keep-symbols="$TMP/keep" "$TMP/mini.dbg"
xz -f "$TMP/mini.dbg"
objcopy --strip-all --remove-section .gnu_debuglink "$W" "$TMP/mini/wl_sym"
objcopy --add-section .gnu_debugdata="$TMP/mini.dbg.xz" "$TMP/mini/wl_sym"
# debuginfod: a server on this machine indexing a folder with the debug file
objcopy --strip-all "$W" "$TMP/dinfod/wl_sym"
cp "$TMP/link/.debug/wl_sym.debug" "$TMP/dsrv/"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
debuginfod -p "$PORT" -d "$TMP/dsrv.sqlite" -F "$TMP/dsrv" -t 1 >"$TMP/dsrv.log" 2>&1 &
CLEANUP_PIDS+=($!)
disown

run() {  # run NAME DIR [env...]: memtrace on DIR/wl_sym, JSON to NAME.json
	local name=$1 dir=$2
	shift 2
	env "$@" "$MT" --no-vm --top 20 --wrapper my_xmalloc --json "$TMP/$name.json" \
		-o "$TMP/$name.out" -- "$dir/wl_sym" >/dev/null 2>"$TMP/$name.err" ||
		fail "$name: memtrace exited $?: $(cat "$TMP/$name.err")"
}
run full "$TMP/full"
run link "$TMP/link"
# only for this run: the others would find it first
mkdir -p "$(dirname "$BIDF")"
cp "$TMP/link/.debug/wl_sym.debug" "$BIDF"
run bid "$TMP/bid"
rm -f "$BIDF"
run mini "$TMP/mini"
run dwz "$TMP/dwz"
# the server needs a moment to index the folder; ask it like a client would
for i in $(seq 100); do
	DEBUGINFOD_URLS=http://127.0.0.1:$PORT DEBUGINFOD_CACHE_PATH=$TMP/probe \
		debuginfod-find debuginfo "$BID" >/dev/null 2>&1 && break
	sleep 0.1
done
run dinfod "$TMP/dinfod" DEBUGINFOD_URLS=http://127.0.0.1:$PORT DEBUGINFOD_CACHE_PATH=$TMP/cache
# a server that is not there: no stall, the module stays named by symtab
run nosrv "$TMP/dinfod" DEBUGINFOD_URLS=http://127.0.0.1:1 DEBUGINFOD_CACHE_PATH=$TMP/cache2

python3 - "$TMP" "$W" "$SRC" <<'PY' || fail "symbol sources"
import json, re, subprocess, sys
tmp, exe, src = sys.argv[1:4]
def load(n):
    return json.load(open("%s/%s.json" % (tmp, n)))
def stacks(d):
    """function names of the workload's frames, per site"""
    out = set()
    for s in d["sites"]:
        # names are this test's subject, whole stacks t80's: a stack the
        # walker cut (marked by its "end") is left out of the comparison
        if s.get("end", "root") != "root":
            continue
        names = tuple((f["func"], f["inline"]) for f in s["stack"] if f["module"] and f["module"].endswith("/wl_sym"))
        if names:
            out.add(names)
    return out
def exe_mod(d):
    m = [m for m in d["modules"] if m["path"].endswith("/wl_sym")]
    return m[0] if m else None
err = []
full = load("full")
ref = stacks(full)
# stacks are whole (the CFI walker reaches the root): _start ends them
want = {(("via_wrapper", False), ("main", False), ("_start", False)),
        (("make_copy", True), ("dup_names", False), ("main", False), ("_start", False))}
# my_xmalloc frames are part of the stack too
ref_norm = {tuple(x for x in st if x[0] != "my_xmalloc") for st in ref}
if not want <= ref_norm:
    err.append("unstripped build: stacks %s lack %s" % (sorted(ref, key=str), sorted(want)))
m = exe_mod(full)
if not m or m["symbols"] != "symtab" or not m["lines"]:
    err.append("unstripped: module %s" % m)
# the wrapper: its site is attributed to via_wrapper
for s in full["sites"]:
    fr = s["stack"]
    if fr and fr[0]["func"] == "my_xmalloc":
        a = s["attributed_frame"]
        if fr[a]["func"] != "via_wrapper":
            err.append("--wrapper my_xmalloc: attributed to %s" % fr[a]["func"])
# inline frames: the same chain and lines as addr2line -i on the file
ph = subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True).stdout
loads = [l.split() for l in ph.splitlines() if l.strip().startswith("LOAD")]
def vaddr(off):
    for l in loads:
        o, v, fsz = int(l[1], 16), int(l[2], 16), int(l[4], 16)
        if o <= off < o + fsz:
            return off - o + v
checked = 0
for s in full["sites"]:
    # frames of the workload that have a line (its _start has none); the
    # JSON carries every site now, not only the top --top
    fr = [f for f in s["stack"] if f["module"] and f["module"].endswith("/wl_sym") and f["file"]]
    i = 0
    while i < len(fr):
        # one return address: its inlined frames, then the real one
        j = i
        while fr[j]["inline"]:
            j += 1
        group = fr[i:j + 1]
        pc = vaddr(int(group[0]["module_off"], 16)) - 1
        a2l = subprocess.run(["addr2line", "-f", "-i", "-e", exe, hex(pc)],
                             capture_output=True, text=True).stdout.split("\n")
        pairs = [(a2l[k], a2l[k + 1]) for k in range(0, len(a2l) - 1, 2)]
        got = [(f["func"], "%s:%d" % (f["file"].rsplit("/", 1)[-1], f["line"])) for f in group]
        exp = [(fn, loc.split(" ")[0].rsplit("/", 1)[-1]) for fn, loc in pairs]
        if got != exp:
            err.append("frames at %#x: %s, addr2line -i says %s" % (pc, got, exp))
        if len(group) > 1:
            checked += 1
        i = j + 1
if not checked:
    err.append("no inlined frame was checked")
for name, src_ in (("link", "debuglink"), ("dwz", "debuglink"), ("bid", "build-id"),
                   ("mini", "minidebuginfo"),
                   ("dinfod", "debuginfod"), ("nosrv", "none")):
    d = load(name)
    m = exe_mod(d)
    got = stacks(d)
    if name == "nosrv":
        # stripped, no server: named by the file's .dynsym only, and the
        # module says the lookup failed
        st = (m or {}).get("debuginfod") or ""
        if not m or m["symbols"] != "symtab" or not (st == "not found" or st.startswith("error")):
            err.append("nosrv: module %s" % m)
        continue
    # names without DWARF: no inlined frames, the same real functions
    exp = {tuple(x for x in st if not x[1]) for st in ref} if name == "mini" else ref
    if got != exp:
        err.append("%s: stacks %s, unstripped %s" % (name, sorted(got, key=str), sorted(exp, key=str)))
    if not m or m["symbols"] != src_:
        err.append("%s: module %s, expected symbols %s" % (name, m, src_))
    if name in ("link", "dwz", "bid", "dinfod") and not (m and m["lines"] and m["debug_file"]):
        err.append("%s: no lines or no debug_file: %s" % (name, m))
for e in err:
    print("mismatch:", e)
if not err:
    print("names: unstripped, debuglink, dwz, build-id, minidebuginfo, debuginfod agree; "
          "%d inlined chains match addr2line -i" % checked)
sys.exit(1 if err else 0)
PY
grep -q "debuginfod" "$TMP/nosrv.err" && fail "absent server: warned as pending: $(cat "$TMP/nosrv.err")"
echo "pass"
