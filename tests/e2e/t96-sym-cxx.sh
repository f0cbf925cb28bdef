#!/usr/bin/env bash
# C++ frames: demangled names (checked against binutils' c++filt on the
# raw symbols nm lists), and sites reached through operator new attributed
# to the first frame of the program (the wrapper chain kept in the stack).
. "$(dirname "$0")/lib.sh"
need_bpf
for t in g++ nm c++filt; do
	command -v $t >/dev/null || skip "$t not installed (tools/install-deps.sh)"
done
W=$TMP/wl_sym_cxx
g++ -O2 -g -fno-omit-frame-pointer "$E2E/sym/wl_sym.cpp" -o "$W" || fail "cannot build wl_sym.cpp"
"$MT" --no-vm --top 20 --json "$TMP/r.json" -o "$TMP/out" -- "$W" >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
nm "$W" | awk '$2 ~ /[TtWw]/ { print $3 }' >"$TMP/raw"
c++filt <"$TMP/raw" >"$TMP/dem"
grep -q "^via operator new\|^      via operator new" "$TMP/out" || fail "text: no 'via operator new' line: $(cat "$TMP/out")"
python3 - "$TMP/r.json" "$TMP/raw" "$TMP/dem" "$W" <<'PY' || fail "demangling or attribution"
import json, sys
d = json.load(open(sys.argv[1]))
filt = set(l.rstrip("\n") for l in open(sys.argv[3]))
exe = sys.argv[4]
err, attributed, named = [], 0, 0
for s in d["sites"] + d["leaks"]:
    st = s["stack"]
    for f in st:
        if f["module"] == exe and f["func"] and not f["inline"]:
            named += 1
            if f["func"] not in filt:
                err.append("frame %r is not a name c++filt gives for this program" % f["func"])
    # (a stack the frame-pointer walk cut inside libstdc++ has no frame
    # of the program to attribute to)
    if st and st[0]["func"] and st[0]["func"].startswith("operator new") and \
            any(f["module"] == exe for f in st):
        a = s["attributed_frame"]
        f = st[a]
        if f["module"] != exe or f["func"].startswith("operator new"):
            err.append("site through operator new attributed to %s in %s" % (f["func"], f["module"]))
        else:
            attributed += 1
funcs = {f["func"] for s in d["sites"] for f in s["stack"] if f["func"]}
if "shop::fill(shop::Registry<shop::Item>&, int)" not in funcs:
    err.append("shop::fill not among the frames: %s" % sorted(funcs))
if not attributed:
    err.append("no site through operator new was attributed")
for e in err:
    print("mismatch:", e)
if not err:
    print("%d frames demangled as c++filt does, %d sites attributed past operator new" % (named, attributed))
sys.exit(1 if err else 0)
PY
echo pass
