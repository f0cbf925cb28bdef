/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The event reader: drains the heap ring buffer, resolves each allocation's
 * stack id into frames (once per distinct stack), and hands every record to
 * the exactness rules. It is the only code that reads BPF maps' contents.
 */
#ifndef MT_EVENTS_H
#define MT_EVENTS_H

#include <stdint.h>
#include "mt_agg.h"
#include "mt_report.h"

struct mt_events;

int mt_events_new(int ringbuf_fd, int stacks_fd, int counters_fd, struct mt_agg *agg,
		  struct mt_events **out);
/* Sampling mode (mean_bytes > 0): weight allocations in the aggregator and
 * take calls per entry point from calls_fd (mt_heap_calls_fd). Before the
 * first event; 0 or -errno. */
int mt_events_set_sampling(struct mt_events *e, int calls_fd, uint64_t mean_bytes);
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
