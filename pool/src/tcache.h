/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-thread cache lookup shared by the object pool and the size-class
 * allocator.
 *
 * Each thread has a table of MT_TSLOTS cache pointers. A pool registers
 * once and receives a slot index; the fast-path lookup is a TLS load, the
 * pool's index and an indexed load (3 loads, no compare, no branch): the
 * slot is never stale, because unregistering a pool resets its slot in
 * every thread's table under the registry lock, before the index can go to
 * another pool.
 *
 * An empty slot points at mtpool__zero_cache, a read-only all-zero block
 * that looks like an empty, zero-capacity cache of either kind: get finds
 * count 0, put finds count >= cap 0, so both fall to the slow path without
 * a NULL test. Pools that do not register (pass-through, debug) and pools
 * beyond MT_TSLOTS - 1 use index 0, whose slot is never set. A thread that
 * never attached points at a static table of empty slots.
 *
 * The table is public ABI (mtpool_tls_caches in mtpool.h), so the inline
 * fast path in the header does the same three loads.
 */
#ifndef MTPOOL_TCACHE_H
#define MTPOOL_TCACHE_H

#include "internal.h"

#define MT_TSLOTS 128
#define MT_ZERO_CACHE_SIZE 2048

struct mt_thread {
	void *slots[MT_TSLOTS];          /* MT_RD/MT_WR: unregister resets them */
	struct mt_thread *next, *prev;   /* all live tables, under mt_reg_lock */
};

struct mt_owner {
	unsigned idx;      /* 0 means no thread caches */
	/* Runs on an exiting thread, under the registry lock, for each cache
	 * that thread had for this owner: give the contents back (or park
	 * them) and detach the cache. It must not call user callbacks: a
	 * dtor that creates or destroys a pool would take the registry lock
	 * again and deadlock. */
	void (*thread_exit)(struct mt_owner *o, void *cache);
};

extern const uint64_t mtpool__zero_cache[MT_ZERO_CACHE_SIZE / 8] MT_HIDDEN;
#define MT_ZERO_CACHE ((void *)mtpool__zero_cache)

/* Returns this thread's cache for @o, MT_ZERO_CACHE when there is none. */
static inline void *mt_tcache_find(const struct mt_owner *o)
{
	return __atomic_load_n(&mtpool_tls_caches[o->idx], __ATOMIC_RELAXED);
}

/* Give @o a slot; on a full table @o works without thread caches. */
MT_HIDDEN void mtpool__owner_register(struct mt_owner *o);
/* After this returns, no exiting thread calls o->thread_exit any more and
 * no thread's slot points at a cache of @o. */
MT_HIDDEN void mtpool__owner_unregister(struct mt_owner *o);
/* Install @cache as this thread's cache for @o. 0, -ENOSPC (no slot),
 * -ESRCH (thread is exiting) or -ENOMEM. */
MT_HIDDEN int mtpool__tcache_attach(struct mt_owner *o, void *cache);

#endif /* MTPOOL_TCACHE_H */
