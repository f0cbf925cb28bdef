// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests: fixed-size object pool, debug mode, MTPOOL_DISABLE. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mt_test.h"
#include "mtpool.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

/* Debug reports land here instead of aborting. */
static const char *last_what, *last_pool;
static const void *last_addr;
static int nreports;

static char what_buf[64], pool_buf[64];

/* Copies: the pool (and its name) may be gone when the test looks. */
static void record(void *arg, const char *what, const char *pool, const void *addr)
{
	(void)arg;
	snprintf(what_buf, sizeof(what_buf), "%s", what);
	snprintf(pool_buf, sizeof(pool_buf), "%s", pool);
	last_what = what_buf;
	last_pool = pool_buf;
	last_addr = addr;
	nreports++;
}

static void reset_reports(void)
{
	last_what = last_pool = NULL;
	last_addr = NULL;
	nreports = 0;
}

struct counted {
	uint64_t magic;
	int state;
	char pad[40];
};

static int nctor, ndtor, nreset;

static int c_ctor(void *obj, void *arg)
{
	struct counted *c = obj;

	(void)arg;
	c->magic = 0xc0ffee;
	c->state = 0;
	nctor++;
	return 0;
}

static void c_reset(void *obj, void *arg)
{
	(void)arg;
	((struct counted *)obj)->state = 0;
	nreset++;
}

static void c_dtor(void *obj, void *arg)
{
	(void)arg;
	((struct counted *)obj)->magic = 0;
	ndtor++;
}

static int failing_ctor(void *obj, void *arg)
{
	(void)obj;
	(void)arg;
	return -ENOMEM;
}

static void test_create_rejects_bad_args(void)
{
	struct mtpool_opts o = { .align = 24 };

	errno = 0;
	MT_CHECK(mtpool_create(0, NULL) == NULL);
	MT_CHECK_EQ_U64(errno, EINVAL);
	errno = 0;
	MT_CHECK(mtpool_create(64, &o) == NULL);
	MT_CHECK_EQ_U64(errno, EINVAL);
	o.align = 0;
	o.thread_cache = 100000;
	MT_CHECK(mtpool_create(64, &o) == NULL);
	mtpool_destroy(NULL);
}

static void test_get_put_reuses_objects(void)
{
	struct mtpool_opts o = { .name = "reuse" };
	mtpool *p = mtpool_create(48, &o);
	void *a, *b;

	MT_CHECK(p != NULL);
	MT_CHECK_STR(mtpool_name(p), "reuse");
	MT_CHECK_EQ_U64(mtpool_obj_size(p), 48);
	a = mtpool_get(p);
	MT_CHECK(a != NULL);
	memset(a, 0x5a, 48);
	mtpool_put(p, a);
	b = mtpool_get(p);
	MT_CHECK(b == a);
	mtpool_put(p, b);
	mtpool_put(p, NULL);
	mtpool_destroy(p);
}

static void test_callbacks_run_at_the_right_time(void)
{
	struct mtpool_opts o = { .ctor = c_ctor, .reset = c_reset, .dtor = c_dtor };
	struct counted *objs[10];
	mtpool *p;
	int i;

	nctor = ndtor = nreset = 0;
	p = mtpool_create(sizeof(struct counted), &o);
	MT_CHECK(p != NULL);
	for (i = 0; i < 10; i++) {
		objs[i] = mtpool_get(p);
		MT_CHECK(objs[i] != NULL);
		MT_CHECK_EQ_U64(objs[i]->magic, 0xc0ffee);
		objs[i]->state = 7;
	}
	MT_CHECK_EQ_U64(nctor, 10);
	for (i = 0; i < 10; i++)
		mtpool_put(p, objs[i]);
	MT_CHECK_EQ_U64(nreset, 10);
	MT_CHECK_EQ_U64(ndtor, 0);
	/* Reused objects are not constructed again and come back reset. */
	for (i = 0; i < 10; i++) {
		objs[i] = mtpool_get(p);
		MT_CHECK_EQ_U64(objs[i]->state, 0);
		MT_CHECK_EQ_U64(objs[i]->magic, 0xc0ffee);
	}
	MT_CHECK_EQ_U64(nctor, 10);
	for (i = 0; i < 10; i++)
		mtpool_put(p, objs[i]);
	mtpool_destroy(p);
	MT_CHECK_EQ_U64(ndtor, 10);
}

static void test_ctor_failure_returns_null(void)
{
	struct mtpool_opts o = { .ctor = failing_ctor };
	struct mtpool_stats st;
	mtpool *p = mtpool_create(32, &o);

	MT_CHECK(p != NULL);
	MT_CHECK(mtpool_get(p) == NULL);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.gets, 0);
	MT_CHECK_EQ_U64(st.bytes_reserved, 0);
	mtpool_destroy(p);
}

static void test_alignment_is_honoured(void)
{
	struct mtpool_opts o = { .align = 256 };
	mtpool *p = mtpool_create(100, &o);
	void *v[5];
	int i;

	MT_CHECK(p != NULL);
	for (i = 0; i < 5; i++) {
		v[i] = mtpool_get(p);
		MT_CHECK(v[i] != NULL);
		MT_CHECK_EQ_U64((uintptr_t)v[i] % 256, 0);
	}
	for (i = 0; i < 5; i++)
		mtpool_put(p, v[i]);
	mtpool_destroy(p);
}

static void test_stats_count_everything(void)
{
	struct mtpool_opts o = { .thread_cache = 8 };
	struct mtpool_stats st;
	mtpool *p = mtpool_create(64, &o);
	void *v[20];
	int i;

	MT_CHECK(p != NULL);
	for (i = 0; i < 20; i++)
		v[i] = mtpool_get(p);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.gets, 20);
	MT_CHECK_EQ_U64(st.misses, 20);
	MT_CHECK_EQ_U64(st.hits, 0);
	MT_CHECK_EQ_U64(st.live, 20);
	MT_CHECK_EQ_U64(st.cached, 0);
	MT_CHECK(st.bytes_reserved >= 20 * 64);
	for (i = 0; i < 20; i++)
		mtpool_put(p, v[i]);
	for (i = 0; i < 5; i++)
		v[i] = mtpool_get(p);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.gets, 25);
	MT_CHECK_EQ_U64(st.puts, 20);
	MT_CHECK_EQ_U64(st.hits, 5);
	MT_CHECK_EQ_U64(st.live, 5);
	MT_CHECK_EQ_U64(st.cached, 15);
	for (i = 0; i < 5; i++)
		mtpool_put(p, v[i]);
	mtpool_destroy(p);
}

static void test_max_cached_bounds_and_destroys(void)
{
	struct mtpool_opts o = { .thread_cache = 4, .max_cached = 6, .dtor = c_dtor };
	struct mtpool_stats st;
	void *v[40];
	mtpool *p;
	int i;

	ndtor = 0;
	p = mtpool_create(sizeof(struct counted), &o);
	MT_CHECK(p != NULL);
	for (i = 0; i < 40; i++)
		v[i] = mtpool_get(p);
	for (i = 0; i < 40; i++)
		mtpool_put(p, v[i]);
	mtpool_stats(p, &st);
	/* depot <= 6, this thread's cache <= 4 */
	MT_CHECK(st.cached <= 10);
	MT_CHECK(st.cached >= 6);
	MT_CHECK_EQ_U64(ndtor, 40 - st.cached);
	MT_CHECK_EQ_U64(st.bytes_reserved, st.cached * sizeof(struct counted));
	mtpool_destroy(p);
	MT_CHECK_EQ_U64(ndtor, 40);
}

static int budget_calls;
static int budget_allow;

static int on_budget(void *arg, const char *name, size_t used, size_t req, size_t limit)
{
	(void)arg;
	(void)name;
	budget_calls++;
	if (used + req <= limit)
		return -1;  /* would be a bug: only called when exceeding */
	return budget_allow;
}

static void test_budget_refuses_then_callback_allows(void)
{
	struct mtpool_opts o = { .budget = { .limit = 4 * 100, .on_exceed = on_budget } };
	struct mtpool_stats st;
	void *v[6];
	mtpool *p;
	int i;

	budget_calls = 0;
	budget_allow = 0;
	p = mtpool_create(100, &o);
	MT_CHECK(p != NULL);
	for (i = 0; i < 4; i++) {
		v[i] = mtpool_get(p);
		MT_CHECK(v[i] != NULL);
	}
	MT_CHECK_EQ_U64(budget_calls, 0);
	MT_CHECK(mtpool_get(p) == NULL);
	MT_CHECK_EQ_U64(budget_calls, 1);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.budget_denied, 1);
	budget_allow = 1;
	v[4] = mtpool_get(p);
	MT_CHECK(v[4] != NULL);
	MT_CHECK_EQ_U64(budget_calls, 2);
	/* Cache hits never consult the budget. */
	mtpool_put(p, v[4]);
	budget_allow = 0;
	v[4] = mtpool_get(p);
	MT_CHECK(v[4] != NULL);
	MT_CHECK_EQ_U64(budget_calls, 2);
	for (i = 0; i < 5; i++)
		mtpool_put(p, v[i]);
	mtpool_destroy(p);
}

struct xthread {
	mtpool *p;
	void **objs;
	int n;
};

static void *put_all(void *arg)
{
	struct xthread *x = arg;
	int i;

	for (i = 0; i < x->n; i++)
		mtpool_put(x->p, x->objs[i]);
	return NULL;
}

static void test_put_from_another_thread(void)
{
	struct mtpool_opts o = { .thread_cache = 16 };
	struct mtpool_stats st;
	struct xthread x;
	void *objs[300];
	pthread_t t;
	int i;

	x.p = mtpool_create(64, &o);
	MT_CHECK(x.p != NULL);
	for (i = 0; i < 300; i++)
		objs[i] = mtpool_get(x.p);
	x.objs = objs;
	x.n = 300;
	MT_CHECK(pthread_create(&t, NULL, put_all, &x) == 0);
	pthread_join(t, NULL);
	/* The exited thread's cache went back to the shared depot. */
	mtpool_stats(x.p, &st);
	MT_CHECK_EQ_U64(st.puts, 300);
	MT_CHECK_EQ_U64(st.live, 0);
	MT_CHECK_EQ_U64(st.cached, 300);
	for (i = 0; i < 300; i++)
		objs[i] = mtpool_get(x.p);
	mtpool_stats(x.p, &st);
	MT_CHECK_EQ_U64(st.misses, 300);
	MT_CHECK_EQ_U64(st.hits, 300);
	for (i = 0; i < 300; i++)
		mtpool_put(x.p, objs[i]);
	mtpool_destroy(x.p);
}

static void test_many_pools_beyond_thread_slots(void)
{
	enum { N = 200 };
	mtpool *pools[N];
	struct mtpool_stats st;
	void *a, *b;
	int i;

	for (i = 0; i < N; i++) {
		pools[i] = mtpool_create(16 + i, NULL);
		MT_CHECK(pools[i] != NULL);
	}
	for (i = 0; i < N; i++) {
		a = mtpool_get(pools[i]);
		MT_CHECK(a != NULL);
		memset(a, i, 16 + i);
		mtpool_put(pools[i], a);
		b = mtpool_get(pools[i]);
		MT_CHECK(b == a);
		mtpool_put(pools[i], b);
		mtpool_stats(pools[i], &st);
		MT_CHECK_EQ_U64(st.hits, 1);
	}
	for (i = 0; i < N; i++)
		mtpool_destroy(pools[i]);
	/* Slots are reused by new pools without seeing stale caches. */
	pools[0] = mtpool_create(32, NULL);
	a = mtpool_get(pools[0]);
	mtpool_stats(pools[0], &st);
	MT_CHECK_EQ_U64(st.misses, 1);
	mtpool_put(pools[0], a);
	mtpool_destroy(pools[0]);
}

static void test_debug_double_put(void)
{
	struct mtpool_opts o = { .name = "dbg", .flags = MTPOOL_F_DEBUG };
	mtpool *p = mtpool_create(32, &o);
	void *a;

	MT_CHECK(p != NULL);
	reset_reports();
	a = mtpool_get(p);
	mtpool_put(p, a);
	MT_CHECK_EQ_U64(nreports, 0);
	mtpool_put(p, a);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(last_what, "double put");
	MT_CHECK_STR(last_pool, "dbg");
	MT_CHECK(last_addr == a);
	mtpool_destroy(p);
	MT_CHECK_EQ_U64(nreports, 1);
}

static void test_debug_wrong_pool(void)
{
	struct mtpool_opts o1 = { .name = "one", .flags = MTPOOL_F_DEBUG };
	struct mtpool_opts o2 = { .name = "two", .flags = MTPOOL_F_DEBUG };
	mtpool *p1 = mtpool_create(32, &o1), *p2 = mtpool_create(32, &o2);
	void *a;

	MT_CHECK(p1 && p2);
	reset_reports();
	a = mtpool_get(p1);
	mtpool_put(p2, a);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(last_what, "put into the wrong pool");
	MT_CHECK_STR(last_pool, "two");
	MT_CHECK(last_addr == a);
	mtpool_put(p1, a);
	MT_CHECK_EQ_U64(nreports, 1);
	mtpool_destroy(p1);
	mtpool_destroy(p2);
}

static void test_debug_reports_live_objects_at_destroy(void)
{
	struct mtpool_opts o = { .name = "leaky", .flags = MTPOOL_F_DEBUG };
	mtpool *p = mtpool_create(32, &o);
	void *a;

	MT_CHECK(p != NULL);
	reset_reports();
	a = mtpool_get(p);
	MT_CHECK(a != NULL);
	mtpool_destroy(p);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(last_what, "destroyed with live objects");
	MT_CHECK_STR(last_pool, "leaky");
	/* The object was not freed by the pool: ours to free, header and all. */
	free((char *)a - 32);
}

static void test_debug_write_after_put(void)
{
	struct mtpool_opts o = { .name = "poison", .flags = MTPOOL_F_DEBUG,
				 .ctor = c_ctor, .dtor = c_dtor };
	struct counted *a, *v[300];
	mtpool *p;
	int i;

	if (UNDER_ASAN)
		return;  /* ASan itself stops the stale write: see test_asan_* */
	p = mtpool_create(sizeof(struct counted), &o);
	MT_CHECK(p != NULL);
	reset_reports();
	a = mtpool_get(p);
	mtpool_put(p, a);
	a->state = 42;   /* the bug under test */
	/* Cycle enough objects through the quarantine to evict @a. */
	for (i = 0; i < 300; i++)
		v[i] = mtpool_get(p);
	for (i = 0; i < 300; i++)
		mtpool_put(p, v[i]);
	MT_CHECK(nreports >= 1);
	MT_CHECK_STR(last_what, "write after put");
	MT_CHECK(last_addr == a);
	mtpool_destroy(p);
}

static void test_debug_objects_are_poisoned_and_reconstructed(void)
{
	struct mtpool_opts o = { .flags = MTPOOL_F_DEBUG, .ctor = c_ctor, .dtor = c_dtor };
	struct counted *v[200];
	mtpool *p;
	int i;

	p = mtpool_create(sizeof(struct counted), &o);
	MT_CHECK(p != NULL);
	reset_reports();
	nctor = ndtor = 0;
	for (i = 0; i < 200; i++)
		v[i] = mtpool_get(p);
	for (i = 0; i < 200; i++)
		mtpool_put(p, v[i]);
	MT_CHECK_EQ_U64(ndtor, 200);
	if (!UNDER_ASAN)
		MT_CHECK_EQ_U64(v[0]->magic, 0xdbdbdbdbdbdbdbdbull);
	for (i = 0; i < 200; i++) {
		v[i] = mtpool_get(p);
		MT_CHECK_EQ_U64(v[i]->magic, 0xc0ffee);
	}
	for (i = 0; i < 200; i++)
		mtpool_put(p, v[i]);
	MT_CHECK_EQ_U64(nreports, 0);
	mtpool_destroy(p);
}

/* Under ASan a write to a cached object must be caught by ASan itself. */
static void test_asan_catches_use_after_put(void)
{
	pid_t pid;
	int status;

	if (!UNDER_ASAN)
		return;
	pid = fork();
	MT_CHECK(pid >= 0);
	if (pid == 0) {
		mtpool *p = mtpool_create(64, NULL);
		volatile char *a = mtpool_get(p);

		mtpool_put(p, (void *)a);
		if (!freopen("/dev/null", "w", stderr))
			_exit(0);
		a[10] = 1;
		_exit(0);   /* reached only if ASan missed it */
	}
	MT_CHECK(waitpid(pid, &status, 0) == pid);
	MT_CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

/* MTPOOL_DISABLE / MTPOOL_DEBUG are read at start-up: check them in a
 * re-executed child with the variable set. */
static int run_child(const char *var, const char *mode)
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		setenv(var, "1", 1);
		if (!freopen("/dev/null", "w", stdout))
			_exit(126);
		execl("/proc/self/exe", "objpool", mode, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_env_disable_passes_through(void)
{
	MT_CHECK_EQ_U64(mtpool_disabled(), 0);
	MT_CHECK_EQ_U64(run_child("MTPOOL_DISABLE", "--child-disable"), 0);
}

static void test_env_debug_enables_checks(void)
{
	MT_CHECK_EQ_U64(mtpool_debug_default(), 0);
	MT_CHECK_EQ_U64(run_child("MTPOOL_DEBUG", "--child-debug"), 0);
}

static void child_disable(void)
{
	struct mtpool_opts o = { .ctor = c_ctor, .dtor = c_dtor };
	struct mtpool_stats st;
	mtpool *p = mtpool_create(sizeof(struct counted), &o);
	void *a;
	int i;

	MT_CHECK(mtpool_disabled());
	MT_CHECK(p != NULL);
	nctor = ndtor = 0;
	for (i = 0; i < 10; i++) {
		a = mtpool_get(p);
		MT_CHECK(a != NULL);
		mtpool_put(p, a);
	}
	/* Every get constructs, every put destroys: nothing is cached. */
	MT_CHECK_EQ_U64(nctor, 10);
	MT_CHECK_EQ_U64(ndtor, 10);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.gets, 10);
	MT_CHECK_EQ_U64(st.misses, 10);
	MT_CHECK_EQ_U64(st.cached, 0);
	mtpool_destroy(p);
}

/* The size-class allocator passes through too: its free must not read a
 * segment header in front of a malloc() block (it crashed on mmapped ones). */
static void child_disable_sc(void)
{
	mtpool_sc *sc = mtpool_sc_create(NULL);
	struct mtpool_stats st;
	int i;

	MT_CHECK(sc != NULL);
	for (i = 0; i < 50; i++) {
		char *big = mtpool_sc_malloc(sc, 200000 + (size_t)i * 4096);
		char *small = mtpool_sc_malloc(sc, 24);

		MT_CHECK(big && small);
		MT_CHECK(mtpool_sc_usable_size(sc, big) >= 200000);
		big[0] = small[0] = 1;
		small = mtpool_sc_realloc(sc, small, 100000);
		MT_CHECK(small != NULL && small[0] == 1);
		mtpool_sc_free(sc, small);
		mtpool_sc_free(sc, big);
	}
	mtpool_sc_stats(sc, &st);
	MT_CHECK_EQ_U64(st.live, 0);
	mtpool_sc_destroy(sc);
}

/* A dtor that destroys a pool (here: each object owns a buffer pool) used
 * to run at thread exit under the registry lock and deadlock there. */
static int pool_ctor(void *obj, void *arg)
{
	(void)arg;
	*(mtpool_bufpool **)obj = mtpool_bufpool_create(NULL);
	return *(mtpool_bufpool **)obj ? 0 : -1;
}

static void pool_dtor(void *obj, void *arg)
{
	(void)arg;
	mtpool_bufpool_destroy(*(mtpool_bufpool **)obj);
	__atomic_fetch_add(&ndtor, 1, __ATOMIC_RELAXED);
}

static void *use_pool_then_exit(void *arg)
{
	mtpool *p = arg;
	void *v[8];
	int i;

	for (i = 0; i < 8; i++)
		v[i] = mtpool_get(p);
	for (i = 0; i < 8; i++)
		mtpool_put(p, v[i]);
	return NULL;
}

static void test_dtor_may_destroy_pools_at_thread_exit(void)
{
	struct mtpool_opts o = { .max_cached = 1, .ctor = pool_ctor, .dtor = pool_dtor };
	struct mtpool_stats st;
	mtpool *p = mtpool_create(sizeof(void *), &o);
	pthread_t t;
	void *a;

	MT_CHECK(p != NULL);
	ndtor = 0;
	alarm(20);   /* a deadlock kills the test instead of hanging it */
	MT_CHECK(pthread_create(&t, NULL, use_pool_then_exit, p) == 0);
	MT_CHECK(pthread_join(t, NULL) == 0);
	/* The exiting thread ran no dtor; its 8 objects wait, then the next
	 * slow call trims them to max_cached. */
	MT_CHECK_EQ_U64(ndtor, 0);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.cached, 8);
	MT_CHECK_EQ_U64(st.live, 0);
	a = mtpool_get(p);
	MT_CHECK(a != NULL);
	MT_CHECK_EQ_U64(ndtor, 7);
	mtpool_stats(p, &st);
	MT_CHECK_EQ_U64(st.live, 1);
	mtpool_put(p, a);
	mtpool_destroy(p);
	MT_CHECK_EQ_U64(ndtor, 8);
	alarm(0);
}

static void child_debug(void)
{
	mtpool *p = mtpool_create(32, NULL);
	void *a;

	MT_CHECK(mtpool_debug_default());
	MT_CHECK(p != NULL);
	reset_reports();
	a = mtpool_get(p);
	mtpool_put(p, a);
	mtpool_put(p, a);
	MT_CHECK_EQ_U64(nreports, 1);
	MT_CHECK_STR(last_what, "double put");
	mtpool_destroy(p);
}

int main(int argc, char **argv)
{
	mtpool_set_error_handler(record, NULL);
	if (argc > 1 && strcmp(argv[1], "--child-disable") == 0) {
		MT_RUN(child_disable);
		MT_RUN(child_disable_sc);
		return mt_test_done();
	}
	if (argc > 1 && strcmp(argv[1], "--child-debug") == 0) {
		MT_RUN(child_debug);
		return mt_test_done();
	}
	MT_RUN(test_create_rejects_bad_args);
	MT_RUN(test_get_put_reuses_objects);
	MT_RUN(test_callbacks_run_at_the_right_time);
	MT_RUN(test_ctor_failure_returns_null);
	MT_RUN(test_alignment_is_honoured);
	MT_RUN(test_stats_count_everything);
	MT_RUN(test_max_cached_bounds_and_destroys);
	MT_RUN(test_budget_refuses_then_callback_allows);
	MT_RUN(test_put_from_another_thread);
	MT_RUN(test_dtor_may_destroy_pools_at_thread_exit);
	MT_RUN(test_many_pools_beyond_thread_slots);
	MT_RUN(test_debug_double_put);
	MT_RUN(test_debug_wrong_pool);
	MT_RUN(test_debug_reports_live_objects_at_destroy);
	MT_RUN(test_debug_write_after_put);
	MT_RUN(test_debug_objects_are_poisoned_and_reconstructed);
	MT_RUN(test_asan_catches_use_after_put);
	MT_RUN(test_env_disable_passes_through);
	MT_RUN(test_env_debug_enables_checks);
	return mt_test_done();
}
