#!/usr/bin/env bash
# Memory view (issue 4): mappings, faults, unmaps, brk growth and madvise
# releases of wl_vm, per creating function, exactly; final RSS within 1% of
# /proc/PID/status VmRSS. Launch mode, attach mode, and --no-heap.
. "$(dirname "$0")/lib.sh"
# A skip under CI is a failure: the CI machine is meant to run this.
skip() {
	[ "${CI:-}" = true ] && fail "would skip under CI=true: $*"
	echo "skip: $*"
	exit 77
}
need_bpf
snap_progs
[ -x "$WL/wl_vm" ] || fail "$WL/wl_vm not built"
command -v python3 >/dev/null || skip "python3 not installed"
# The checker (also used by t41-vm-efficiency.sh, which extracts it from here).
CHECK="$TMP/check.py"
cat >"$CHECK" <<'PYEOF'
"""Checks the "memory" object of a memtrace JSON report against wl_vm's
arguments (the expectations come from the same numbers the workload got).

  check.py exact JSON NA SIZE_A NB SIZE_B TOUCH UNMAP BRK MADV
  check.py rss JSON VMRSS_KB          (within 1%)
  check.py efficiency JSON below|above LIMIT
"""
import json
import sys

PAGE = 4096


def memory(path):
    with open(path) as f:
        doc = json.load(f)
    if "memory" not in doc or not isinstance(doc["memory"], dict):
        sys.exit("FAIL: no \"memory\" object in %s" % path)
    return doc["memory"]


def funcs(entry):
    return [fr.get("func") for fr in (entry.get("stack") or []) if fr]


def one(mem, kind, func):
    found = [m for m in mem["mappings"] if m["kind"] == kind and func in funcs(m)]
    if len(found) != 1:
        sys.exit("FAIL: %d %s origins with %s on the stack, 1 expected: %s" %
                 (len(found), kind, func, [funcs(m) for m in mem["mappings"]]))
    return found[0]


def expect(errors, what, got, want):
    if got != want:
        errors.append("%s: got %s, expected %s" % (what, got, want))


def exact(mem, na, sa, nb, sb, touch, unmap, brk, madv):
    errors = []
    for key in ("rss_bytes", "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes",
                "heap_resident_bytes", "mapped_bytes", "unmapped_bytes", "released_bytes",
                "brk_growth_bytes", "page_faults", "efficiency", "fragmentation",
                "mappings", "timeline"):
        if key not in mem:
            errors.append("missing key %s" % key)
    if errors:
        sys.exit("FAIL: " + "; ".join(errors))
    a = one(mem, "mmap", "wl_vm_map_a")
    b = one(mem, "mmap", "wl_vm_map_b")
    k = one(mem, "brk", "wl_vm_grow_brk")
    expect(errors, "A mmaps", a["mmaps"], na)
    expect(errors, "A bytes_mapped", a["bytes_mapped"], na * sa)
    expect(errors, "A munmaps", a["munmaps"], unmap)
    expect(errors, "A bytes_unmapped", a["bytes_unmapped"], unmap * sa)
    expect(errors, "A bytes_released", a["bytes_released"], 0)
    expect(errors, "A page_faults", a["page_faults"], na * touch)
    expect(errors, "A bytes_faulted", a["bytes_faulted"], na * touch * PAGE)
    expect(errors, "B mmaps", b["mmaps"], nb)
    expect(errors, "B bytes_mapped", b["bytes_mapped"], nb * sb)
    expect(errors, "B munmaps", b["munmaps"], 0)
    expect(errors, "B bytes_released", b["bytes_released"], madv * PAGE)
    expect(errors, "B page_faults", b["page_faults"], nb * touch)
    expect(errors, "brk bytes_mapped", k["bytes_mapped"], brk)
    expect(errors, "brk page_faults", k["page_faults"], brk // PAGE)
    # Totals include the loader's and malloc's own calls: at least ours.
    if mem["mapped_bytes"] < na * sa + nb * sb:
        errors.append("mapped_bytes %d < %d" % (mem["mapped_bytes"], na * sa + nb * sb))
    if mem["unmapped_bytes"] < unmap * sa:
        errors.append("unmapped_bytes %d < %d" % (mem["unmapped_bytes"], unmap * sa))
    if mem["released_bytes"] < madv * PAGE:
        errors.append("released_bytes %d < %d" % (mem["released_bytes"], madv * PAGE))
    if mem["brk_growth_bytes"] < brk:
        errors.append("brk_growth_bytes %d < %d" % (mem["brk_growth_bytes"], brk))
    if mem["page_faults"] < (na + nb) * touch + brk // PAGE:
        errors.append("page_faults %d too low" % mem["page_faults"])
    if not mem["timeline"]:
        errors.append("empty timeline")
    for p in mem["timeline"]:
        for key in ("t_s", "rss_anon_bytes", "rss_file_bytes", "live_bytes", "page_faults"):
            if key not in p:
                errors.append("timeline point without %s" % key)
                break
    for m in mem["mappings"]:
        for fr in m.get("stack") or []:
            if not str(fr.get("addr", "")).startswith("0x"):
                errors.append("frame without a hex addr: %s" % fr)
                break
    if errors:
        sys.exit("FAIL: " + "; ".join(errors))
    print("ok: A %d maps/%d faults, B %d maps/%d faults, brk %d bytes, %d released" %
          (a["mmaps"], a["page_faults"], b["mmaps"], b["page_faults"], k["bytes_mapped"],
           b["bytes_released"]))


def rss(mem, vmrss_kb):
    want = vmrss_kb * 1024
    got = mem["rss_bytes"]
    if abs(got - want) > want * 0.01:
        sys.exit("FAIL: rss_bytes %d vs VmRSS %d: off by %.2f%%" %
                 (got, want, 100.0 * abs(got - want) / want))
    print("ok: rss_bytes %d, VmRSS %d (%.3f%%)" % (got, want, 100.0 * abs(got - want) / want))


def efficiency(mem, how, limit):
    e = mem.get("efficiency")
    if e is None:
        sys.exit("FAIL: efficiency is null (heap_live %s, heap_resident %s)" %
                 (mem.get("heap_live_bytes"), mem.get("heap_resident_bytes")))
    if (how == "below" and not e < limit) or (how == "above" and not e > limit):
        sys.exit("FAIL: efficiency %.3f not %s %.2f (live %s, resident %s)" %
                 (e, how, limit, mem.get("heap_live_bytes"), mem.get("heap_resident_bytes")))
    print("ok: efficiency %.3f %s %.2f, fragmentation %.3f" % (e, how, limit,
                                                            mem["fragmentation"]))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, mem = sys.argv[1], memory(sys.argv[2])
    if mode == "exact" and len(sys.argv) == 11:
        exact(mem, *[int(x, 0) for x in sys.argv[3:]])
    elif mode == "rss" and len(sys.argv) == 4:
        rss(mem, int(sys.argv[3]))
    elif mode == "efficiency" and len(sys.argv) == 5:
        efficiency(mem, sys.argv[3], float(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
PYEOF

# NA SIZE_A NB SIZE_B TOUCH UNMAP BRK MADV: primes where free to choose;
# ~100 MiB resident so 1% leaves room for what exit() itself faults in.
args=(23 4194304 7 4194304 997 5 45056 3)

vmrss_of() { sed -n 's/.*VmRSS_kB=\([0-9]*\).*/\1/p' "$1" | tail -1; }

# 1. Launch mode: the child is traced from its first instruction.
"$MT" --json "$TMP/launch.json" -- "$WL/wl_vm" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "launch: memtrace exited $?: $(cat "$TMP/err")"
python3 "$CHECK" exact "$TMP/launch.json" "${args[@]}" || fail "launch: counts"
kb=$(vmrss_of "$TMP/err")
[ -n "$kb" ] || fail "launch: no VmRSS line from wl_vm: $(cat "$TMP/err")"
python3 "$CHECK" rss "$TMP/launch.json" "$kb" || fail "launch: rss"
grep -q "Memory, kernel view" "$TMP/out" || fail "launch: no memory section in the text report"

# 2. --no-heap: the memory view alone, same exact counts.
"$MT" --no-heap --json "$TMP/noheap.json" -- "$WL/wl_vm" "${args[@]}" >"$TMP/out" 2>"$TMP/err" ||
	fail "--no-heap: memtrace exited $?: $(cat "$TMP/err")"
python3 "$CHECK" exact "$TMP/noheap.json" "${args[@]}" || fail "--no-heap: counts"
python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); sys.exit(r["heap_traced"] is not False or r["totals"]["allocs"] != 0)' \
	"$TMP/noheap.json" || fail "--no-heap: the report claims heap figures"
grep -q "^allocs " "$TMP/out" && fail "--no-heap: the text report shows heap totals"

# 3. Attach mode: wl_vm waits 3 s for the tracer, works, then holds so the
#    snapshot at -d and our own VmRSS read see the same idle process.
"$WL/wl_vm" --delay 3 --hold 10 "${args[@]}" 2>"$TMP/wl.err" &
pid=$!
CLEANUP_PIDS+=("$pid")
"$MT" -p "$pid" -d 7 --json "$TMP/attach.json" >"$TMP/out" 2>"$TMP/err" ||
	fail "attach: memtrace exited $?: $(cat "$TMP/err")"
kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
[ -n "$kb" ] || fail "attach: wl_vm exited before the snapshot"
grep -q "done" "$TMP/wl.err" || fail "attach: wl_vm did not finish within -d: $(cat "$TMP/wl.err")"
python3 "$CHECK" exact "$TMP/attach.json" "${args[@]}" || fail "attach: counts"
python3 "$CHECK" rss "$TMP/attach.json" "$kb" || fail "attach: rss"
kill "$pid" 2>/dev/null

no_memtrace_progs || fail "memory-view BPF programs outlived memtrace"
echo "pass"
