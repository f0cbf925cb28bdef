// SPDX-License-Identifier: BSD-2-Clause
/*
 * Workload of the pools tests (tests/e2e/t66-pools.sh): libmtpool object
 * pools used the way a server does, with known gets, puts and misses, and
 * at exit each pool's own counters (mtpool_stats) printed, one line each:
 *   pool NAME gets G puts P hits H misses M live L cached C bytes B
 * to compare with memtrace's "pools" section. Built against libmtpool.so
 * (wl_pool) and libmtpool.a (wl_pool_static).
 *
 *   wl_pool [leak] [double] [hold]
 * "wl_sc" is a size-class allocator (mtpool_sc), 32 blocks live at exit.
 * leak:   7 objects of "wl_conn" are got in plant_leak() and never put back
 * double: a debug pool "wl_debug" gets an object put twice in double_put()
 * hold:   after the counters, print "holding" and sleep 20 s (metrics test)
 * "wl_buf" is a buffer pool (mtpool_bufpool): its released buffers keep
 * their data; "bufdata wl_buf N" says how many idle buffers hold a block.
 * The "wl_conn" pool is not destroyed: its idle objects are alive at exit,
 * and must not be reported as leaks. "wl_tmp" is destroyed before exit.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "mtpool.h"

#define NOINLINE __attribute__((noinline))

static void print(const char *name, const struct mtpool_stats *s)
{
	const struct mtpool_stats st = *s;

	printf("pool %s gets %llu puts %llu hits %llu misses %llu live %llu cached %llu bytes %llu\n",
	       name, (unsigned long long)st.gets, (unsigned long long)st.puts,
	       (unsigned long long)st.hits, (unsigned long long)st.misses,
	       (unsigned long long)st.live, (unsigned long long)st.cached,
	       (unsigned long long)st.bytes_reserved);
}

static void print_stats(const char *name, mtpool *p)
{
	struct mtpool_stats st;

	mtpool_stats(p, &st);
	print(name, &st);
}

/* A buffer pool's message building: n buffers grown at once and all
 * released, so each idle buffer keeps its data block (the pool's memory,
 * counted in its bytes_reserved). Returns how many hold a block. */
NOINLINE static unsigned build_messages(mtpool_bufpool *bp, unsigned n)
{
	mtpool_buf *b[16];
	unsigned with_data = 0;

	for (unsigned i = 0; i < n && i < 16; i++) {
		b[i] = mtpool_buf_acquire(bp);
		if (!b[i])
			exit(1);
		for (unsigned k = 0; k <= i * 40; k++)
			if (mtpool_buf_appendf(b[i], "line %u of message %u\n", k, i))
				exit(1);
	}
	for (unsigned i = 0; i < n && i < 16; i++) {
		with_data += mtpool_buf_cap(b[i]) != 0;
		mtpool_buf_release(b[i]);
	}
	return with_data;
}

/* A size-class allocator: blocks of many sizes, a window of 64 live. */
NOINLINE static void serve_sizes(mtpool_sc *sc, unsigned n)
{
	void *live[64] = { 0 };

	for (unsigned i = 0; i < n; i++) {
		unsigned k = (i * 7) % 64;

		mtpool_sc_free(sc, live[k]);
		live[k] = mtpool_sc_malloc(sc, 16 + (i * 131) % 2000);
		if (!live[k])
			exit(1);
	}
	for (unsigned k = 0; k < 32; k++) {   /* half of them go back */
		mtpool_sc_free(sc, live[k]);
		live[k] = NULL;
	}
}

/* Rounds of a burst of n gets then n puts: bursts beyond the thread cache
 * miss, refill and flush. */
NOINLINE static void serve(mtpool *p, unsigned rounds, unsigned burst)
{
	void *objs[512];

	for (unsigned r = 0; r < rounds; r++) {
		unsigned n = 1 + (r * 37) % burst;

		for (unsigned i = 0; i < n; i++) {
			objs[i] = mtpool_get(p);
			if (!objs[i])
				exit(1);
			memset(objs[i], (int)i, 16);
		}
		for (unsigned i = n; i-- > 0;)
			mtpool_put(p, objs[i]);
	}
}

static void *worker(void *arg)
{
	serve(arg, 300, 100);
	return NULL;
}

NOINLINE static void plant_leak(mtpool *p)
{
	for (int i = 0; i < 7; i++)
		if (!mtpool_get(p))
			exit(1);
}

/* Debug reports go on (the default handler aborts). */
static void on_error(void *arg, const char *what, const char *pool, const void *addr)
{
	fprintf(stderr, "wl_pool: %s in pool '%s'\n", what, pool);
}

NOINLINE static void double_put(mtpool *p)
{
	void *o = mtpool_get(p);

	mtpool_put(p, o);
	mtpool_put(p, o);
}

int main(int argc, char **argv)
{
	struct mtpool_opts co = { .name = "wl_conn", .thread_cache = 16 };
	struct mtpool_opts to = { .name = "wl_tmp", .thread_cache = 8 };
	bool leak = false, dbl = false, hold = false;
	struct mtpool_sc_opts so = { .name = "wl_sc" };
	struct mtpool_bufpool_opts bo = { .name = "wl_buf" };
	mtpool *conn, *tmp;
	mtpool_bufpool *bufs;
	unsigned bufdata;
	mtpool_sc *sc;
	pthread_t t;

	for (int i = 1; i < argc; i++) {
		leak |= !strcmp(argv[i], "leak");
		dbl |= !strcmp(argv[i], "double");
		hold |= !strcmp(argv[i], "hold");
	}
	conn = mtpool_create(200, &co);
	tmp = mtpool_create(64, &to);
	sc = mtpool_sc_create(&so);
	bufs = mtpool_bufpool_create(&bo);
	if (!conn || !tmp || !sc || !bufs)
		return 1;
	bufdata = build_messages(bufs, 6);
	serve_sizes(sc, 20000);
	serve(conn, 2000, 200);
	if (pthread_create(&t, NULL, worker, conn) || pthread_join(t, NULL))
		return 1;   /* its cache is orphaned at its exit */
	serve(tmp, 500, 50);
	if (leak)
		plant_leak(conn);
	serve(conn, 100, 40);
	print_stats("wl_tmp", tmp);
	mtpool_destroy(tmp);
	if (dbl) {
		struct mtpool_opts dopt = { .name = "wl_debug", .flags = MTPOOL_F_DEBUG };
		mtpool *d = mtpool_create(48, &dopt);

		if (!d)
			return 1;
		mtpool_set_error_handler(on_error, NULL);
		double_put(d);
		print_stats("wl_debug", d);
	}
	print_stats("wl_conn", conn);
	{
		struct mtpool_stats st;

		mtpool_sc_stats(sc, &st);
		print("wl_sc", &st);
		mtpool_bufpool_stats(bufs, &st);
		print("wl_buf", &st);
		printf("bufdata wl_buf %u\n", bufdata);
	}
	if (hold)
		printf("holding\n");
	fflush(stdout);
	if (hold)
		sleep(20);
	return 0;   /* wl_conn not destroyed: its idle objects live on */
}
