// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests: resource pool with file descriptors as the handles. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "mt_test.h"
#include "mtpool.h"

static int ncreated, ndestroyed, fail_create, invalid_fd = -1;

static int fd_create(void *arg, void **res)
{
	int fd;

	(void)arg;
	if (fail_create)
		return -EMFILE;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	__atomic_fetch_add(&ncreated, 1, __ATOMIC_RELAXED);
	*res = (void *)(intptr_t)fd;
	return 0;
}

static int fd_validate(void *arg, void *res)
{
	(void)arg;
	return (int)(intptr_t)res == invalid_fd ? -EBADF : 0;
}

static void fd_destroy(void *arg, void *res)
{
	(void)arg;
	close((int)(intptr_t)res);
	__atomic_fetch_add(&ndestroyed, 1, __ATOMIC_RELAXED);
}

static const struct mtpool_res_ops fd_ops = {
	.create = fd_create, .validate = fd_validate, .destroy = fd_destroy,
};

static void reset_counts(void)
{
	ncreated = ndestroyed = fail_create = 0;
	invalid_fd = -1;
}

static void test_create_requires_factory(void)
{
	struct mtpool_res_ops none = { 0 };

	errno = 0;
	MT_CHECK(mtpool_res_create(&none, NULL) == NULL);
	MT_CHECK_EQ_U64(errno, EINVAL);
	MT_CHECK(mtpool_res_create(NULL, NULL) == NULL);
	mtpool_res_destroy(NULL);
}

static void test_reuse_idle_handles(void)
{
	mtpool_res *rp;
	struct mtpool_stats st;
	void *a, *b;

	reset_counts();
	rp = mtpool_res_create(&fd_ops, NULL);
	MT_CHECK(rp != NULL);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &a, 0), 0);
	mtpool_res_release(rp, a, 0);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &b, 0), 0);
	MT_CHECK(a == b);
	MT_CHECK_EQ_U64(ncreated, 1);
	mtpool_res_stats(rp, &st);
	MT_CHECK_EQ_U64(st.gets, 2);
	MT_CHECK_EQ_U64(st.hits, 1);
	MT_CHECK_EQ_U64(st.misses, 1);
	MT_CHECK_EQ_U64(st.live, 1);
	mtpool_res_release(rp, b, 1);   /* broken: destroyed */
	MT_CHECK_EQ_U64(ndestroyed, 1);
	mtpool_res_stats(rp, &st);
	MT_CHECK_EQ_U64(st.cached, 0);
	mtpool_res_destroy(rp);
}

static void test_bound_and_timeouts(void)
{
	struct mtpool_res_opts o = { .max_open = 2 };
	mtpool_res *rp;
	void *a, *b, *c;

	reset_counts();
	rp = mtpool_res_create(&fd_ops, &o);
	MT_CHECK(rp != NULL);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &a, 0), 0);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &b, 0), 0);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &c, 0), (uint64_t)-EAGAIN);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &c, 30), (uint64_t)-ETIMEDOUT);
	mtpool_res_release(rp, a, 0);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &c, 0), 0);
	MT_CHECK(c == a);
	mtpool_res_release(rp, b, 0);
	mtpool_res_release(rp, c, 0);
	mtpool_res_destroy(rp);
	MT_CHECK_EQ_U64(ndestroyed, 2);
	MT_CHECK_EQ_U64(ncreated, 2);
}

static void test_max_idle_destroys_extra(void)
{
	struct mtpool_res_opts o = { .max_idle = 1 };
	mtpool_res *rp;
	void *a, *b;

	reset_counts();
	rp = mtpool_res_create(&fd_ops, &o);
	MT_CHECK(rp != NULL);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &a, 0), 0);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &b, 0), 0);
	mtpool_res_release(rp, a, 0);
	mtpool_res_release(rp, b, 0);
	MT_CHECK_EQ_U64(ndestroyed, 1);
	mtpool_res_destroy(rp);
	MT_CHECK_EQ_U64(ndestroyed, 2);
}

static void test_invalid_idle_handle_is_replaced(void)
{
	mtpool_res *rp;
	void *a, *b;

	reset_counts();
	rp = mtpool_res_create(&fd_ops, NULL);
	MT_CHECK(rp != NULL);
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &a, 0), 0);
	mtpool_res_release(rp, a, 0);
	invalid_fd = (int)(intptr_t)a;   /* "peer closed it" */
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &b, 0), 0);
	MT_CHECK_EQ_U64(ndestroyed, 1);
	MT_CHECK_EQ_U64(ncreated, 2);
	mtpool_res_release(rp, b, 0);
	mtpool_res_destroy(rp);
}

static void test_create_error_is_returned_and_slot_freed(void)
{
	struct mtpool_res_opts o = { .max_open = 1 };
	mtpool_res *rp;
	void *a;

	reset_counts();
	rp = mtpool_res_create(&fd_ops, &o);
	MT_CHECK(rp != NULL);
	fail_create = 1;
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &a, 0), (uint64_t)-EMFILE);
	fail_create = 0;
	MT_CHECK_EQ_U64(mtpool_res_acquire(rp, &a, 0), 0);
	mtpool_res_release(rp, a, 0);
	mtpool_res_destroy(rp);
}

struct waiter {
	mtpool_res *rp;
	int rc;
	void *h;
};

static void *wait_forever(void *arg)
{
	struct waiter *w = arg;

	w->rc = mtpool_res_acquire(w->rp, &w->h, -1);
	return NULL;
}

static void test_waiter_wakes_on_release(void)
{
	struct mtpool_res_opts o = { .max_open = 1 };
	struct waiter w;
	pthread_t t;
	void *a;

	reset_counts();
	w.rp = mtpool_res_create(&fd_ops, &o);
	MT_CHECK(w.rp != NULL);
	MT_CHECK_EQ_U64(mtpool_res_acquire(w.rp, &a, 0), 0);
	w.rc = 1;
	MT_CHECK(pthread_create(&t, NULL, wait_forever, &w) == 0);
	usleep(20000);
	mtpool_res_release(w.rp, a, 0);
	pthread_join(t, NULL);
	MT_CHECK_EQ_U64(w.rc, 0);
	MT_CHECK(w.h == a);
	mtpool_res_release(w.rp, w.h, 0);
	mtpool_res_destroy(w.rp);
}

int main(void)
{
	MT_RUN(test_create_requires_factory);
	MT_RUN(test_reuse_idle_handles);
	MT_RUN(test_bound_and_timeouts);
	MT_RUN(test_max_idle_destroys_extra);
	MT_RUN(test_invalid_idle_handle_is_replaced);
	MT_RUN(test_create_error_is_returned_and_slot_freed);
	MT_RUN(test_waiter_wakes_on_release);
	return mt_test_done();
}
