#!/usr/bin/env bash
# memtrace's own footprint in the report (issue 12): attached with the
# defaults to an idle program that uses libmtpool, the "memtrace" section
# names every BPF object loaded (heap, vm, pools) and their maps add up to
# what bpftool says memtrace's maps hold; DWARF is found at attach (the
# module says "lines") but loaded only for frames a report names: none
# for an idle target, some once a site is reported with file:line.
# Sizes are benchmarks (tools/bench/footprint.py), never asserted here.
. "$(dirname "$0")/lib.sh"
need_bpf
[ -x "$WL/wl_pool" ] || fail "$WL/wl_pool not built"

"$WL/wl_pool" hold >"$TMP/wl.out" &
wl=$!
CLEANUP_PIDS+=("$wl")
wait_for "$TMP/wl.out" '^holding' 20 || fail "wl_pool hold did not start"
"$MT" -p "$wl" --json "$TMP/idle.json" >"$TMP/idle.out" 2>"$TMP/idle.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/idle.err" 'attached to PID' || fail "memtrace did not attach"
# every map memtrace holds, by id from its fdinfo, as bpftool sees it
# (a file memtrace opens for a moment, e.g. a /proc read, may be gone by
# the time awk reads its fdinfo: not a map, not an error)
maps=$(for f in /proc/"$mt"/fdinfo/*; do awk '/^map_id:/ { print $2 }' "$f" 2>/dev/null || true; done |
	sort -u | while read -r id; do bpftool -j map show id "$id"; echo; done |
	python3 -c 'import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(len(rows), sum(r["bytes_memlock"] for r in rows), sum(r["bytes_memlock"] for r in rows if r["type"] == "ringbuf"))')
kill -INT "$mt"
wait "$mt" || fail "memtrace exited $?: $(tail -5 "$TMP/idle.err")"
python3 - "$TMP/idle.json" "$TMP/idle.out" $maps <<'PY' || fail "idle target: memtrace's footprint in the report"
import json, sys
r = json.load(open(sys.argv[1]))
m = r["memtrace"]
text = open(sys.argv[2]).read()
nmaps, total, rings = (int(x) for x in sys.argv[3:6])
bad = []
objs = m["bpf_objects"]
if nmaps == 0:
    bad.append("bpftool shows no map held by memtrace")
for want in ("heap", "vm", "pools"):
    if objs.get(want, {}).get("map_bytes", 0) <= 0:
        bad.append(f"BPF object {want} loaded but not in bpf_objects: {objs}")
if sum(o["map_bytes"] for o in objs.values()) != m["bpf_map_bytes"]:
    bad.append(f"bpf_objects do not add up to bpf_map_bytes: {m}")
if sum(o["ring_bytes"] for o in objs.values()) != m["bpf_ring_bytes"]:
    bad.append(f"ring bytes by object do not add up: {m}")
# read at different moments; a hash map's memory follows its entries
if abs(m["bpf_map_bytes"] - total) > total / 100:
    bad.append(f"report says BPF maps {m['bpf_map_bytes']}, bpftool {total} over {nmaps} maps")
if m["bpf_ring_bytes"] != rings:
    bad.append(f"report says rings {m['bpf_ring_bytes']}, bpftool {rings}")
if not 0 < m["rss_bytes"] <= m["rss_peak_bytes"]:
    bad.append(f"RSS {m['rss_bytes']} peak {m['rss_peak_bytes']}")
with_lines = [x["path"] for x in r["modules"] if x["lines"]]
if not any(p.endswith("/wl_pool") for p in with_lines):
    bad.append(f"wl_pool (built with -g) has no DWARF found: {with_lines}")
if m["dwarf_modules_loaded"] != 0:
    bad.append(f"DWARF of {m['dwarf_modules_loaded']} modules loaded for an idle target")
line = [l for l in text.splitlines() if l.startswith("memtrace itself:")]
if not line or not all(f"{o} " in line[0] for o in objs):
    bad.append(f"text line does not name every object: {line}")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
kill "$wl"

# A reported site with file:line: DWARF loaded, for the modules asked only.
"$MT" --no-vm --json "$TMP/busy.json" -- "$WL/wl_exact" 23 17 13 7 5 11 >/dev/null 2>"$TMP/busy.err" ||
	fail "launch: memtrace exited $?: $(tail -5 "$TMP/busy.err")"
python3 - "$TMP/busy.json" <<'PY' || fail "launch: DWARF not loaded for the reported frames"
import json, sys
r = json.load(open(sys.argv[1]))
n = r["memtrace"]["dwarf_modules_loaded"]
lines = [x for x in r["modules"] if x["lines"]]
named = [f for s in r["sites"] for f in s["stack"] if f.get("line")]
if not named or not 1 <= n <= len(lines):
    sys.exit(f"{n} modules' DWARF loaded, {len(lines)} with DWARF, {len(named)} frames with a line")
print(f"ok: DWARF of {n} of {len(lines)} modules loaded, {len(named)} frames with file:line")
PY
echo pass
