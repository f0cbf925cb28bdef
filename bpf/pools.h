/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records shared by bpf/pools.bpf.c and user/pools/: what a pool library's
 * USDT probes report (docs/pools.md). The probes are named by role; which
 * provider and probe names fill a role is user/pools/mt_pools_prov.c's
 * table, so the BPF side knows no library.
 *
 * Default mode: create, destroy and debug_error become records. miss,
 * refill and flush add to per-pool counters in a hash map (no record), for
 * a provider whose pools do not count them in memory (libmtpool does: its
 * reader gets them without a trap). --pool-events also records every get
 * (with its stack) and put. Fixed-width fields, sizes asserted. Includes nothing.
 */
#ifndef MT_BPF_POOLS_H
#define MT_BPF_POOLS_H

enum mt_pool_role {
	MT_POOL_CREATE = 1,  /* (pool, kind string, name string, object size, layout) */
	MT_POOL_DESTROY,     /* (pool, struct mt_pool_stats *): the last counters */
	MT_POOL_DEBUG_ERROR, /* (message string, pool name string, address) */
	MT_POOL_GET,         /* (pool, object), --pool-events only */
	MT_POOL_PUT,         /* (pool, object), --pool-events only */
};

#define MT_POOL_STR 48       /* names, kinds and messages, NUL included */
#define MT_POOL_STACK 32     /* user frames of a get or an error */

/* A pool's counters as the library computes them (struct mtpool_stats),
 * then the batches moved between its thread caches and its shared cache. */
struct mt_pool_stats {
	__u64 gets, puts, hits, misses, live, cached, bytes_reserved, budget_denied;
	__u64 refills, flushes;
};

struct mt_pool_event {
	__u32 role;          /* enum mt_pool_role */
	__u32 tid;
	__u64 ts_ns;
	__u64 pool;          /* the pool's address in the target */
	__u64 obj;           /* object (get, put), size (create), address (error) */
	__u64 layout;        /* create: address of the library's layout record */
	__u32 nframes;       /* frames[] used (get, debug_error) */
	__u32 provider;      /* the attach's USDT cookie: index in the provider table */
	/* The word at the stack pointer: at a probe in a function that has
	 * not set up its frame (shrink-wrapped fast paths), the caller's
	 * return address, which the frame-pointer walk skips. */
	__u64 sp0;
	struct mt_pool_stats st;     /* destroy */
	char name[MT_POOL_STR];      /* create: pool name; error: pool name */
	char what[MT_POOL_STR];      /* create: kind; error: message */
	__u64 frames[MT_POOL_STACK]; /* innermost first */
};
_Static_assert(sizeof(struct mt_pool_stats) == 80, "mt_pool_stats layout");
_Static_assert(sizeof(struct mt_pool_event) == 56 + 80 + 2 * MT_POOL_STR + 8 * MT_POOL_STACK,
	       "mt_pool_event layout");

/* Slow-path counters per pool address (hash map value). */
struct mt_pool_slow {
	__u64 misses, refills, refill_objs, flushes, flush_objs;
};
_Static_assert(sizeof(struct mt_pool_slow) == 40, "mt_pool_slow layout");

/* Per-CPU counters (array of __u64). */
enum mt_pool_counter {
	MT_POOL_C_LOST = 0,   /* records the ring buffer had no room for */
	MT_POOL_C_NOSLOW,     /* slow-path counts lost: the pool map was full */
	MT_POOL_C_N,
};

#endif /* MT_BPF_POOLS_H */
