/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The target's throughput, seen without a probe: the read and write
 * system calls it made (syscr + syscw of /proc/PID/io, the kernel's own
 * counters: free to read, nothing added to the target). A server does a
 * few per request, so their rate while the allocation probes are armed
 * against their rate while they are not (or before memtrace attached)
 * is what the probes cost the target, as the target pays it: the
 * self-test's trap cost (mt_budget_cal.h) misses what a trap costs a
 * particular program (redis-server with I/O threads here: ~65 us of
 * throughput a hit, self-tested 2.5 us).
 *
 * Time is credited to states by marks: mt_meter_mark(now, st) says the
 * interval since the previous mark was spent in st. A program that makes
 * few such calls (a batch job, a compute loop) gives no figure, and the
 * budget keeps its model of the trap costs.
 */
#ifndef MT_BUDGET_METER_H
#define MT_BUDGET_METER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum mt_meter_state {
	MT_METER_IGNORE,   /* arming, attaching: not compared */
	MT_METER_BEFORE,   /* before any allocation probe was attached */
	MT_METER_ARMED,    /* allocation probes armed */
	MT_METER_OFF,      /* no allocation probe */
	MT_METER_NSTATES,
};

struct mt_meter {
	pid_t pid;
	bool ok;                   /* the counters are readable */
	uint64_t at_ops, at_ns;    /* at the last mark */
	double ops[MT_METER_NSTATES], ns[MT_METER_NSTATES];
	double total_ns[MT_METER_NSTATES];   /* never halved nor reset */
};

/* Starts counting at now (a mark that credits nothing). */
void mt_meter_start(struct mt_meter *m, pid_t pid, uint64_t now_ns);
/* The interval since the last mark was spent in st. */
void mt_meter_mark(struct mt_meter *m, uint64_t now_ns, enum mt_meter_state st);
/* Forget what st was credited (a new comparison starts). */
void mt_meter_reset(struct mt_meter *m, enum mt_meter_state st);
/* Calls per second in st; -1 with too few calls or too little time. */
double mt_meter_rate(const struct mt_meter *m, enum mt_meter_state st);
/* The share of throughput lost while armed, against ref (OFF or BEFORE):
 * 1 - rate(ARMED) / rate(ref), in [0, 1] (0 within the counts' noise);
 * -1 when either rate is unknown. */
double mt_meter_slowdown(const struct mt_meter *m, enum mt_meter_state ref);

/* Measure the BEFORE rate: sleeps ms milliseconds (the target runs
 * untraced). */
void mt_meter_before(struct mt_meter *m, pid_t pid, unsigned ms);

#endif /* MT_BUDGET_METER_H */
