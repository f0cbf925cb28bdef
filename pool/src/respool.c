// SPDX-License-Identifier: BSD-2-Clause
/*
 * Resource pool: a bounded set of handles (sockets, fds, connections).
 *
 * Handles are expensive to create and acquired rarely compared with memory,
 * so one mutex and a condition variable are the right tool here; the
 * factory, validate and destroy callbacks always run outside the lock, so a
 * slow connect() never blocks other threads releasing handles. Idle handles
 * are reused LIFO: the most recently used one is the likeliest to still be
 * alive on the other end.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

struct mtpool_res {
	struct mtpool_res_ops ops;
	unsigned max_open, max_idle;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	void **idle;                 /* max_idle entries */
	unsigned nidle, nopen;       /* nopen counts idle + in use + being created */
	uint64_t gets, puts, hits, misses;
	bool pass;
	char name[MT_NAME_MAX];
};

mtpool_res *mtpool_res_create(const struct mtpool_res_ops *ops, const struct mtpool_res_opts *opts)
{
	pthread_condattr_t ca;
	mtpool_res *rp;
	int err;

	if (!ops || !ops->create) {
		errno = EINVAL;
		return NULL;
	}
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return NULL;
	rp->ops = *ops;
	mtpool__copy_name(rp->name, opts ? opts->name : NULL, "mtpool_res");
	rp->max_open = opts && opts->max_open ? opts->max_open : UINT32_MAX;
	rp->max_idle = opts && opts->max_idle ? opts->max_idle : 8;
	/* MTPOOL_DISABLE: no idle handles, every acquire creates one. */
	rp->pass = mtpool__env() & MT_ENV_DISABLE;
	if (rp->pass)
		rp->max_idle = 0;
	rp->idle = calloc(rp->max_idle ? rp->max_idle : 1, sizeof(void *));
	if (!rp->idle) {
		free(rp);
		return NULL;
	}
	pthread_mutex_init(&rp->lock, NULL);
	/* Timeouts are intervals: a wall-clock step must not stretch or cut
	 * them, so the condition variable waits on CLOCK_MONOTONIC. */
	err = pthread_condattr_init(&ca);
	if (!err) {
		err = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		if (!err)
			err = pthread_cond_init(&rp->freed, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (err) {
		pthread_mutex_destroy(&rp->lock);
		free(rp->idle);
		free(rp);
		errno = err;
		return NULL;
	}
	return rp;
}

static void res_destroy_handle(mtpool_res *rp, void *res)
{
	if (rp->ops.destroy)
		rp->ops.destroy(rp->ops.arg, res);
}

/* Wait until a slot frees up; 0 or -EAGAIN/-ETIMEDOUT. Called locked. */
static int res_wait(mtpool_res *rp, int timeout_ms, const struct timespec *deadline)
{
	int rc;

	if (timeout_ms == 0)
		return -EAGAIN;
	if (timeout_ms < 0)
		rc = pthread_cond_wait(&rp->freed, &rp->lock);
	else
		rc = pthread_cond_timedwait(&rp->freed, &rp->lock, deadline);
	return rc == ETIMEDOUT ? -ETIMEDOUT : 0;
}

int mtpool_res_acquire(mtpool_res *rp, void **res, int timeout_ms)
{
	struct timespec deadline;
	void *h;
	int err = 0;

	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&rp->lock);
	for (;;) {
		if (rp->nidle) {
			h = rp->idle[--rp->nidle];
			pthread_mutex_unlock(&rp->lock);
			if (!rp->ops.validate || rp->ops.validate(rp->ops.arg, h) == 0) {
				pthread_mutex_lock(&rp->lock);
				rp->gets++;
				rp->hits++;
				pthread_mutex_unlock(&rp->lock);
				*res = h;
				return 0;
			}
			res_destroy_handle(rp, h);
			pthread_mutex_lock(&rp->lock);
			rp->nopen--;
			continue;
		}
		if (rp->nopen < rp->max_open)
			break;
		err = res_wait(rp, timeout_ms, &deadline);
		if (err) {
			pthread_mutex_unlock(&rp->lock);
			return err;
		}
	}
	rp->nopen++;   /* reserve the slot while creating outside the lock */
	pthread_mutex_unlock(&rp->lock);

	h = NULL;
	err = rp->ops.create(rp->ops.arg, &h);
	if (err > 0)
		err = -err;
	pthread_mutex_lock(&rp->lock);
	if (err) {
		rp->nopen--;
		pthread_cond_signal(&rp->freed);
	} else {
		rp->gets++;
		rp->misses++;
	}
	pthread_mutex_unlock(&rp->lock);
	if (!err)
		*res = h;
	return err;
}

void mtpool_res_release(mtpool_res *rp, void *res, int broken)
{
	bool keep;

	pthread_mutex_lock(&rp->lock);
	rp->puts++;
	keep = !broken && rp->nidle < rp->max_idle;
	if (keep)
		rp->idle[rp->nidle++] = res;
	else
		rp->nopen--;
	pthread_cond_signal(&rp->freed);
	pthread_mutex_unlock(&rp->lock);
	if (!keep)
		res_destroy_handle(rp, res);
}

void mtpool_res_destroy(mtpool_res *rp)
{
	unsigned i;

	if (!rp)
		return;
	for (i = 0; i < rp->nidle; i++)
		res_destroy_handle(rp, rp->idle[i]);
	pthread_cond_destroy(&rp->freed);
	pthread_mutex_destroy(&rp->lock);
	free(rp->idle);
	free(rp);
}

void mtpool_res_stats(mtpool_res *rp, struct mtpool_stats *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_lock(&rp->lock);
	st->gets = rp->gets;
	st->puts = rp->puts;
	st->hits = rp->hits;
	st->misses = rp->misses;
	st->live = rp->gets - rp->puts;
	st->cached = rp->nidle;
	pthread_mutex_unlock(&rp->lock);
}
