// SPDX-License-Identifier: BSD-2-Clause
/*
 * Unit tests: the inline fast path of mtpool.h (mtpool_get_inline /
 * mtpool_put_inline) against the out-of-line library calls, stale thread
 * slots after a pool is destroyed, and probes forcing the library path.
 * The ASan build of this file never inlines (the header turns it off), so
 * it checks the same behaviour through the library.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mt_test.h"
#include "mtpool.h"

struct tag {
	uint64_t owner;   /* which pool's ctor made it */
	uint64_t resets;
};

static int tag_ctor(void *obj, void *arg)
{
	struct tag *t = obj;

	t->owner = (uint64_t)(uintptr_t)arg;
	t->resets = 0;
	return 0;
}

static void tag_reset(void *obj, void *arg)
{
	(void)arg;
	((struct tag *)obj)->resets++;
}

static void test_default_is_inline_unless_asan(void)
{
#if defined(__SANITIZE_ADDRESS__)
	MT_CHECK(MTPOOL_INLINE_OFF_ == 1);
#else
	MT_CHECK(MTPOOL_INLINE_OFF_ == 0);
#endif
#ifndef mtpool_get
	MT_CHECK(!"mtpool_get should be the inline macro");
#endif
}

static void test_inline_and_library_calls_mix(void)
{
	struct mtpool_stats st;
	mtpool *p = mtpool_create(64, NULL);
	void *a, *b, *c;
	int i;

	MT_CHECK(p != NULL);
	a = mtpool_get(p);            /* miss: library */
	MT_CHECK(a != NULL);
	mtpool_put(p, a);             /* inline push */
	b = (mtpool_get)(p);          /* library pop: LIFO, same object */
	MT_CHECK(b == a);
	(mtpool_put)(p, b);           /* library push */
	c = mtpool_get_inline(p);     /* inline pop */
	MT_CHECK(c == a);
	mtpool_put_inline(p, c);
	mtpool_put(p, NULL);          /* ignored on both paths */
	(mtpool_put)(p, NULL);
	for (i = 0; i < 1000; i++) {  /* through refills and flushes */
		void *v[100];
		int j;

		for (j = 0; j < 100; j++)
			v[j] = (j & 1) ? mtpool_get(p) : (mtpool_get)(p);
		for (j = 0; j < 100; j++) {
			if (j % 3)
				mtpool_put(p, v[j]);
			else
				(mtpool_put)(p, v[j]);
		}
	}
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.gets, 3 + 100000);
	MT_CHECK_EQ_U64(st.puts, 3 + 100000);
	MT_CHECK_EQ_U64(st.live, 0);
	MT_CHECK_EQ_U64(st.cached, st.misses);
	mtpool_destroy(p);
}

/* A pool with a reset callback publishes put_cap 0: every inline put goes
 * to the library, which calls reset. */
static void test_inline_put_runs_reset(void)
{
	struct mtpool_opts o = { .ctor = tag_ctor, .reset = tag_reset, .cb_arg = (void *)1 };
	mtpool *p = mtpool_create(sizeof(struct tag), &o);
	struct tag *t;
	int i;

	MT_CHECK(p != NULL);
	t = mtpool_get(p);
	MT_CHECK(t != NULL);
	for (i = 0; i < 10; i++) {
		mtpool_put(p, t);
		t = mtpool_get(p);
	}
	MT_CHECK_EQ_U64(t->resets, 10);
	mtpool_put(p, t);
	mtpool_destroy(p);
}

/* Pool A and then pool B take the same thread slot. B must not see A's
 * (freed) cache in any thread that used A. */
static mtpool *shared_pool;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int phase;

static void wait_phase(int want)
{
	pthread_mutex_lock(&mu);
	while (phase < want)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
}

static void set_phase(int v)
{
	pthread_mutex_lock(&mu);
	phase = v;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static void *slot_user(void *arg)
{
	struct tag *t;
	uint64_t *owner = arg;

	t = mtpool_get(shared_pool);          /* pool A: attaches a cache */
	mtpool_put(shared_pool, t);
	set_phase(1);
	wait_phase(2);                        /* A destroyed, B created */
	t = mtpool_get(shared_pool);
	*owner = t ? t->owner : 0;
	mtpool_put(shared_pool, t);
	return NULL;
}

static void test_destroyed_pool_slot_is_reset(void)
{
	struct mtpool_opts oa = { .ctor = tag_ctor, .cb_arg = (void *)1 };
	struct mtpool_opts ob = { .ctor = tag_ctor, .cb_arg = (void *)2 };
	uint64_t other = 0;
	pthread_t th;
	struct tag *t;

	phase = 0;
	shared_pool = mtpool_create(sizeof(struct tag), &oa);
	MT_CHECK(shared_pool != NULL);
	t = mtpool_get(shared_pool);
	mtpool_put(shared_pool, t);
	MT_CHECK(pthread_create(&th, NULL, slot_user, &other) == 0);
	wait_phase(1);
	mtpool_destroy(shared_pool);
	shared_pool = mtpool_create(sizeof(struct tag), &ob);
	MT_CHECK(shared_pool != NULL);
	MT_CHECK_EQ_U64(((const struct mtpool_abi *)(void *)shared_pool)->inline_idx != 0,
			MTPOOL_INLINE_OFF_ == 0);
	t = mtpool_get(shared_pool);          /* this thread */
	MT_CHECK(t != NULL);
	MT_CHECK_EQ_U64(t->owner, 2);
	mtpool_put(shared_pool, t);
	set_phase(2);
	pthread_join(th, NULL);
	MT_CHECK_EQ_U64(other, 2);            /* the other thread */
	mtpool_destroy(shared_pool);
}

/* A tracer switching the get/put probes on sends the inline path to the
 * library, where the probe sites are; counts stay exact. */
static void test_enabled_probe_goes_out_of_line(void)
{
	struct mtpool_stats st;
	mtpool *p = mtpool_create(32, NULL);
	void *v[10];
	int i;

	MT_CHECK(p != NULL);
	__atomic_add_fetch(&mtpool_get_semaphore, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&mtpool_put_semaphore, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 10; i++)
		v[i] = mtpool_get(p);
	for (i = 0; i < 10; i++)
		mtpool_put(p, v[i]);
	for (i = 0; i < 10; i++)
		v[i] = mtpool_get(p);
	__atomic_sub_fetch(&mtpool_get_semaphore, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&mtpool_put_semaphore, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 10; i++)
		mtpool_put(p, v[i]);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.gets, 20);
	MT_CHECK_EQ_U64(st.puts, 20);
	MT_CHECK_EQ_U64(st.misses, 10);
	mtpool_destroy(p);
}

int main(void)
{
	MT_RUN(test_default_is_inline_unless_asan);
	MT_RUN(test_inline_and_library_calls_mix);
	MT_RUN(test_inline_put_runs_reset);
	MT_RUN(test_destroyed_pool_slot_is_reset);
	MT_RUN(test_enabled_probe_goes_out_of_line);
	return mt_test_done();
}
