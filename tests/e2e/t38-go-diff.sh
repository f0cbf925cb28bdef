#!/usr/bin/env bash
# memtrace diff on Go reports: two launch-mode runs of tests/e2e/go/alloc
# with N1 and N2 sessions; the diff pairs the "go" sections by name: the
# (main.newSession, *main.Session) site and the *main.Session type change
# by exactly N2 - N1 allocations and (N2 - N1) * the type's size in bytes,
# the sync.Pool site (8 New calls in both) does not change.
. "$(dirname "$0")/lib.sh"
need_bpf
. "$E2E/go/build.sh"
mapfile -t gos < <(go_toolchains)
[ ${#gos[@]} -gt 0 ] || skip "no Go toolchain installed (tools/install-deps.sh installs golang-go)"
go_build "${gos[0]}" alloc "$TMP/alloc" || fail "build"
N1=700 N2=1900
for n in $N1 $N2; do
	"$MT" --no-vm --json "$TMP/$n.json" -- "$TMP/alloc" $n >"$TMP/$n.out" 2>"$TMP/$n.err" ||
		fail "memtrace exited $?: $(cat "$TMP/$n.err")"
done
"$MT" diff --json "$TMP/d.json" "$TMP/$N1.json" "$TMP/$N2.json" >"$TMP/d.txt" 2>"$TMP/d.err" ||
	fail "diff exited $?: $(cat "$TMP/d.err")"
grep -q "^Go heap (runtime.mallocgc)" "$TMP/d.txt" || fail "no Go part in the text: $(cat "$TMP/d.txt")"
grep -Eq "allocs +\+$((N2 - N1))  main.newSession  \*main.Session$" "$TMP/d.txt" ||
	fail "the text lacks the newSession change: $(cat "$TMP/d.txt")"
python3 - "$TMP/d.json" $((N2 - N1)) "$TMP/$N1.out" <<'PY' || fail "diff numbers"
import json, sys
d = json.load(open(sys.argv[1]))["go"]
n = int(sys.argv[2])
size = [int(l.split()[2]) for l in open(sys.argv[3]) if l.startswith("size main.Session")][0]
err = []
site = [s for s in d["sites"] if (s["function"], s["type"]) == ("main.newSession", "*main.Session")]
if len(site) != 1 or site[0]["delta"] != {"allocs": n, "bytes": n * size}:
    err.append("newSession site: %s, expected +%d allocs +%d bytes" % (site, n, n * size))
typ = [t for t in d["types"] if t["type"] == "*main.Session"]
if len(typ) != 1 or typ[0]["delta"] != {"allocs": n, "bytes": n * size}:
    err.append("*main.Session type: %s" % typ)
pool = [s for s in d["sites"] if s["function"] == "main.newBuf"]
if len(pool) != 1 or pool[0]["delta"]["allocs"] != 0 or pool[0]["a"]["allocs"] != 8:
    err.append("pool site: %s" % pool)
for e in err:
    print("mismatch:", e)
if not err:
    print("go diff: newSession +%d allocs, +%d bytes; the pool site unchanged" % (n, n * size))
sys.exit(1 if err else 0)
PY
