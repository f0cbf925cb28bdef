/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The aggregator: plain C, no BPF. It consumes allocation and free
 * operations (already interpreted by mt_rules) and keeps
 *   - the live-object table, keyed by address, O(1) per operation;
 *   - per-site statistics, a site being one distinct call stack;
 *   - totals, calls per entry point, and interval/run rates.
 * Analyses and reporters read it through the accessors below and never
 * change it. Not thread-safe: one consumer thread feeds it.
 *
 * Memory: 16 bytes per live-table slot, the table kept between 58% and
 * 87.5% full: 18.3..27.4 bytes per live object, 2.5x that for the moment a
 * growth holds both tables. Objects of 256 MiB or more (or past 2^48, or
 * of site ids past 2^20 - 2) take 24 bytes in a side table. Each site costs
 * ~350 bytes (~400 when sampling).
 *
 * Sampling (mt_agg_set_sampling): every operation is a sampled object of
 * weight 1 / (1 - exp(-size / mean)) (mt_agg_weight); counts, bytes, live
 * and leak figures are the weighted sums (estimates, rounded), and
 * observers and the live iterator see the sampled objects themselves.
 */
#ifndef MT_AGG_H
#define MT_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MT_AGG_MAX_EPS 16
#define MT_AGG_MAX_FRAMES 128  /* MT_STACK_MAX (bpf/unwind.h) + a call site */
#define MT_SITE_NONE UINT32_MAX

struct mt_agg;

struct mt_counts {
	uint64_t allocs;
	uint64_t frees;            /* frees of tracked blocks */
	uint64_t alloc_bytes;      /* requested bytes */
	uint64_t free_bytes;
	uint64_t live_objects;
	uint64_t live_bytes;
	uint64_t peak_live_bytes;
};

struct mt_totals {
	struct mt_counts c;
	uint64_t untracked_frees;  /* free of an address never seen allocated */
	uint64_t failed_allocs;    /* allocation calls that returned no memory */
	uint64_t lost_events;      /* events the kernel side could not deliver */
	uint64_t stale_replaced;   /* allocs at a live address: the free was lost;
	                            * the stale block counts as freed (in c.frees) */
	uint64_t calls[MT_AGG_MAX_EPS];
	/* Calls the allocator made of itself (glibc's thread teardown freeing
	 * its cache): not the program's, so not in calls[] nor in
	 * untracked_frees; an internal free of a tracked block still releases it. */
	uint64_t internal_calls[MT_AGG_MAX_EPS];
	/* Live objects handed to their owner (mt_agg_claim): a pool's idle
	 * objects at the end, the pool's memory, not the program's. */
	uint64_t claimed_objects, claimed_bytes;
};

struct mt_site {
	uint32_t nframes;
	uint8_t end;               /* how the walk ended: enum mt_stack_end of
	                            * bpf/unwind.h, 0 when not walked */
	uint64_t *frames;          /* return addresses, innermost first; owned */
	struct mt_counts c;
	bool uncertain;            /* had live objects when events were lost: a
	                            * lost free may leave its live counts high */
};

/* Live objects of one site at least min_age old, for leak reports. */
struct mt_leak {
	uint32_t site;
	uint64_t objects;
	uint64_t bytes;
	uint64_t oldest_ts_ns;
};

/* Rates over [from_ns, to_ns]. */
struct mt_rates {
	double seconds;
	double allocs_per_s;
	double bytes_per_s;
	double frees_per_s;
};

/*
 * Observers: analyses that need every operation (lifetimes, temporaries,
 * size classes, trends) subscribe here instead of changing the table. They
 * run synchronously inside mt_agg_alloc/mt_agg_release, so they must be
 * cheap (O(1), no I/O). tid is the thread of the current event, set by
 * mt_agg_set_tid (0 when unknown). A stale replacement reports a release
 * of the old block before the new allocation.
 */
struct mt_agg_observer {
	void (*on_alloc)(void *arg, uint64_t ts_ns, uint32_t tid, uint32_t site,
			 uint64_t addr, uint64_t size);
	void (*on_release)(void *arg, uint64_t ts_ns, uint32_t tid, uint32_t site,
			   uint64_t addr, uint64_t size, uint64_t alloc_ts_ns);
	void *arg;
};
#define MT_AGG_MAX_OBSERVERS 8

/* start_ns: the clock (CLOCK_MONOTONIC, as bpf_ktime_get_ns) at attach. */
struct mt_agg *mt_agg_new(uint64_t start_ns);
void mt_agg_free(struct mt_agg *a);          /* accepts NULL */

/* Intern a stack; the same frames always give the same id.
 * Returns MT_SITE_NONE when out of memory. */
uint32_t mt_agg_site(struct mt_agg *a, const uint64_t *frames, uint32_t nframes);
/* The same with how the walk ended: a cut stack is another site than the
 * whole stack with the same frames. */
uint32_t mt_agg_site_end(struct mt_agg *a, const uint64_t *frames, uint32_t nframes, uint8_t end);

/* Operations, in event order. ep indexes calls[] (< MT_AGG_MAX_EPS).
 * mt_agg_alloc of an address already live replaces the stale entry (its free
 * was lost) and returns 1; otherwise 0; -ENOMEM when the table cannot grow;
 * -EINVAL for addr 0 or a site that is neither interned nor MT_SITE_NONE.
 * mt_agg_release returns 1 when addr was tracked, 0 when it was untracked. */
int mt_agg_alloc(struct mt_agg *a, uint64_t ts_ns, uint64_t addr, uint64_t size, uint32_t site);
int mt_agg_release(struct mt_agg *a, uint64_t ts_ns, uint64_t addr);
/* The allocator's own free: releases addr when tracked, and is never an
 * untracked free. Returns as mt_agg_release. */
int mt_agg_release_internal(struct mt_agg *a, uint64_t ts_ns, uint64_t addr);
/* A live object belongs to someone who reports it (a pool holding it idle
 * for reuse): it leaves the live table, its site's and the totals' live
 * counts (not counted as freed: it was not) and joins claimed_*. Returns 1
 * (its size in *size when size is not NULL), 0 when addr is not live, or
 * -EOPNOTSUPP when sampling. */
int mt_agg_claim(struct mt_agg *a, uint64_t addr, uint64_t *size);
void mt_agg_call(struct mt_agg *a, unsigned ep);
void mt_agg_internal_call(struct mt_agg *a, unsigned ep);
void mt_agg_failed(struct mt_agg *a);
/* n events were lost: counted, and every site with live objects now is
 * marked uncertain. Call it after the events before the loss are applied. */
void mt_agg_lost(struct mt_agg *a, uint64_t n);
/* Sampling mode: calls are counted elsewhere (BPF); set ep's count. */
void mt_agg_set_calls(struct mt_agg *a, unsigned ep, uint64_t n);
void mt_agg_set_internal_calls(struct mt_agg *a, unsigned ep, uint64_t n);

/* Sampling: allocations are samples of mean mean_bytes (0: exact, the
 * default). Before the first operation: 0, -EBUSY after, -ENOMEM. */
int mt_agg_set_sampling(struct mt_agg *a, uint64_t mean_bytes);
uint64_t mt_agg_sampling(const struct mt_agg *a);
/* Estimated objects one sampled object of size bytes stands for; 1 when
 * exact. Analyses scale what they see from observers by it. */
double mt_agg_weight(const struct mt_agg *a, uint64_t size);

/* Subscribe o (copied); 0 or -ENOSPC. */
int mt_agg_add_observer(struct mt_agg *a, const struct mt_agg_observer *o);
/* The thread of the operations that follow (observers see it). */
void mt_agg_set_tid(struct mt_agg *a, uint32_t tid);

/* Read side. */
const struct mt_totals *mt_agg_totals(const struct mt_agg *a);
uint32_t mt_agg_nsites(const struct mt_agg *a);
const struct mt_site *mt_agg_site_get(const struct mt_agg *a, uint32_t site);
uint64_t mt_agg_start_ns(const struct mt_agg *a);

/* Rates since the previous mt_agg_interval() call (or the start), then
 * starts a new interval at now_ns. */
void mt_agg_interval(struct mt_agg *a, uint64_t now_ns, struct mt_rates *interval);
void mt_agg_run_rates(const struct mt_agg *a, uint64_t now_ns, struct mt_rates *run);

/* Call fn for every live object, in table order; stops early and returns
 * fn's value when it is non-zero. alloc_ts_ns has millisecond resolution.
 * fn must not change the aggregator. */
typedef int (*mt_agg_live_fn)(void *arg, uint64_t addr, uint64_t size, uint32_t site,
			      uint64_t alloc_ts_ns);
int mt_agg_live_foreach(const struct mt_agg *a, mt_agg_live_fn fn, void *arg);

/* Live objects allocated at or before now_ns - min_age_ns, grouped by site,
 * largest bytes first. *out is malloc'd (caller frees); returns the count or
 * -ENOMEM. One pass over the live table: O(live objects).
 * Allocation times are kept in whole milliseconds since start, rounded up,
 * so an object allocated less than 1 ms before the cut-off may be left out
 * (never one that is too young); min_age_ns == 0 takes every live object.
 * Objects of site MT_SITE_NONE (interning failed) form one group with
 * site = MT_SITE_NONE, sorted last among equal byte counts. */
int mt_agg_leaks(const struct mt_agg *a, uint64_t now_ns, uint64_t min_age_ns, struct mt_leak **out);

/* Introspection, for tests and memory accounting. */
/* home slot = (hash * capacity) >> 64, i.e. hash >> (64 - log2(capacity))
 * while the capacity is a power of two (the initial 1024 slots). */
uint64_t mt_agg_addr_hash(uint64_t addr);
size_t mt_agg_capacity(const struct mt_agg *a);     /* live-table slots */
size_t mt_agg_mem_bytes(const struct mt_agg *a);    /* heap bytes held by a */
/* Checks the live table's invariants (every entry reachable from its home
 * slot, counts match the totals): 0 or -EUCLEAN. O(capacity). */
int mt_agg_check(const struct mt_agg *a);

#endif /* MT_AGG_H */
