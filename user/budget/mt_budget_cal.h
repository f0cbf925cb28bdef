/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * What one uprobe hit costs on this machine, measured on memtrace itself
 * at start: a function of memtrace's own text is called N times bare, with
 * an entry uprobe and with an entry and a return probe (uprobe_multi links
 * for memtrace's own PID, running a two-instruction BPF program). The
 * differences are the trap costs. 5 rounds of 1000 calls of each, the lowest round
 * kept: tens of milliseconds where a hit costs 5 us, a few on bare metal.
 * The figure is a floor for a traced call: the heap programs' own work
 * (stack walk, ring buffer) comes on top (mt_budget measures that on the
 * target, see bpf_stats).
 */
#ifndef MT_BUDGET_CAL_H
#define MT_BUDGET_CAL_H

#include <stdint.h>

struct mt_budget_cal {
	double entry_ns;    /* one entry uprobe hit (an emulated push) */
	double ret_ns;      /* one uretprobe hit on top */
	double arm_ms;      /* create one uprobe_multi link (memtrace's own file) */
	double disarm_ms;   /* destroy it */
	double took_ms;     /* the whole self-test */
};

/* 0 or -errno (a message printed). */
int mt_budget_calibrate(struct mt_budget_cal *c);

#endif /* MT_BUDGET_CAL_H */
