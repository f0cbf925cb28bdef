// SPDX-License-Identifier: BSD-2-Clause
/* Registry of pools with thread caches, and thread-exit flushing. */
#include <pthread.h>
#include <stdlib.h>

#include "tcache.h"

/* Threads start on this all-zero table: lookups miss, attach allocates. */
static struct mt_thread mt_empty_thread;
__thread struct mt_thread *mt_self __attribute__((tls_model("initial-exec"))) = &mt_empty_thread;

/*
 * Lock order: mt_reg_lock, then a pool's own lock. Pools never take the
 * registry lock while holding theirs.
 */
static pthread_mutex_t mt_reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mt_owner *mt_registry[MT_TSLOTS];
static uint64_t mt_next_key = 1;
static pthread_key_t mt_exit_key;
static pthread_once_t mt_exit_once = PTHREAD_ONCE_INIT;
static int mt_exit_key_err;

/* After its exit flush a thread points here: every key is 0, so lookups
 * miss, and attach refuses, so late calls from other TLS destructors go to
 * the shared caches instead of leaking a new table. */
static struct mt_thread mt_dead_thread;

void mt_owner_register(struct mt_owner *o)
{
	unsigned i;

	pthread_mutex_lock(&mt_reg_lock);
	o->key = mt_next_key++;
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

void mt_owner_unregister(struct mt_owner *o)
{
	if (!o->idx)
		return;
	pthread_mutex_lock(&mt_reg_lock);
	mt_registry[o->idx] = NULL;
	pthread_mutex_unlock(&mt_reg_lock);
}

static void mt_thread_exit(void *arg)
{
	struct mt_thread *t = arg;
	unsigned i;

	pthread_mutex_lock(&mt_reg_lock);
	for (i = 1; i < MT_TSLOTS; i++) {
		struct mt_owner *o = mt_registry[i];

		if (t->slots[i].key && o && o->key == t->slots[i].key)
			o->thread_exit(o, t->slots[i].cache);
	}
	pthread_mutex_unlock(&mt_reg_lock);
	mt_self = &mt_dead_thread;
	free(t);
}

static void mt_exit_key_init(void)
{
	mt_exit_key_err = pthread_key_create(&mt_exit_key, mt_thread_exit);
}

int mt_tcache_attach(struct mt_owner *o, void *cache)
{
	struct mt_thread *t = mt_self;

	if (!o->idx)
		return -ENOSPC;
	if (t == &mt_dead_thread)
		return -ESRCH;
	if (t == &mt_empty_thread) {
		pthread_once(&mt_exit_once, mt_exit_key_init);
		if (mt_exit_key_err)
			return -mt_exit_key_err;
		t = calloc(1, sizeof(*t));
		if (!t)
			return -ENOMEM;
		if (pthread_setspecific(mt_exit_key, t)) {
			free(t);
			return -ENOMEM;
		}
		mt_self = t;
	}
	t->slots[o->idx].cache = cache;
	t->slots[o->idx].key = o->key;
	return 0;
}
