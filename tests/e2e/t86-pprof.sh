#!/usr/bin/env bash
# --pprof: the profile is read by its real consumer, go tool pprof (Debian's
# golang-go). For every sample type, the sum of -raw's samples and the total
# -top prints equal the JSON report's totals, exact and sampled (where both
# are memtrace's estimates); the leak sites are named with file:line; every
# site is in the profile although --top shows 2; mapping 1 is the program;
# mappings carry the build-ids readelf reads.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v go >/dev/null || skip "go tool pprof needs golang-go (tools/install-deps.sh)"
export HOME=$TMP PPROF_TMPDIR=$TMP   # pprof keeps nothing, but may look there

args=(300 40 23 7 5 0)
"$MT" --no-vm --top 2 --json "$TMP/r.json" --pprof "$TMP/p.pb.gz" -- "$WL/wl_exact" "${args[@]}" \
	>/dev/null 2>"$TMP/err" || fail "memtrace exited $?: $(cat "$TMP/err")"
"$MT" --no-vm --sample-bytes 4096 --json "$TMP/s.json" --pprof "$TMP/s.pb.gz" -- "$WL/mt_demo" 1 \
	>/dev/null 2>"$TMP/err" || fail "sampled: memtrace exited $?: $(cat "$TMP/err")"

# check PROFILE JSON: pprof's sums against the report's totals
check() {
	go tool pprof -raw "$1" >"$TMP/raw" 2>"$TMP/raw.err" || { echo "pprof -raw: $(cat "$TMP/raw.err")"; return 1; }
	local t
	for t in alloc_objects alloc_space inuse_objects inuse_space; do
		local unit=()
		case $t in *space) unit=(-unit=byte) ;; esac
		go tool pprof -top -sample_index=$t "${unit[@]}" "$1" >"$TMP/top.$t" 2>"$TMP/top.err" ||
			{ echo "pprof -top $t: $(cat "$TMP/top.err")"; return 1; }
	done
	python3 - "$1" "$2" "$TMP" <<'PY'
import json, re, sys
prof, rep, tmp = sys.argv[1:]
d = json.load(open(rep))
t = d["totals"]
want = {"alloc_objects": t["allocs"], "alloc_space": t["alloc_bytes"],
        "inuse_objects": t["live_objects"], "inuse_space": t["live_bytes"]}
raw = open(tmp + "/raw").read()
m = re.search(r"^Samples:\n(.*?)\n(.*?)^Locations", raw, re.S | re.M)
assert m, "no samples in pprof -raw"
head = m.group(1).split()
assert head == ["alloc_objects/count", "alloc_space/bytes", "inuse_objects/count",
                "inuse_space/bytes[dflt]"], head
sums, n = [0] * 4, 0
for line in m.group(2).splitlines():
    vals = line.split(":")[0].split()
    if len(vals) != 4:
        continue
    n += 1
    for i in range(4):
        sums[i] += int(vals[i])
for i, k in enumerate(want):
    assert sums[i] == want[k], f"{prof}: -raw {k} sums to {sums[i]}, the report says {want[k]}"
    top = open(f"{tmp}/top.{k}").read()
    tm = re.search(r"of (\d+)(B|byte)? total", top)
    assert tm, f"{k}: no total in -top: {top[:300]}"
    assert int(tm.group(1)) == want[k], f"{k}: -top total {tm.group(1)}, the report says {want[k]}"
assert n >= len(d["sites"]), f"{n} samples for {len(d['sites'])} sites"
print(f"ok: {prof}: {n} samples, totals {sums} as in the report")
PY
}
check "$TMP/p.pb.gz" "$TMP/r.json" || fail "exact profile"
check "$TMP/s.pb.gz" "$TMP/s.json" || fail "sampled profile"
python3 - "$TMP/r.json" <<'PY' || fail "the JSON lacks sites"
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d["sites"]) > 2, f"--top 2 bounded the JSON's sites: {len(d['sites'])}"
PY

# Names and lines as pprof shows them; the program is mapping 1.
go tool pprof -raw "$TMP/p.pb.gz" >"$TMP/p.raw" 2>/dev/null || fail "pprof -raw"
grep -Eq "wl_leak_calloc .*wl_exact\.c:[0-9]+" "$TMP/p.raw" ||
	fail "wl_leak_calloc with its file:line is not in the profile"
# every site is a sample of its own: nothing left for the remainder
grep -q "other sites" "$TMP/p.raw" && fail "a full report's profile has an [other sites] sample"
go tool pprof -top -sample_index=inuse_space -unit=byte "$TMP/p.pb.gz" 2>/dev/null >"$TMP/top" || fail "pprof -top"
# wl_leak_calloc holds 7 x 4096 live bytes, wl_leak_small 23 x 100
grep -Eq "^ +28672B .* wl_leak_calloc$" "$TMP/top" || fail "wl_leak_calloc's 28672 live bytes not in -top: $(cat "$TMP/top")"
grep -Eq "^ +2300B .* wl_leak_small$" "$TMP/top" || fail "wl_leak_small's 2300 live bytes not in -top"
grep -A1 '^Mappings' "$TMP/p.raw" | grep -q "/wl_exact " ||
	fail "mapping 1 is not the program"
# every mapping carries its file's build-id, as readelf reads it
sed -n '/^Mappings/,$p' "$TMP/p.raw" | sed 1d >"$TMP/maps"
[ -s "$TMP/maps" ] || fail "no mappings"
while read -r _ _ file id _; do
	want=$(readelf -n "$file" | sed -n 's/.*Build ID: //p')
	[ -n "$want" ] && [ "$id" = "$want" ] || fail "mapping $file: build-id '$id', readelf says '$want'"
done <"$TMP/maps"
echo "ok: pprof"
