#!/usr/bin/env bash
# A target with a root of its own (chroot, as a container has): its
# executable and its debug file exist only inside that root, under
# /usr/lib/debug/.build-id/. memtrace reads both through /proc/PID/root
# and names the frames as in the unstripped build.
. "$(dirname "$0")/lib.sh"
need_bpf
for t in gcc objcopy chroot; do
	command -v $t >/dev/null || skip "$t not installed (tools/install-deps.sh)"
done
R=$TMP/root
mkdir -p "$R/bin"
# static: nothing else is needed inside the root
gcc -static -O2 -g -fno-omit-frame-pointer -Wl,--build-id "$E2E/sym/wl_sym.c" -o "$TMP/full" ||
	skip "cannot link statically (libc6-dev's libc.a)"
BID=$(readelf -n "$TMP/full" | awk '/Build ID/ { print $3 }')
D=$R/usr/lib/debug/.build-id/${BID:0:2}
mkdir -p "$D"
objcopy --only-keep-debug "$TMP/full" "$D/${BID:2}.debug"
# --strip-debug: the probes need malloc in .symtab; lines and inlined
# frames can only come from the debug file
objcopy --strip-debug "$TMP/full" "$R/bin/wl_sym"
[ -e "/usr/lib/debug/.build-id/${BID:0:2}/${BID:2}.debug" ] && fail "the host has this debug file"
chroot "$R" /bin/wl_sym loop &
PID=$!
CLEANUP_PIDS+=($PID)
disown
sleep 0.3
[ "$(readlink /proc/$PID/root)" = "$R" ] || fail "target's root is $(readlink /proc/$PID/root)"
# --lib: allocator discovery reads the maps' path under /proc/PID/root,
# but for a chroot in our mount namespace maps show our view of the path
"$MT" --no-vm -p "$PID" -d 1 --top 20 --lib /bin/wl_sym --json "$TMP/r.json" >"$TMP/out" 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
python3 - "$TMP/r.json" <<'PY' || fail "names in the chroot"
import json, sys
d = json.load(open(sys.argv[1]))
err = []
m = [m for m in d["modules"] if m["path"].endswith("/bin/wl_sym")]
if not m or m[0]["symbols"] != "build-id" or not m[0]["lines"] or \
        "/root/usr/lib/debug/.build-id/" not in (m[0]["debug_file"] or ""):
    err.append("module %s" % m)
funcs = {f["func"] for s in d["sites"] for f in s["stack"]}
for want in ("via_wrapper", "dup_names", "make_copy", "main"):
    if want not in funcs:
        err.append("%s not among %s" % (want, sorted(f for f in funcs if f)))
for e in err:
    print("mismatch:", e)
if not err:
    print("chroot: named from %s" % m[0]["debug_file"])
sys.exit(1 if err else 0)
PY
echo pass
