/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * GC survival of a Go program's allocations, per site (issue 15 item 4):
 * Go frees nothing explicitly, so an object's lifetime is estimated by
 * whether it outlives the first GC cycle that could collect it. The
 * allocation probe samples one call in MT_GO_SAMPLE_MASK + 1 per site
 * with its object's address (bpf/go_alloc.h), in the first 2 s of every
 * 30 s from attach (the RET probes that give the address cost every call
 * a second uprobe hit while attached; under the overhead budget only
 * while the entry probe is armed, mt_go_alloc_arm); each sample's cycle is the
 * first whose mark starts after the call (an object allocated during a
 * mark is allocated black and faces the next one); once that cycle has
 * marked, the object's bit is read from the target's memory by the
 * runtime's own span lookup (mheap_.arenas -> heapArena.spans -> mspan):
 * the mark bits while the span is unswept, the allocation bits (the mark
 * bits the sweep kept) once swept; a span freed by that sweep means the
 * object died. A sample is decided only while the runtime is in that
 * cycle (or the next one has marked but not swept its span): later, the
 * slot may hold another object, so it is counted as expired instead.
 */
#ifndef MT_GO_SURV_H
#define MT_GO_SURV_H

#include <stdbool.h>
#include <stdint.h>

struct mt_go_rt;
struct mt_go_alloc;
struct mt_go_surv;

struct mt_go_surv_stats {
	uint64_t samples;      /* read from the probe */
	uint64_t decided;      /* of them, found marked or not */
	uint64_t survived;     /* of the decided, marked */
	uint64_t expired;      /* their cycle passed before they could be read */
	uint64_t not_heap;     /* an address outside the heap arenas (zero-size objects) */
	uint64_t pending;      /* waiting for their cycle at the end */
	uint64_t dropped;      /* over the pending limit, or lost in the ring buffer */
};

/* The survival estimator of rt's process, reading a's samples. 0, or
 * -ENOTSUP with *why (one phrase: no span layout, no samples). */
int mt_go_surv_open(struct mt_go_rt *rt, struct mt_go_alloc *a, struct mt_go_surv **out,
		    const char **why);
void mt_go_surv_free(struct mt_go_surv *s);   /* accepts NULL */
/* A cycle's mark began at ns (CLOCK_MONOTONIC); it will be NumGC n. */
void mt_go_surv_mark_start(struct mt_go_surv *s, uint64_t ns, uint32_t n);
/* Read new samples and decide those whose cycle has marked. */
void mt_go_surv_poll(struct mt_go_surv *s);
/* A site's tally (mt_go_val.id): false when none of its samples was decided. */
bool mt_go_surv_site(const struct mt_go_surv *s, uint32_t id, uint64_t *sampled,
		     uint64_t *survived);
void mt_go_surv_stats(const struct mt_go_surv *s, struct mt_go_surv_stats *st);

#endif /* MT_GO_SURV_H */
