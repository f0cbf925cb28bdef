#!/usr/bin/env bash
# memtrace compare on the example server (tools/examples/mt_server.c), one
# round a side:
# 1. the default pair, unpooled (MTPOOL_DISABLE=1) vs pooled: the advice of
#    the unpooled run names exactly the three sites the pooled code pools,
#    with the right kind; the pooled run makes fewer allocator calls
#    (allocs + frees, the advice's unit) by at least the advised amount
#    within 10%, and so does each advised site; the text says "predicted
#    ... achieved ..." with the JSON's numbers; the rounds' reports (--keep)
#    still work with `memtrace diff`. The pooled report has memtrace's
#    "pools" section (mt_server links libmtpool): the pools' counters equal
#    the program's own mtpool_*_stats(), and what they hold idle at exit is
#    not a leak.
# 2. --env-a/--env-b with an LD_PRELOAD interposer (tools/preload) in both
#    sides: compare's allocator calls per side equal what the interposer
#    counted in that very process; A's environment does not leak into B;
#    --untraced adds runs without probes (their peak RSS near the traced).
# 3. Bad input: one line, exit 2 (usage) or 1 (a run that failed).
. "$(dirname "$0")/lib.sh"
need_bpf
SRV=$WL/mt_server
COUNT=$MT_BUILD/tools/libmt_count.so
[ -x "$SRV" ] || fail "$SRV not built"
N=20000

# The advice judges rates (at least 5000 allocs/s): on a machine so loaded
# that every traced allocator call takes > 20 us, a pooled site can fall
# under that and be judged "rare". That verdict (and only it) is retried,
# up to 3 runs in all; any other mismatch fails at once.
for try in 1 2 3; do
rm -rf "$TMP/rounds"
# MTPOOL_DISABLE=1 in memtrace's own environment: B must unset it.
MTPOOL_DISABLE=1 "$MT" compare --repeat 1 --json "$TMP/c.json" -o "$TMP/c.txt" --keep "$TMP/rounds" \
	-- "$SRV" $N --keep-pools >"$TMP/out" 2>"$TMP/err" || fail "compare exited $?: $(cat "$TMP/err")"
grep -q "^mt_server: pool requests gets $N " "$TMP/err" || fail "the pooled round did not pool: $(cat "$TMP/err")"
rc=0
python3 - "$TMP/c.json" "$TMP/c.txt" "$TMP/err" <<'PY' || rc=$?
import json, re, sys
c = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
err = []
# The pooled program's own mtpool_*_stats() at exit.
own = {}
for line in open(sys.argv[3]):
    m = re.match(r"mt_server: pool (\S+) (.*)", line)
    if m:
        f = m.group(2).split()
        own[m.group(1)] = dict(zip(f[::2], map(int, f[1::2])))
if sorted(own) != ["bodies", "headers", "requests"]:
    err.append("the pooled run printed no pool stats: %s" % own)
# The pooled code of mt_server pools these sites (and only these): the
# unpooled run's malloc/realloc callers, with the pool each got.
pooled = {"parse_request": "object_pool", "format_headers": "object_pool",
          "body_append": "buffer_pool"}
advised = {a["function"]: a["pool"] for a in c["advice"]}
if advised != pooled:
    a = json.load(open(c["a"]["rounds"][0]["report"]))
    rare = [x for x in a["advice"] if x["pool"] == "none" and x["stack"][0].get("func") in pooled
            and x["reason"].startswith("rare")]
    if rare and all(advised.get(f) in (None, k) for f, k in pooled.items()):
        print("slow machine: %s" % "; ".join("%s %s" % (x["stack"][0]["func"], x["reason"]) for x in rare))
        sys.exit(3)
    err.append("advice %s, the pooled build pools %s" % (advised, pooled))
m = c["metrics"]
saved = m["allocs_frees"]["a"]["median"] - m["allocs_frees"]["b"]["median"]
predicted = sum(a["predicted_calls_saved"] for a in c["advice"])
if predicted <= 0 or saved < 0.9 * predicted:
    err.append("pooled run saved %d calls, advice predicted %.0f" % (saved, predicted))
for a in c["advice"]:
    if a["achieved_calls_saved"] < 0.9 * a["predicted_calls_saved"]:
        err.append("%s at %s: achieved %d of %.0f" % (a["pool"], a["function"],
                   a["achieved_calls_saved"], a["predicted_calls_saved"]))
    want = "%s at %s: predicted %s calls/s saved, achieved %s" % (
        a["pool"], a["function"], format(round(a["predicted_calls_saved_per_s"]), ","),
        format(round(a["achieved_calls_saved_per_s"]), ","))
    if want not in text:
        err.append("text lacks '%s'" % want)
for k, v in m.items():
    if v is None and "untraced" in k:
        continue   # no --untraced here
    if v is None:
        err.append("metric %s unknown" % k)
        continue
    for s in "ab":
        if not v[s]["min"] <= v[s]["median"] <= v[s]["max"]:
            err.append("%s.%s: median outside its range: %s" % (k, s, v[s]))
for s in "ab":
    r = c[s]["rounds"][0]
    if r["rusage"] is None or r["report"] is None:
        err.append("%s: round without rusage or report: %s" % (s, r))
        continue
    # the target's own peak (VmHWM), not memtrace's RSS inherited at fork
    rep = json.load(open(r["report"]))
    # (the kernel-side view's rss_peak_bytes, from rss_stat events, is the
    # second witness: the same mm's high-water mark)
    vm_peak = rep.get("memory", {}).get("rss_peak_bytes")
    print("%s: peak RSS %d, kernel-side view %s" % (s, r["rusage"]["peak_rss_bytes"], vm_peak))
    if vm_peak is None or not vm_peak * 0.9 <= r["rusage"]["peak_rss_bytes"] <= vm_peak * 1.1 + 65536:
        err.append("%s: peak RSS %d, the kernel-side view saw %s" % (s, r["rusage"]["peak_rss_bytes"], vm_peak))
    if m["allocator_calls"][s]["median"] != sum(rep["calls"].values()):
        err.append("%s: allocator calls %s, its report %d" % (s, m["allocator_calls"][s], sum(rep["calls"].values())))
# memtrace's view inside libmtpool (the "pools" section, which a program
# linking libmtpool must have): its counters are the program's own, and
# the memory the pools hold idle at exit (--keep-pools: the pools are never
# destroyed) is no leak. Stacks through a pool's thread-cache setup
# (cache_attach) are the pools' own structures, not objects they hand out.
b = json.load(open(c["b"]["rounds"][0]["report"]))
if "pools" not in b:
    err.append("the pooled round's report has no pools section: memtrace did not see libmtpool")
else:
    got = {p["name"]: p for p in b["pools"]}
    for name, st in own.items():
        p = got.get(name)
        want = {"gets": st["gets"], "puts": st["puts"], "hits": st["hits"], "misses": st["misses"],
                "checked_out": st["live"], "idle": st["cached"], "bytes_reserved": st["reserved"]}
        if p is None or any(p.get(k) != v for k, v in want.items()):
            err.append("pool %s: memtrace %s, the program's stats %s" % (name,
                       p and {k: p.get(k) for k in want}, want))
    for l in b["leaks"]:
        funcs = [f.get("func") for f in l["stack"]]
        if set(funcs) & set(pooled) and "cache_attach" not in funcs and "mtpool__tcache_attach" not in funcs:
            err.append("pool memory reported as a leak: %d B at %s" % (l["bytes"], " < ".join(map(str, funcs[:6]))))
if c["a"]["label"] != "unpooled" or c["a"]["env"] != ["MTPOOL_DISABLE=1"]:
    err.append("A is not the unpooled default: %s" % c["a"]["label"])
for e in err:
    print("mismatch:", e)
if not err:
    print("compare: %d advice entries achieved, %d calls saved of %.0f predicted" % (len(c["advice"]), saved, predicted))
sys.exit(1 if err else 0)
PY
[ $rc -eq 3 ] || break
done
[ $rc -eq 0 ] || fail "compare numbers"
"$MT" diff "$TMP/rounds/a1.json" "$TMP/rounds/b1.json" >"$TMP/d.txt" 2>&1 || fail "diff of the kept rounds: $(cat "$TMP/d.txt")"

# 2. Any two configurations: the interposer preloaded into the target of
# both sides (never into memtrace: the environment is the target's), libc
# probed under it (--lib, as t17 does). Only A names MTPOOL_DISABLE: B,
# run after A, must not inherit it.
libc=$(ldd "$SRV" | awk '/libc\.so/ { print $3 }')
[ -e "$libc" ] || fail "no libc.so found for mt_server"
"$MT" compare --repeat 1 --untraced --lib "$libc" --json "$TMP/g.json" -o "$TMP/g.txt" --keep "$TMP/g" \
	--label-a plain --label-b pools \
	--env-a MTPOOL_DISABLE=1 --env-a LD_PRELOAD="$COUNT" --env-a MT_COUNT_OUT="$TMP/ca" \
	--env-b LD_PRELOAD="$COUNT" --env-b MT_COUNT_OUT="$TMP/cb" \
	-- "$SRV" 5000 >"$TMP/out" 2>"$TMP/err" || fail "compare --env-a/--env-b exited $?: $(cat "$TMP/err")"
[ -z "${LD_PRELOAD:-}" ] || fail "the test itself runs preloaded"
python3 - "$TMP/g.json" "$TMP/ca" "$TMP/cb" <<'PY' || fail "compare against the interposer"
import json, sys
c = json.load(open(sys.argv[1]))
err = []
for s, out in (("a", sys.argv[2]), ("b", sys.argv[3])):
    rep = json.load(open(c[s]["rounds"][0]["report"]))
    truth = {}
    for line in open("%s.%d" % (out, rep["target"]["pid"])):
        name, n = line.split()
        truth[name] = int(n)
    if c["metrics"]["allocator_calls"][s]["median"] != sum(truth.values()):
        err.append("%s: compare %s calls, the interposer %d" % (s, c["metrics"]["allocator_calls"][s], sum(truth.values())))
    # --untraced: the same program run without probes, its peak RSS its own
    u = c[s]["rounds"][0]["untraced"]
    t = c[s]["rounds"][0]["rusage"]
    if u is None or not 0.75 * t["peak_rss_bytes"] <= u["peak_rss_bytes"] <= 1.25 * t["peak_rss_bytes"]:
        err.append("%s: untraced run %s, traced %s" % (s, u, t))
for k in ("cpu_untraced_s", "wall_untraced_s", "peak_rss_untraced_bytes"):
    if c["metrics"][k] is None:
        err.append("metric %s missing with --untraced" % k)
if c["a"]["label"] != "plain" or c["b"]["label"] != "pools":
    err.append("labels %s %s" % (c["a"]["label"], c["b"]["label"]))
if c["metrics"]["allocator_calls"]["b"]["median"] * 10 > c["metrics"]["allocator_calls"]["a"]["median"]:
    err.append("B's environment did not pool: %s" % c["metrics"]["allocator_calls"])
for e in err:
    print("mismatch:", e)
sys.exit(1 if err else 0)
PY
grep -q "^  A = plain: MTPOOL_DISABLE=1 LD_PRELOAD=" "$TMP/g.txt" || fail "A's environment not shown: $(cat "$TMP/g.txt")"

# 3. Bad input.
bad_usage() {
	local rc=0
	"$MT" compare "$@" >"$TMP/bad" 2>&1 || rc=$?
	[ $rc -eq 2 ] || { echo "compare $*: exit $rc, expected 2: $(cat "$TMP/bad")"; return 1; }
	[ "$(grep -c '^memtrace' "$TMP/bad")" -eq 1 ] || { echo "compare $*: not one line: $(cat "$TMP/bad")"; return 1; }
}
bad_usage --repeat 0 -- "$SRV" 10 || fail "--repeat 0"
bad_usage --env-a =1 -- "$SRV" 10 || fail "--env-a =1"
bad_usage -p 1 || fail "-p"
bad_usage --repeat || fail "--repeat without a value"
rc=0
"$MT" compare --repeat 1 -- false >"$TMP/bad" 2>&1 || rc=$?
[ $rc -eq 1 ] || fail "a failing command: exit $rc: $(cat "$TMP/bad")"
grep -q "exited with status 1" "$TMP/bad" || fail "a failing command not named: $(cat "$TMP/bad")"
echo "compare: pooled vs unpooled, two environments, bad input"
