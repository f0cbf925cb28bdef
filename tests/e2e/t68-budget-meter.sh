#!/usr/bin/env bash
# The budget measures what the probes cost the target, not only what its
# trap model says (issue 12): a busy redis-server (I/O threads, clients
# looping SET/GET/INCR on prefilled keys) attached with the defaults. Its
# read/write pace before the attach (what memtrace read in /proc/PID/io)
# agrees with the pace this test reads itself; while armed it is slower
# than while off; and the windows memtrace chose keep that measured loss
# within the budget: (arm + window + tail + disarm) / period x loss <= 5%.
# No speed is asserted: the figures are the report's own, checked against
# each other and against /proc.
. "$(dirname "$0")/lib.sh"
need_bpf
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
	skip "redis-server and redis-benchmark not installed (tools/install-deps.sh installs them)"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --io-threads 2 \
	--io-threads-do-reads yes --dir "$TMP" --daemonize no --protected-mode no >"$TMP/srv.out" 2>&1 &
srv=$!
CLEANUP_PIDS+=("$srv")
for _ in $(seq 100); do
	# (redis-benchmark -n 1 spins forever: a PING of our own)
	python3 -c 'import socket, sys; c = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1); c.sendall(b"PING\r\n"); sys.exit(c.recv(16) != b"+PONG\r\n")' "$port" 2>/dev/null && break
	sleep 0.1
done
redis-benchmark -h 127.0.0.1 -p "$port" -r 10000 -n 80000 -c 20 -t set,incr -q >/dev/null 2>&1 ||
	fail "redis-server did not take the prefill"
for t in set get incr; do
	redis-benchmark -h 127.0.0.1 -p "$port" -r 10000 -n 100000 -c 4 -l -t "$t" -q >/dev/null 2>&1 &
	CLEANUP_PIDS+=($!)
done
sleep 1
# the pace as this test sees it, just before memtrace's own look
io() { awk '/^sys(cr|cw):/ { n += $2 } END { print n }' "/proc/$srv/io"; }
o0=$(io); t0=$(date +%s.%N)
sleep 1
o1=$(io); t1=$(date +%s.%N)
"$MT" -p "$srv" -d 8 --json "$TMP/r.json" >"$TMP/r.txt" 2>"$TMP/r.err" ||
	fail "memtrace exited $?: $(cat "$TMP/r.err")"
alive "$srv" || fail "redis-server died with memtrace"
grep -q 'budget: .*of its read/write pace lost while traced.*armed' "$TMP/r.err" ||
	fail "the line on attach does not say the measured loss: $(cat "$TMP/r.err")"
grep -q '^  throughput (read/write calls/s): .* lost while armed' "$TMP/r.txt" "$TMP/r.err" ||
	fail "the text report has no throughput line: $(sed -n '/^budget/,$p' "$TMP/r.txt")"
python3 - "$TMP/r.json" "$(python3 -c "print(($o1 - $o0) / ($t1 - $t0))")" <<'PY' || fail "the measured loss and the windows"
import json, sys
b = json.load(open(sys.argv[1]))["budget"]
mine = float(sys.argv[2])
tp = b["throughput"]
print("mode", b["mode"], "duty", round(b["duty_cycle"], 4), "windows", b["windows"],
      "window/tail/period ms", round(b["window_ms"], 1), round(b["tail_ms"], 1), round(b["period_ms"]),
      "arm/disarm ms", round(b["arm_ms"]["mean"], 1), round(b["disarm_ms"]["mean"], 1))
print("read/write calls/s: this test", round(mine), "memtrace before", tp["before_per_s"], "armed",
      tp["armed_per_s"], "off", tp["off_per_s"], "lost while armed", tp["slowdown_armed"],
      "trap model x", tp["trap_cost_factor"], "estimated cost %", round(b["estimated_cost_pct"], 2))
bad = []
if b["mode"] != "budgeted":
    bad.append("a busy redis-server is not budgeted: %s" % b["mode"])
for k in ("before_per_s", "armed_per_s", "off_per_s", "slowdown_armed"):
    if tp.get(k) is None:
        bad.append("throughput.%s not measured" % k)
if not bad:
    if not 0.5 <= tp["before_per_s"] / mine <= 2:
        bad.append("memtrace's pace before the attach %.0f/s, this test's %.0f/s" % (tp["before_per_s"], mine))
    if not 0.5 <= tp["off_per_s"] / tp["before_per_s"] <= 2:
        bad.append("off between windows %.0f/s against %.0f/s before: not the untraced pace" %
                   (tp["off_per_s"], tp["before_per_s"]))
    if not tp["armed_per_s"] < tp["off_per_s"]:
        bad.append("no slower while armed: %s" % tp)
    f = tp["slowdown_armed"]
    if not 0.1 <= f <= 1 or abs(f - (1 - tp["armed_per_s"] / tp["off_per_s"])) > 1e-6:
        bad.append("slowdown %s does not follow the rates" % f)
    armed = b["arm_ms"]["mean"] + b["window_ms"] + b["tail_ms"] + b["disarm_ms"]["mean"]
    # the plan aims at 80% of the budget with the means it had then
    if armed / b["period_ms"] * f > b["max_overhead_pct"] / 100 * 1.25:
        bad.append("the windows (%.1f ms armed every %.0f ms) at %.0f%% lost exceed the %s%% budget" %
                   (armed, b["period_ms"], f * 100, b["max_overhead_pct"]))
    if b["estimated_cost_pct"] < f * armed / b["period_ms"] * 100 * 0.5:
        bad.append("estimated cost %.2f%% below the measured loss over the armed time" % b["estimated_cost_pct"])
    if tp["trap_cost_factor"] < 1:
        bad.append("trap cost factor %s" % tp["trap_cost_factor"])
for m in bad:
    print("FAIL:", m)
sys.exit(1 if bad else 0)
PY
echo pass
