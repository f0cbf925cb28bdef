// SPDX-License-Identifier: BSD-2-Clause
/*
 * Multi-threaded stress: objects got on one thread are put on another, with
 * 2 and 8 threads, for the object pool, the size-class allocator, buffers
 * and refbufs. Each object carries an atomic owner word set on get and
 * cleared before put: if a pool ever handed one object to two threads, the
 * exchange fails here, and the plain writes to the payload make TSan (the
 * pool_stress_tsan build) report the missing happens-before.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt_test.h"
#include "mtpool.h"

#if defined(__SANITIZE_THREAD__)
#define OPS 20000      /* TSan runs ~10x slower */
#else
#define OPS 200000
#endif
#define QCAP 256

struct obj {
	int owner;            /* atomic */
	int payload[14];
};

/* Hand-off queue from thread i to thread i+1: a mutex is enough here, it
 * is the pools that are under test. */
struct queue {
	pthread_mutex_t lock;
	void *items[QCAP];
	unsigned head, n;
};

static struct queue queues[8];
static int nthreads;
static int errors;       /* atomic */

static int q_push(struct queue *q, void *p)
{
	int ok;

	pthread_mutex_lock(&q->lock);
	ok = q->n < QCAP;
	if (ok) {
		q->items[(q->head + q->n) % QCAP] = p;
		q->n++;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

static void *q_pop(struct queue *q)
{
	void *p = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->n) {
		p = q->items[q->head];
		q->head = (q->head + 1) % QCAP;
		q->n--;
	}
	pthread_mutex_unlock(&q->lock);
	return p;
}

static void take(struct obj *o, int me)
{
	int zero = 0, i;

	if (!__atomic_compare_exchange_n(&o->owner, &zero, me, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	for (i = 0; i < 14; i++)
		o->payload[i] = me;
}

static void drop(struct obj *o, int me)
{
	int i;

	for (i = 0; i < 14; i++)
		if (o->payload[i] != me)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&o->owner, 0, __ATOMIC_RELEASE);
}

enum kind { K_OBJPOOL, K_SC, K_BUF, K_REFBUF };

struct ctx {
	enum kind kind;
	mtpool *pool;
	mtpool_sc *sc;
	mtpool_bufpool *bp;
	mtpool_block *blk;
};

static struct ctx ctx;

static void *make(int me)
{
	switch (ctx.kind) {
	case K_OBJPOOL: {
		struct obj *o = mtpool_get(ctx.pool);

		if (o)
			take(o, me);
		return o;
	}
	case K_SC: {
		struct obj *o = mtpool_sc_malloc(ctx.sc, sizeof(*o) + (size_t)(me * 40));

		if (o) {
			__atomic_store_n(&o->owner, 0, __ATOMIC_RELAXED);
			take(o, me);
		}
		return o;
	}
	case K_BUF: {
		mtpool_buf *b = mtpool_buf_acquire(ctx.bp);

		if (b && mtpool_buf_appendf(b, "from %d", me))
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		return b;
	}
	case K_REFBUF: {
		mtpool_refbuf *r = mtpool_refbuf_new(ctx.blk, 64), *s;

		if (!r)
			return NULL;
		memset(mtpool_refbuf_data(r), me, 64);
		s = mtpool_refbuf_slice(r, 8, 16);
		mtpool_refbuf_unref(r);   /* only the slice keeps it alive */
		return s;
	}
	}
	return NULL;
}

static void consume(void *p, int me)
{
	switch (ctx.kind) {
	case K_OBJPOOL:
		drop(p, ((struct obj *)p)->payload[0]);
		mtpool_put(ctx.pool, p);
		break;
	case K_SC:
		drop(p, ((struct obj *)p)->payload[0]);
		mtpool_sc_free(ctx.sc, p);
		break;
	case K_BUF:
		if (strncmp(mtpool_buf_data(p), "from ", 5) != 0)
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		mtpool_buf_release(p);
		break;
	case K_REFBUF: {
		unsigned char *d = mtpool_refbuf_data(p);

		if (mtpool_refbuf_len(p) != 16 || d[0] != d[15])
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
		mtpool_refbuf_unref(p);
		break;
	}
	}
	(void)me;
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg, made = 0, i;
	struct queue *out = &queues[(me + 1) % nthreads], *in = &queues[me];
	void *p, *local[4];

	while (made < OPS) {
		/* Some same-thread churn keeps the fast paths busy too. */
		for (i = 0; i < 4; i++)
			local[i] = make(me + 1);
		for (i = 0; i < 4; i++)
			if (local[i])
				consume(local[i], me + 1);
		p = make(me + 1);
		if (!p) {
			__atomic_fetch_add(&errors, 1, __ATOMIC_RELAXED);
			break;
		}
		/* A full queue (its consumer may have finished) must not block:
		 * drop the object here instead. */
		if (!q_push(out, p))
			consume(p, me + 1);
		made++;
		while ((p = q_pop(in)) != NULL)
			consume(p, me + 1);
	}
	return NULL;
}

static int run_threads(int n)
{
	pthread_t t[8];
	void *p;
	int i;

	nthreads = n;
	for (i = 0; i < n; i++) {
		pthread_mutex_init(&queues[i].lock, NULL);
		queues[i].head = queues[i].n = 0;
	}
	__atomic_store_n(&errors, 0, __ATOMIC_RELAXED);
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i))
			return -1;
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	/* Leftovers in the queues, consumed by the main thread. */
	for (i = 0; i < n; i++)
		while ((p = q_pop(&queues[i])) != NULL)
			consume(p, 0);
	return __atomic_load_n(&errors, __ATOMIC_RELAXED);
}

static int obj_ctor(void *p, void *arg)
{
	(void)arg;
	memset(p, 0, sizeof(struct obj));
	return 0;
}

static void check_objpool(int n)
{
	struct mtpool_opts o = { .name = "stress", .thread_cache = 16, .ctor = obj_ctor };
	struct mtpool_stats st;

	ctx.kind = K_OBJPOOL;
	ctx.pool = mtpool_create(sizeof(struct obj), &o);
	MT_CHECK(ctx.pool != NULL);
	MT_CHECK_EQ_U64(run_threads(n), 0);
	mtpool_stats(ctx.pool, &st);
	MT_CHECK_EQ_U64(st.gets, (uint64_t)n * OPS * 5);
	MT_CHECK_EQ_U64(st.puts, st.gets);
	MT_CHECK_EQ_U64(st.live, 0);
	MT_CHECK_EQ_U64(st.cached, st.misses);   /* nothing lost or leaked */
	mtpool_destroy(ctx.pool);
}

static void test_objpool_2_threads(void) { check_objpool(2); }
static void test_objpool_8_threads(void) { check_objpool(8); }

static void check_sc(int n)
{
	struct mtpool_stats st;

	ctx.kind = K_SC;
	ctx.sc = mtpool_sc_create(NULL);
	MT_CHECK(ctx.sc != NULL);
	MT_CHECK_EQ_U64(run_threads(n), 0);
	mtpool_sc_stats(ctx.sc, &st);
	MT_CHECK_EQ_U64(st.gets, (uint64_t)n * OPS * 5);
	MT_CHECK_EQ_U64(st.puts, st.gets);
	MT_CHECK_EQ_U64(st.live, 0);
	MT_CHECK_EQ_U64(st.cached, st.misses);
	mtpool_sc_destroy(ctx.sc);
}

static void test_sc_2_threads(void) { check_sc(2); }
static void test_sc_8_threads(void) { check_sc(8); }

static void test_bufpool_8_threads(void)
{
	struct mtpool_stats st;

	ctx.kind = K_BUF;
	ctx.bp = mtpool_bufpool_create(NULL);
	MT_CHECK(ctx.bp != NULL);
	MT_CHECK_EQ_U64(run_threads(8), 0);
	mtpool_bufpool_stats(ctx.bp, &st);
	MT_CHECK_EQ_U64(st.live, 0);
	mtpool_bufpool_destroy(ctx.bp);
}

static void test_refbuf_8_threads(void)
{
	struct mtpool_stats st;

	ctx.kind = K_REFBUF;
	ctx.blk = mtpool_block_create(MTPOOL_REFBUF_HEADER + 64, NULL);
	MT_CHECK(ctx.blk != NULL);
	MT_CHECK_EQ_U64(run_threads(8), 0);
	mtpool_block_stats(ctx.blk, &st);
	MT_CHECK_EQ_U64(st.live, 0);
	mtpool_block_destroy(ctx.blk);
}

int main(void)
{
	MT_RUN(test_objpool_2_threads);
	MT_RUN(test_objpool_8_threads);
	MT_RUN(test_sc_2_threads);
	MT_RUN(test_sc_8_threads);
	MT_RUN(test_bufpool_8_threads);
	MT_RUN(test_refbuf_8_threads);
	return mt_test_done();
}
