/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The event reader: drains the heap ring buffer, resolves each allocation's
 * stack id into frames (once per distinct stack), and hands every record to
 * the exactness rules. It is the only code that reads the heap tracer's
 * BPF maps (the memory view reads its own, in vm/mt_vm_read.c).
 */
#ifndef MT_EVENTS_H
#define MT_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include "collect/mt_agg.h"

struct mt_events;

/* Kernel-side drop counters, summed over CPUs. */
struct mt_drops {
	uint64_t ringbuf_full;  /* events lost: already counted in lost_events */
	uint64_t stack_fail;    /* events kept with the call site only */
	uint64_t state_full;    /* calls lost: no per-thread slot */
	uint64_t free_unsampled; /* sampling: frees of unsampled addresses */
	uint64_t sampled_full;   /* sampling: sampled blocks the BPF map could not
	                          * hold (their frees go unseen) */
	uint64_t children;       /* attach mode: processes the target created */
	uint64_t exec_lost;      /* attach mode: execs not followed (ring full) */
};

/* A reader of the heap tracer's maps (mt_heap's fds) into agg. 0 or
 * -errno. Without a ring buffer (ringbuf_fd < 0) records come only through
 * mt_events_record; without a stack map (stacks_fd < 0) a record's site is
 * its inline stack or its call site. Unit tests use both, with no BPF. */
int mt_events_new(int ringbuf_fd, int stacks_fd, int counters_fd, struct mt_agg *agg,
		  struct mt_events **out);
/* Decode one ring-buffer record (an mt_heap_event, or an
 * mt_heap_event_stack when MT_EV_F_INLINE_STACK is set): resolve its site,
 * apply the exactness rules. Records shorter than an event are skipped.
 * 0, or -ENOMEM (also kept for mt_events_consume to report). */
int mt_events_record(struct mt_events *e, const void *data, size_t len);
/* Sampling mode (mean_bytes > 0): weight allocations in the aggregator and
 * take calls per entry point from calls_fd (mt_heap_calls_fd). Before the
 * first event; 0 or -errno. */
int mt_events_set_sampling(struct mt_events *e, int calls_fd, uint64_t mean_bytes);
/* Several processes or images (exec, -f): route gives the aggregator of
 * an event's tgid and a small slot number naming that aggregator (stack
 * caches are kept per slot); NULL drops the event, counted in
 * mt_events_unrouted. Without a route every event goes to agg. */
typedef struct mt_agg *(*mt_events_route_fn)(void *arg, uint32_t tgid, unsigned *slot);
void mt_events_set_route(struct mt_events *e, mt_events_route_fn fn, void *arg);
/* The aggregator that receives lost events and sampling call counts
 * (after an exec: the new image's). */
void mt_events_set_agg(struct mt_events *e, struct mt_agg *agg);
uint64_t mt_events_unrouted(const struct mt_events *e);
/* Process-life records (MT_EV_F_PROC, attach mode) go to fn, in ring
 * order: every call before them has been applied, none after. */
typedef void (*mt_events_proc_fn)(void *arg, unsigned kind, uint32_t tgid, uint64_t arg0);
void mt_events_set_proc(struct mt_events *e, mt_events_proc_fn fn, void *arg);

/* An fd that polls readable when records wait (the ring's epoll fd). */
int mt_events_poll_fd(const struct mt_events *e);
/* Consume everything available now, then pick up kernel-side losses (so
 * the sites they may touch are marked uncertain). Returns records consumed
 * or -errno. */
int mt_events_consume(struct mt_events *e);
/* Kernel-side drop counters summed over CPUs; lost events are also
 * propagated into the aggregator's totals by this call, and in sampling
 * mode the exact calls per entry point. */
int mt_events_drops(struct mt_events *e, struct mt_drops *d);
void mt_events_free(struct mt_events *e);

#endif /* MT_EVENTS_H */
