#!/usr/bin/env bash
# Calls the allocator makes of itself are not the program's: threads that
# exit with a full cache make glibc free it (tcache_thread_shutdown), ~65
# frees per thread here, through the same entry point. memtrace must count
# exactly the calls an LD_PRELOAD interposer sees (the program's, and those
# libc makes through its PLT on the program's behalf), report glibc's own
# apart as internal_calls, and count none of them as untracked frees.
# libc is named with --lib: the interposer defines malloc itself and would
# otherwise be probed as the allocator, hiding libc's own calls.
# gdb is the second oracle: a breakpoint on libc's free counts every call
# that reaches it, the program's and glibc's own: calls plus internal_calls.
. "$(dirname "$0")/lib.sh"
need_bpf
COUNT=$MT_BUILD/tools/libmt_count.so
[ -e "$COUNT" ] || fail "$COUNT not built"
libc=$(ldd "$WL/wl_thread_exit" | awk '/libc\.so/ { print $3 }')
[ -e "$libc" ] || skip "no libc.so found for wl_thread_exit (a static build?)"
threads=4 rounds=3
# The interposer is preloaded into memtrace too, which an ASan-built
# memtrace cannot share (tests/run.sh --sanitized): there only the static
# part below runs.
if [ -n "${MT_SANITIZED:-}" ]; then
	echo "note: interposer comparison not run under ASan"
else
LD_PRELOAD=$COUNT MT_COUNT_OUT=$TMP/count "$MT" --no-vm --lib "$libc" --json "$TMP/r.json" \
	-o "$TMP/text" -- "$WL/wl_thread_exit" $threads $rounds >/dev/null 2>"$TMP/err" ||
	fail "memtrace exited $?: $(cat "$TMP/err")"
gdb_frees=-1
if command -v gdb >/dev/null; then
	gdb -q -batch -ex 'set breakpoint pending on' -ex 'break __libc_free' -ex 'ignore 1 100000000' \
		-ex run -ex 'info breakpoints' --args "$WL/wl_thread_exit" $threads $rounds >"$TMP/gdb" 2>&1
	gdb_frees=$(sed -n 's/.*breakpoint already hit \([0-9]*\) time.*/\1/p' "$TMP/gdb")
	[ -n "$gdb_frees" ] || fail "gdb counted no free: $(cat "$TMP/gdb")"
elif [ "${CI:-}" = true ]; then
	fail "gdb missing (tools/install-deps.sh installs it)"
fi
python3 - "$TMP/r.json" "$TMP/count" "$TMP/text" $threads $rounds $gdb_frees <<'PY' || exit 1
import json, sys
r = json.load(open(sys.argv[1]))
threads, rounds = int(sys.argv[4]), int(sys.argv[5])
# The interposer writes one file per process (memtrace itself is preloaded too).
truth = {}
for line in open("%s.%d" % (sys.argv[2], r["target"]["pid"])):
    name, n = line.split()
    truth[name] = int(n)
errors = []
own = threads * rounds * 64
if truth["malloc"] < own or truth["free"] < own:
    errors.append("interposer saw fewer calls than the workload made: %s" % truth)
assert r["lost_events"] == 0, r["lost_events"]
for key, n in r["calls"].items():
    want = sum(truth[k] for k in key.split("|"))
    if n != want:
        errors.append("calls.%s: memtrace %d, interposer %d" % (key, n, want))
internal = r.get("internal_calls")
if internal is None:
    errors.append("no internal_calls in the report")
else:
    # each thread leaves at least its 64 distinct sizes in its cache
    if internal.get("free", 0) < threads * 64:
        errors.append("internal_calls.free: %d, expected >= %d" % (internal.get("free", 0), threads * 64))
    if sum(internal.values()) != internal.get("free", 0):
        errors.append("internal calls other than free: %s" % internal)
if r["totals"]["untracked_frees"] != 0:
    errors.append("untracked frees: %d" % r["totals"]["untracked_frees"])
gdb_frees = int(sys.argv[6])
if gdb_frees >= 0 and internal is not None:
    seen = r["calls"]["free"] + internal.get("free", 0)
    if seen != gdb_frees:
        errors.append("frees reaching libc: memtrace %d (calls + internal), gdb %d" % (seen, gdb_frees))
text = open(sys.argv[3]).read()
if internal and "internal calls" not in text:
    errors.append("the text report does not show the internal calls")
for e in errors:
    print("mismatch:", e)
sys.exit(1 if errors else 0)
PY
echo "internal calls: program's calls equal the interposer's, glibc's thread-exit frees apart"
fi

# A static program: the executable is the allocator and its own code calls
# malloc directly too, so only glibc's teardown functions (by name, from
# .symtab) are internal. Each exiting thread frees at least its cache.
# Its C runtime allocates at start-up: calls are checked by difference.
bin=$WL/wl_exact_static
for n in 0 300; do
	"$MT" --no-vm --json "$TMP/s$n.json" -- "$bin" --threads $threads $n 0 0 0 0 0 >/dev/null 2>"$TMP/err" ||
		fail "static: memtrace exited $?: $(cat "$TMP/err")"
done
python3 - "$TMP/s0.json" "$TMP/s300.json" 300 $threads <<'PY' || exit 1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
n, threads = int(sys.argv[3]), int(sys.argv[4])
errors = []
for r in (a, b):
    if r["totals"]["untracked_frees"]:
        errors.append("untracked frees %d" % r["totals"]["untracked_frees"])
    if r.get("internal_calls", {}).get("free", 0) < threads:
        errors.append("internal frees %s, expected >= %d" % (r.get("internal_calls"), threads))
# main churns n, each thread n: malloc/free pairs
for k in ("malloc", "free"):
    d = b["calls"][k] - a["calls"][k]
    if d != n * (threads + 1):
        errors.append("static: delta calls.%s %d, expected %d" % (k, d, n * (threads + 1)))
for e in errors:
    print("mismatch:", e)
sys.exit(1 if errors else 0)
PY
echo "internal calls: static program's thread-exit frees apart, its own calls exact"
