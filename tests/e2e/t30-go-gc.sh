#!/usr/bin/env bash
# Go: GC cycles, pauses and MemStats of an unmodified Go program
# (tests/e2e/go/gcprog.go), checked against its own runtime.ReadMemStats.
# The program parks (blocked opening a fifo, nothing in it allocating)
# while memtrace reads its memory at detach, then reads MemStats itself:
# both readings must be equal field by field. The probes must count every
# cycle of its GC phase, each pause told from its ReadMemStats stop of the
# world; past 256 cycles only the last 256 are listed, the totals exact. Then launch mode, and binaries built without DWARF (-w) and
# without symbols (-s -w): their cycles are still all counted (the probes
# placed from .gopclntab without symbols), and each says what is
# unavailable.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v go >/dev/null || skip "go not installed (tools/install-deps.sh installs golang-go)"
snap_progs
. "$E2E/go/lib_go.sh"
go_build go gcprog "" || fail "cannot build gcprog.go"
go_build go gcprog_w "-w" || fail "cannot build gcprog.go with -w"
go_build go gcprog_sw "-s -w" || fail "cannot build gcprog.go with -s -w"

go_attach gcprog gcprog
no_memtrace_progs || fail "memtrace BPF programs remain after exit"
python3 "$E2E/go_gc_check.py" attach "$TMP/gcprog.json" "$TMP/gcprog.out" || fail "attach: $(cat "$TMP/gcprog.txt")"
grep -q "GC cycles traced" "$TMP/gcprog.txt" || fail "no GC line in the text report: $(cat "$TMP/gcprog.txt")"
grep -q "MemStats: HeapAlloc" "$TMP/gcprog.txt" || fail "no MemStats in the text report"
# The GOGC what-if: a larger GOGC leaves more room between cycles, so
# fewer cycles per second, never more.
python3 - "$TMP/gcprog.txt" <<'PY' || fail "GOGC what-if: $(grep -A1 'what if' "$TMP/gcprog.txt")"
import re, sys
line = [l for l in open(sys.argv[1]) if "what if" in l]
vals = [(int(g), float(c)) for g, c in re.findall(r"(\d+): ([0-9.]+)", line[0].split("GOGC", 1)[1])] if line else []
sys.exit(0 if len(vals) == 4 and all(a[1] > b[1] for a, b in zip(vals, vals[1:])) and vals[0][1] > 0 else 1)
PY

# Many cycles (600 runtime.GC() calls, allocating nothing, and
# FreeOSMemory's): the last 256 are listed, as many as the runtime's own
# ring; the totals still count every one (NumGC, PauseTotalNs).
GCPROG_ARGS="600 0" go_attach gcprog many
python3 "$E2E/go_gc_check.py" attach "$TMP/many.json" "$TMP/many.out" || fail "600 cycles"
python3 - "$TMP/many.json" <<'PY' || fail "600 cycles: the pauses listed are not bounded"
import json, sys
gc = json.load(open(sys.argv[1]))["go"]["gc"]
assert gc["cycles"] > 600 and len(gc["pauses"]) == 256, (gc["cycles"], len(gc["pauses"]))
PY

# Another GOGC, and a memory limit low enough to set the heap goal: the
# goal is then the memory limit's, which NextGC must follow.
go_attach gcprog limit GOGC=400 GOMEMLIMIT=9MiB
python3 "$E2E/go_gc_check.py" attach "$TMP/limit.json" "$TMP/limit.out" || fail "GOGC=400 GOMEMLIMIT=9MiB"

# Launch mode: traced from the first instruction, read at the exit stop.
rm -f "$TMP/go1" "$TMP/go2"
mkfifo "$TMP/go1" "$TMP/go2"
"$MT" --no-vm --json "$TMP/launch.json" -o "$TMP/launch.txt" -- "$TMP/gcprog" "$TMP/go1" "$TMP/go2" 4 \
	>"$TMP/launch.out" 2>"$TMP/launch.err" &
mt=$!
CLEANUP_PIDS+=("$mt")
wait_for "$TMP/launch.out" '^ready' || fail "launched gcprog did not start: $(cat "$TMP/launch.err")"
: >"$TMP/go1"   # the open alone releases it
wait_for "$TMP/launch.out" '^parked' || fail "launched gcprog did not finish its GC phase"
: >"$TMP/go2"   # the open alone releases it
wait "$mt" || fail "memtrace -- gcprog exited $?: $(cat "$TMP/launch.err")"
python3 "$E2E/go_gc_check.py" launch "$TMP/launch.json" "$TMP/launch.out" || fail "launch mode"

# Without DWARF: cycles and pauses, MemStats unavailable, said once.
go_attach gcprog_w gcprog_w
grep -q "Go MemStats unavailable: .* has no DWARF" "$TMP/gcprog_w.err" ||
	fail "-w: no reason for the missing MemStats: $(cat "$TMP/gcprog_w.err")"
python3 "$E2E/go_gc_check.py" nodwarf "$TMP/gcprog_w.json" "$TMP/gcprog_w.out" || fail "-ldflags=-w"

# -s (Go's linker drops DWARF with the symbol table): the GC probes are
# placed from .gopclntab, so every cycle is still counted (equal to the
# program's own NumGC rise); MemStats need DWARF: said once, absent.
go_attach gcprog_sw gcprog_sw
python3 "$E2E/go_gc_check.py" nodwarf "$TMP/gcprog_sw.json" "$TMP/gcprog_sw.out" || fail "-ldflags=-s -w"
grep -q "Go MemStats unavailable: .* has no DWARF" "$TMP/gcprog_sw.err" &&
	grep -q "Go GC: .* has no symbol table: GC probes placed from .gopclntab; no DWARF either" "$TMP/gcprog_sw.err" ||
	fail "-s -w: what is traced and what is not is not said: $(cat "$TMP/gcprog_sw.err")"
python3 - "$TMP/gcprog_sw.json" <<'PY' || fail "-s -w: no version or heap section"
import json, sys
# the heap part (names from .gopclntab) stays too
go = json.load(open(sys.argv[1])).get("go") or {}
sys.exit(0 if "version" in go and go.get("heap_traced") else 1)
PY
no_memtrace_progs || fail "memtrace BPF programs remain after exit"
