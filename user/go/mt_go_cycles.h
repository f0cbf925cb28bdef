/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The record of a Go target's GC cycles, bounded whatever the run's
 * length (a service collecting ten times a second ends 864,000 cycles a
 * day): the last MT_GO_CYCLES_KEEP cycles in full, as many as the
 * runtime's own PauseNs ring holds; exact aggregates over every cycle
 * (count, pause total and maximum, a log2 histogram of the pauses, the
 * runtime's pauses read); and the heap per cycle over the whole run, at
 * most MT_GO_HEAP_POINTS points, every other one dropped (the stride
 * doubled) when full.
 */
#ifndef MT_GO_CYCLES_H
#define MT_GO_CYCLES_H

#include <stddef.h>
#include <stdint.h>
#include "go/mt_go_gc.h"
#include "go/mt_go_memstats.h"

struct mt_json;

#define MT_GO_CYCLES_KEEP MT_GO_PAUSE_RING   /* the last cycles kept whole */
#define MT_GO_HEAP_POINTS 1024               /* the heap timeline's bound */
#define MT_GO_PAUSE_BUCKETS 64               /* [k]: pauses in [2^k, 2^(k+1)) ns, [0] also 0 */

/* A cycle's heap, as its mt_go_gc_cycle has it. */
struct mt_go_heap_point {
	uint32_t n;
	uint64_t end_ns, heap_start, heap_end, heap_marked, goal;
};

/* Zeroed is empty. */
struct mt_go_cycles {
	uint64_t count;                  /* cycles added, every one */
	uint64_t pause_ns, pause_max_ns; /* their pauses (both), probe to probe */
	uint64_t hist[MT_GO_PAUSE_BUCKETS];
	uint64_t rt_count, rt_pause_ns, rt_max_ns;  /* the runtime's PauseNs read */
	struct mt_go_gc_cycle ring[MT_GO_CYCLES_KEEP];  /* cycle i at [i % KEEP] */
	struct mt_go_heap_point heap[MT_GO_HEAP_POINTS];
	size_t nheap;
	unsigned heap_shift;             /* a point every 2^heap_shift cycles */
	struct mt_go_heap_point last;    /* the newest cycle's */
};

void mt_go_cycles_add(struct mt_go_cycles *cy, const struct mt_go_gc_cycle *c);
/* Cycles kept whole, and the i-th of them, oldest first. */
size_t mt_go_cycles_kept(const struct mt_go_cycles *cy);
const struct mt_go_gc_cycle *mt_go_cycles_at(const struct mt_go_cycles *cy, size_t i);
/* The runtime's own pause of each kept cycle still in its ring (numbered
 * by NumGC), read once per cycle. */
void mt_go_cycles_runtime_pauses(struct mt_go_cycles *cy, const struct mt_go_memstats *ms);
/* The members of the report's "gc" object (docs/report-format.md):
 * pause_max_ns, pause_hist, runtime_pauses, runtime_pause_total_ns,
 * runtime_pause_max_ns, pauses_omitted, pauses, heap_timeline_stride,
 * heap_timeline. */
void mt_go_cycles_json(struct mt_json *j, const struct mt_go_cycles *cy);

#endif /* MT_GO_CYCLES_H */
