#!/usr/bin/env bash
# Sampling (--sample-bytes): estimates within tolerance of known totals,
# calls and failed calls exact, figures labelled as estimates.
# wl_exact 300000 1000 20000 30000 10000 0 allocates 187 MB in 321000
# blocks; at a 64 KiB mean the byte estimate's relative standard error is
# 1.85% (sqrt(sum n s^2 (1-p)/p) / sum n s, p = 1 - exp(-s/65536)), so
# +-10% is 5.4 sigma; the live (leaked) bytes, 125 MB mostly in 4 KiB
# blocks, have 2.3%, checked at +-12%.
. "$(dirname "$0")/lib.sh"
for bad in abc -1 1099511627777; do
	"$MT" --sample-bytes "$bad" -p 1 >/dev/null 2>"$TMP/bad" && fail "--sample-bytes $bad accepted"
	[ "$(wc -l <"$TMP/bad")" -eq 1 ] && grep -q "^memtrace: invalid --sample-bytes '$bad'" "$TMP/bad" ||
		fail "--sample-bytes $bad: $(cat "$TMP/bad")"
done
need_bpf
args=(300000 1000 20000 30000 10000 0)
"$MT" --no-vm --sample-bytes 65536 --json "$TMP/r.json" -o "$TMP/out" -- "$WL/wl_exact" "${args[@]}" \
	>/dev/null 2>"$TMP/err" || fail "memtrace exited $?: $(cat "$TMP/err")"
grep -q "^(estimated) sampling 1 in ~65536 bytes" "$TMP/out" ||
	fail "text report does not label estimates: $(head -3 "$TMP/out")"
python3 - "$TMP/r.json" "$E2E" "${args[@]}" <<'PY' || exit 1
import json, sys
sys.path.insert(0, sys.argv[2])
import exact
r = json.load(open(sys.argv[1]))
calls, totals, leaks = exact.expected("launch", *[int(x) for x in sys.argv[3:]])
err = []
def near(what, got, want, tol):
    rel = got / want - 1
    print("%s: got %d, expected %d (%+.2f%%, tolerance %d%%)" % (what, got, want, 100 * rel, 100 * tol))
    if abs(rel) > tol:
        err.append(what)
if r.get("sampling") != {"mean_bytes": 65536, "estimated": True}:
    err.append("sampling key %r" % r.get("sampling"))
if r["lost_events"]:
    err.append("lost_events %d" % r["lost_events"])
if r["calls"] != calls:
    err.append("calls: got %s, expected %s" % (r["calls"], calls))
# Failed calls are seen when sampled or a realloc (uprobe sessions skip the
# return of other unsampled calls): 3 of wl_exact's 4 failures per round
# (huge requests are sampled with p ~ 1), not posix_memalign's EINVAL.
f, want = r["totals"]["failed_allocs"], totals["failed_allocs"]
if not (want * 3 // 4 <= f <= want):
    err.append("failed_allocs %d not in [%d, %d]" % (f, want * 3 // 4, want))
near("alloc_bytes", r["totals"]["alloc_bytes"], totals["alloc_bytes"], 0.10)
near("live_bytes", r["totals"]["live_bytes"], totals["live_bytes"], 0.12)
got = exact.leaks_by_function(r)
near("wl_leak_calloc leaked bytes", got.get("wl_leak_calloc", (0, 0))[1], leaks["wl_leak_calloc"][1], 0.12)
# Most frees are of unsampled blocks: counted, not reported.
if r["drops"]["free_unsampled"] < totals["frees"] // 2:
    err.append("free_unsampled %d" % r["drops"]["free_unsampled"])
for e in err:
    print("mismatch:", e)
sys.exit(1 if err else 0)
PY

# Sampling must not change how calls are counted: a calloc that calls malloc
# (an executable with its own allocator, as musl) is one calloc, whether
# it is sampled or not (its return is then always seen).
for sb in 0 1 1000000000000; do
	"$MT" --no-vm --sample-bytes "$sb" --json "$TMP/own$sb.json" -- "$WL/wl_own_alloc" 2003 \
		>/dev/null 2>"$TMP/own.err" || fail "own allocator, --sample-bytes $sb: exit $?: $(cat "$TMP/own.err")"
done
python3 - "$TMP/own0.json" "$TMP/own1.json" "$TMP/own1000000000000.json" <<'PY' || exit 1
import json, sys
calls = [json.load(open(p))["calls"] for p in sys.argv[1:]]
alloc = json.load(open(sys.argv[1]))["target"]["allocator"]
assert alloc.endswith("/wl_own_alloc"), alloc
assert calls[0]["calloc"] >= 2003 and calls[0]["malloc"] >= 2003, calls[0]
for c in calls[1:]:
    assert c == calls[0], ("sampling changed the calls", calls)
print("own allocator: calls identical unsampled and sampled:", calls[0])
PY
