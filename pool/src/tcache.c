// SPDX-License-Identifier: BSD-2-Clause
/* Registry of pools with thread caches, and thread-exit flushing. */
#include <pthread.h>
#include <stdlib.h>

#include "tcache.h"

const uint64_t mtpool__zero_cache[MT_ZERO_CACHE_SIZE / 8];

#define MT_EMPTY_SLOTS { [0 ... MT_TSLOTS - 1] = MT_ZERO_CACHE }

/* Threads start on this table of empty slots: lookups miss, attach
 * allocates. */
static struct mt_thread mt_empty_thread = { .slots = MT_EMPTY_SLOTS };
/* After its exit flush a thread points here: lookups miss and attach
 * refuses, so late calls from other TLS destructors go to the shared
 * caches instead of leaking a new table. */
static struct mt_thread mt_dead_thread = { .slots = MT_EMPTY_SLOTS };

__thread void **mtpool_tls_caches __attribute__((tls_model("initial-exec"))) =
	mt_empty_thread.slots;

/*
 * Lock order: mt_reg_lock, then a pool's own lock. Pools never take the
 * registry lock while holding theirs.
 */
static pthread_mutex_t mt_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mt_owner *mt_registry[MT_TSLOTS];
static struct mt_thread *mt_threads;   /* live tables, under mt_reg_lock */
static pthread_key_t mt_exit_key;
static pthread_once_t mt_exit_once = PTHREAD_ONCE_INIT;
static int mt_exit_key_err;

static struct mt_thread *self_table(void)
{
	return (struct mt_thread *)((char *)mtpool_tls_caches -
				    offsetof(struct mt_thread, slots));
}

void mtpool__owner_register(struct mt_owner *o)
{
	unsigned i;

	pthread_mutex_lock(&mt_reg_lock);
	o->idx = 0;
	for (i = 1; i < MT_TSLOTS; i++) {
		if (!mt_registry[i]) {
			mt_registry[i] = o;
			o->idx = i;
			break;
		}
	}
	pthread_mutex_unlock(&mt_reg_lock);
}

/* O(threads): runs once per pool destroy, never on a fast path. */
void mtpool__owner_unregister(struct mt_owner *o)
{
	struct mt_thread *t;

	if (!o->idx)
		return;
	pthread_mutex_lock(&mt_reg_lock);
	for (t = mt_threads; t; t = t->next)
		MT_WR(t->slots[o->idx], MT_ZERO_CACHE);
	mt_registry[o->idx] = NULL;
	pthread_mutex_unlock(&mt_reg_lock);
	o->idx = 0;
}

static void mt_thread_exit(void *arg)
{
	struct mt_thread *t = arg;
	unsigned i;

	pthread_mutex_lock(&mt_reg_lock);
	for (i = 1; i < MT_TSLOTS; i++) {
		struct mt_owner *o = mt_registry[i];
		void *c = MT_RD(t->slots[i]);

		if (c != MT_ZERO_CACHE && o)
			o->thread_exit(o, c);
	}
	MT_DLIST_UNLINK(mt_threads, t);
	pthread_mutex_unlock(&mt_reg_lock);
	mtpool_tls_caches = mt_dead_thread.slots;
	free(t);
}

static void mt_exit_key_init(void)
{
	mt_exit_key_err = pthread_key_create(&mt_exit_key, mt_thread_exit);
}

int mtpool__tcache_attach(struct mt_owner *o, void *cache)
{
	struct mt_thread *t = self_table();
	unsigned i;

	if (!o->idx)
		return -ENOSPC;
	if (t == &mt_dead_thread)
		return -ESRCH;
	if (t == &mt_empty_thread) {
		pthread_once(&mt_exit_once, mt_exit_key_init);
		if (mt_exit_key_err)
			return -mt_exit_key_err;
		t = malloc(sizeof(*t));
		if (!t)
			return -ENOMEM;
		for (i = 0; i < MT_TSLOTS; i++)
			t->slots[i] = MT_ZERO_CACHE;
		if (pthread_setspecific(mt_exit_key, t)) {
			free(t);
			return -ENOMEM;
		}
		pthread_mutex_lock(&mt_reg_lock);
		t->prev = NULL;
		t->next = mt_threads;
		if (mt_threads)
			mt_threads->prev = t;
		mt_threads = t;
		pthread_mutex_unlock(&mt_reg_lock);
		mtpool_tls_caches = t->slots;
	}
	MT_WR(t->slots[o->idx], cache);
	return 0;
}
