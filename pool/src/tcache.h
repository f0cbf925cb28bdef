/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Per-thread cache lookup shared by the object pool and the size-class
 * allocator.
 *
 * Each thread has a table of MT_TSLOTS slots {key, cache}. A pool registers
 * once and receives a slot index plus a key that is never reused, so a slot
 * left behind by a destroyed pool can never match a new one. The fast-path
 * lookup is a TLS load, an indexed load and a compare: no lock, no atomic
 * read-modify-write, no hashing.
 *
 * Pools that do not register (pass-through, debug) keep key MT_NO_KEY;
 * pools beyond MT_TSLOTS - 1 get idx 0. Slot 0's key stays 0 and no pool
 * key is 0, so neither ever matches and both fall to the slow path. A
 * thread that never attached points at an all-zero table, so the lookup
 * needs no NULL test either.
 */
#ifndef MTPOOL_TCACHE_H
#define MTPOOL_TCACHE_H

#include "internal.h"

#define MT_TSLOTS 128
#define MT_NO_KEY UINT64_MAX

struct mt_tslot {
	uint64_t key;
	void *cache;
};

struct mt_thread {
	struct mt_tslot slots[MT_TSLOTS];
};

struct mt_owner {
	uint64_t key;      /* MT_NO_KEY unless registered; never 0 */
	unsigned idx;      /* 0 means no thread caches */
	/* Runs on an exiting thread, under the registry lock, for each cache
	 * that thread had for this owner: give the contents back, free it. */
	void (*thread_exit)(struct mt_owner *o, void *cache);
};

/* initial-exec: one %fs-relative load, no __tls_get_addr call (mimalloc
 * does the same); the price is that dlopen() needs static TLS space. */
extern __thread struct mt_thread *mt_self
	__attribute__((tls_model("initial-exec"))) MT_HIDDEN;

/* Returns NULL or the cache: no branch besides the key compare. */
static inline void *mt_tcache_find(const struct mt_owner *o)
{
	const struct mt_tslot *s = &mt_self->slots[o->idx];

	return likely(s->key == o->key) ? s->cache : NULL;
}

/* Give @o a slot; on a full table @o works without thread caches. */
MT_HIDDEN void mt_owner_register(struct mt_owner *o);
/* After this returns, no exiting thread calls o->thread_exit any more. */
MT_HIDDEN void mt_owner_unregister(struct mt_owner *o);
/* Install @cache as this thread's cache for @o. 0, -ENOSPC (no slot),
 * -ESRCH (thread is exiting) or -ENOMEM. */
MT_HIDDEN int mt_tcache_attach(struct mt_owner *o, void *cache);

#endif /* MTPOOL_TCACHE_H */
